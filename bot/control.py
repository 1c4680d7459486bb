"""The kill switch: pause, resume, mode and status, with owners checked and every change announced.

Pauses and modes live in the store, so every bot process sees the same switch and it
survives restarts. Each change, its audit row and its announcement in TRIAGE_CHANNEL
are one transaction.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import blocks as kit
from bot.channel.gate_view import status_row
from bot.models import AuditEvent, Pause, utcnow
from bot.ownership.mode_control import ModeControl
from bot.policies import ALL, PolicySet
from bot.service import TriageService
from bot.store import OutboxItem, Store
from bot.watchdog import describe_waiting

_DURATION = re.compile(r"^(\d{1,4})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class ControlAnswer:
    """The ephemeral answer for the person who ran the command."""

    text: str
    changed: bool


def pause_line(pause: Pause, all_label: str, until_sep: str = "") -> str:
    """One paused policy as people read it: who, since when, until when, why."""
    scope = all_label if pause.policy == ALL else f"`{pause.policy}`"
    until = f"{until_sep} until {kit.slack_date(pause.until)}" if pause.until else ""
    why = f": {pause.reason}" if pause.reason else ""
    return (
        f":double_vertical_bar: {scope} paused by {kit.mention(pause.paused_by)} "
        f"since {kit.slack_date(pause.paused_at)}{until}{why}"
    )


def parse_duration(token: str) -> timedelta | None:
    """`30m`, `2h`, `1d` → a timedelta; anything else (and zero) → None."""
    match = _DURATION.match(token.lower())
    if not match or int(match.group(1)) == 0:
        return None
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class Control:
    """Pause state lives in the store, so every bot process sees the same switch."""

    def __init__(self, service: TriageService) -> None:
        self.service = service
        self.store: Store = service.store
        self.policies: PolicySet = service.policies
        self.modes = ModeControl(
            self.policies,
            service.modes,
            self._announce,
            lambda user, verb, target: self._refusal(user, verb, target).text,
        )

    def announce(self, text: str) -> OutboxItem:
        """An announcement for TRIAGE_CHANNEL, to queue with the change it announces."""
        return self._announce(text)

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
        why = f" Reason: {reason.rstrip('.')}." if reason else ""
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
        if not removed:
            still = ""
            if target != ALL and ALL in self.store.paused_names():
                still = " Everything (`all`) is paused, though; `/triage-resume all` lifts that."
            return ControlAnswer(
                f"{scope[0].upper()}{scope[1:]} was not paused; nothing changed.{still}", False
            )
        return ControlAnswer(f"Resumed {scope}. Announced in the triage channel.", True)

    def set_mode(self, user: str, text: str, now: datetime | None = None) -> ControlAnswer:
        """`/triage-mode <policy> <shadow|suggest|auto|default> [override] [reason]`."""
        answer = self.modes.handle(user, text, now)
        return ControlAnswer(answer.text, answer.changed)

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
                        detail={
                            "paused_by": pause.paused_by,
                            "paused_at": pause.paused_at.isoformat(),
                            "reason": pause.reason,
                        },
                    ),
                    [
                        self._announce(
                            f":arrow_forward: The timed pause of {scope} by "
                            f"{kit.mention(pause.paused_by)} ended; resumed."
                        )
                    ],
                    expired_by=now,
                )
                if done:
                    resumed.append(pause.policy)
        return resumed

    def status(self, now: datetime | None = None) -> str:
        """`/triage-status`: pauses, each policy's owner/mode/threshold/precision, what waits."""
        now = now or utcnow()
        lines = ["*Triage status*"]
        pauses = self.store.active_pauses()
        if pauses:
            lines.extend(pause_line(p, all_label="*all*", until_sep=",") for p in pauses)
        else:
            lines.append(":arrow_forward: Nothing is paused.")
        paused = {p.policy for p in pauses}
        modes = self.service.modes.effective()
        lines.append("*Policies*")
        for name, policy in sorted(self.policies.policies.items()):
            threshold = (
                "calibrated"
                if policy.threshold == "calibrated"
                else f"{self.policies.threshold(policy):.2f}"
            )
            lines.append(
                status_row(
                    name,
                    policy,
                    modes[name],
                    threshold,
                    name in paused or ALL in paused,
                    self.service.modes.gate(name),
                )
            )
        # What is still waiting, oldest first, with ages and page levels (bot.watchdog).
        lines.extend(describe_waiting(self.service.waiting(), now))
        return "\n".join(lines)
