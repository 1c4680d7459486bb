"""The kill switch: pause, resume and status, with owners checked and every change announced."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import blocks as kit
from bot.models import AuditEvent, Pause, utcnow
from bot.policies import ALL, PolicySet
from bot.service import TriageService
from bot.store import OutboxItem, Store

_DURATION = re.compile(r"^(\d{1,4})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class ControlAnswer:
    """The ephemeral answer for the person who ran the command."""

    text: str
    changed: bool


def parse_duration(token: str) -> timedelta | None:
    match = _DURATION.match(token.lower())
    if not match:
        return None
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class Control:
    """Pause state lives in the store, so every bot process sees the same switch."""

    def __init__(self, service: TriageService) -> None:
        self.service = service
        self.store: Store = service.store
        self.policies: PolicySet = service.policies

    def _announce(self, text: str) -> OutboxItem:
        return OutboxItem(
            dedupe_key=f"notice:{uuid.uuid4().hex}",
            method="chat.postMessage",
            payload={
                "channel": self.service.settings.triage_channel or "",
                "text": text,
                "blocks": kit.to_dicts(kit.notice(text)),
            },
            purpose="notice",
            priority=1,
        )

    def _target(self, text: str) -> tuple[str | None, list[str]]:
        words = text.split()
        if not words:
            return ALL, []
        target = words[0].lower()
        if target == ALL or target in self.policies.policies:
            return target, words[1:]
        return None, words

    def _refusal(self, user: str, verb: str, target: str) -> ControlAnswer:
        who = " or ".join(kit.mention(u) for u in self.policies.controllers(target))
        scope = "everything (`all`)" if target == ALL else f"policy `{target}`"
        return ControlAnswer(
            f"Only {who} may {verb} {scope}. Ask them; nothing was changed.", changed=False
        )

    def _unknown(self, text: str) -> ControlAnswer:
        names = ", ".join(f"`{n}`" for n in sorted(self.policies.policies))
        return ControlAnswer(
            f"`{kit.escape_mrkdwn(text.split()[0])}` is not a policy. Use `all` or one of: {names}.",
            changed=False,
        )

    def pause(self, user: str, text: str, now: datetime | None = None) -> ControlAnswer:
        """`/triage-pause [policy|all] [duration] [reason]`."""
        target, rest = self._target(text)
        if target is None:
            return self._unknown(text)
        if not self.policies.may_control(user, target) or (
            target == ALL and user not in self.policies.global_settings.owners
        ):
            return self._refusal(user, "pause", target)
        now = now or utcnow()
        duration = parse_duration(rest[0]) if rest else None
        if duration is not None:
            rest = rest[1:]
        reason = kit.escape_mrkdwn(" ".join(rest))[:400]
        until = now + duration if duration else None
        scope = "*all automation*" if target == ALL else f"policy `{target}`"
        until_text = f" until {kit.slack_date(until)}" if until else ""
        why = f" Reason: {reason}" if reason else ""
        announcement = (
            f":double_vertical_bar: {kit.mention(user)} paused {scope}{until_text}.{why} "
            "Every ticket is still posted here for human review."
        )
        self.store.set_pause(
            Pause(policy=target, paused_by=user, reason=reason, paused_at=now, until=until),
            AuditEvent(
                actor=user,
                action="pause",
                policy=target,
                at=now,
                detail={"reason": reason, "until": until.isoformat() if until else None},
            ),
            [self._announce(announcement)],
        )
        return ControlAnswer(f"Paused {scope}{until_text}. Announced in the triage channel.", True)

    def resume(self, user: str, text: str, now: datetime | None = None) -> ControlAnswer:
        """`/triage-resume [policy|all]`."""
        target, _rest = self._target(text)
        if target is None:
            return self._unknown(text)
        if not self.policies.may_control(user, target) or (
            target == ALL and user not in self.policies.global_settings.owners
        ):
            return self._refusal(user, "resume", target)
        now = now or utcnow()
        scope = "*all automation*" if target == ALL else f"policy `{target}`"
        removed = self.store.clear_pause(
            target,
            AuditEvent(actor=user, action="resume", policy=target, at=now),
            [self._announce(f":arrow_forward: {kit.mention(user)} resumed {scope}.")],
        )
        if removed is None:
            return ControlAnswer(f"{scope.capitalize()} was not paused; nothing changed.", False)
        return ControlAnswer(f"Resumed {scope}. Announced in the triage channel.", True)

    def expire(self, now: datetime | None = None) -> list[str]:
        """Lift timed pauses whose time is up, announcing each; returns what resumed."""
        now = now or utcnow()
        resumed = []
        for pause in self.store.active_pauses_including_expired():
            if pause.until is not None and pause.until <= now:
                scope = "all automation" if pause.policy == ALL else f"policy `{pause.policy}`"
                done = self.store.clear_pause(
                    pause.policy,
                    AuditEvent(
                        actor="bot",
                        action="auto_resume",
                        policy=pause.policy,
                        at=now,
                        detail={"paused_by": pause.paused_by},
                    ),
                    [self._announce(f":arrow_forward: The timed pause of {scope} ended; resumed.")],
                )
                if done is not None:
                    resumed.append(pause.policy)
        return resumed

    def status(self, now: datetime | None = None) -> str:
        """`/triage-status`: pauses, each policy's owner/mode/threshold, and who is waiting."""
        now = now or utcnow()
        lines = ["*Triage status*"]
        pauses = self.store.active_pauses()
        if pauses:
            for p in pauses:
                scope = "*all*" if p.policy == ALL else f"`{p.policy}`"
                until = f", until {kit.slack_date(p.until)}" if p.until else ""
                why = f": {p.reason}" if p.reason else ""
                lines.append(
                    f":double_vertical_bar: {scope} paused by {kit.mention(p.paused_by)} "
                    f"{kit.slack_date(p.paused_at)}{until}{why}"
                )
        else:
            lines.append(":arrow_forward: Nothing is paused.")
        paused = {p.policy for p in pauses}
        for name, policy in sorted(self.policies.policies.items()):
            state = "paused" if name in paused or ALL in paused else policy.mode.value
            threshold = self.policies.threshold(policy)
            lines.append(
                f"• `{name}`: {state}, threshold {threshold:.2f}, owner "
                f"{kit.mention(policy.owner)}"
                + (f", backup {kit.mention(policy.backup)}" if policy.backup else "")
            )
        waiting = self.service.waiting()
        if waiting:
            oldest = waiting[0]
            minutes = int((now - oldest[1]).total_seconds() // 60)
            lines.append(
                f":hourglass: {len(waiting)} ticket(s) waiting for a human; the oldest, "
                f"#{kit.escape_mrkdwn(oldest[0].id)}, for {minutes} min."
            )
        else:
            lines.append(":white_check_mark: No ticket is waiting for a human.")
        return "\n".join(lines)
