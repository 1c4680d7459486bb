"""`/triage-mode <policy> <shadow|suggest|auto|default> [override] [reason]`.

Only the policy's owner, its backup or a global owner may change a mode. `auto` below
the launch gate is refused unless `override` is given; the override is announced and
audited (`mode_override`) with the measured precision at that moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot import blocks as kit
from bot.models import AuditEvent, utcnow
from bot.ownership.models import PolicyMode
from bot.ownership.modes import EffectiveMode, ModeBook
from bot.policies import ALL, Mode, PolicySet
from bot.store import OutboxItem

USAGE = (
    "Usage: `/triage-mode <policy> <shadow|suggest|auto> [override] [reason]`; "
    "`/triage-mode <policy> default` goes back to the policy file's mode."
)
RESET_WORDS = {"default", "reset"}


@dataclass(frozen=True)
class ModeAnswer:
    text: str
    changed: bool


def describe(effective: EffectiveMode) -> str:
    """`suggest (asks for auto; held by the launch gate)`-style summary of a policy's mode."""
    text = f"*{effective.mode.value}*"
    if effective.held_by_gate:
        text += " (asks for auto; held by the launch gate)"
    elif effective.gate_overridden:
        text += " (launch gate overridden)"
    if effective.override is not None:
        text += f", set by {kit.mention(effective.override.set_by)}"
    else:
        text += ", from the policy file"
    return text


class ModeControl:
    """Parses and applies `/triage-mode`; permission checks mirror the kill switch."""

    def __init__(
        self,
        policies: PolicySet,
        book: ModeBook,
        announce: Callable[[str], OutboxItem],
        refusal: Callable[[str, str, str], str],
    ) -> None:
        self.policies = policies
        self.book = book
        self.announce = announce
        self.refusal = refusal

    def _overview(self, only: str | None = None) -> ModeAnswer:
        modes = self.book.effective()
        lines = [] if only else ["*Modes*"]
        for name in [only] if only else sorted(modes):
            effective = modes[name]
            gate = self.book.gate(name)
            lines.append(f"• `{name}`: {describe(effective)}. {gate.describe()}.")
        lines.append(USAGE)
        return ModeAnswer("\n".join(lines), changed=False)

    def handle(self, user: str, text: str, now: datetime | None = None) -> ModeAnswer:
        words = text.split()
        if not words:
            return self._overview()
        name = words[0].lower()
        if name == ALL:
            return ModeAnswer("Modes are set per policy. " + USAGE, changed=False)
        if name not in self.policies.policies:
            names = ", ".join(f"`{n}`" for n in sorted(self.policies.policies))
            return ModeAnswer(
                f"`{kit.escape_mrkdwn(words[0][:64])}` is not a policy. Policies: {names}.", False
            )
        if len(words) == 1:
            return self._overview(name)
        wanted = words[1].lower()
        if wanted not in {m.value for m in Mode} | RESET_WORDS:
            return ModeAnswer(
                f"`{kit.escape_mrkdwn(words[1][:32])}` is not a mode. " + USAGE, False
            )
        if not self.policies.may_control(user, name):
            return ModeAnswer(self.refusal(user, "change the mode of", name), changed=False)
        rest = words[2:]
        override = bool(rest) and rest[0].lower() == "override"
        if override:
            rest = rest[1:]
        reason = kit.escape_mrkdwn(" ".join(rest))[:400]
        now = now or utcnow()
        before = self.book.effective()[name]
        if wanted in RESET_WORDS:
            return self._reset(user, name, before, reason, now)
        return self._set(user, name, Mode(wanted), override, before, reason, now)

    def _reset(
        self, user: str, name: str, before: EffectiveMode, reason: str, now: datetime
    ) -> ModeAnswer:
        file_mode = self.policies.policies[name].mode.value
        why = f" Reason: {reason}" if reason else ""
        done = self.book.reset(
            name,
            AuditEvent(
                actor=user,
                action="mode_reset",
                policy=name,
                at=now,
                detail={"from": before.mode.value, "to": file_mode, "reason": reason},
            ),
            [
                self.announce(
                    f":gear: {kit.mention(user)} set policy `{name}` back to its policy file's "
                    f"mode (*{file_mode}*).{why}"
                )
            ],
        )
        if not done:
            return ModeAnswer(f"`{name}` already follows its policy file ({file_mode}).", False)
        after = self.book.effective()[name]
        return ModeAnswer(f"`{name}` now follows its policy file: {describe(after)}.", True)

    def _set(
        self,
        user: str,
        name: str,
        mode: Mode,
        override: bool,
        before: EffectiveMode,
        reason: str,
        now: datetime,
    ) -> ModeAnswer:
        gate = self.book.gate(name, now) if mode is Mode.AUTO else None
        if mode is Mode.AUTO and not override and gate is not None and not gate.meets:
            return ModeAnswer(
                f"`{name}` was not switched to auto: {gate.describe()}. Nothing changed. "
                f"To switch anyway, run `/triage-mode {name} auto override [reason]`; "
                "the override is announced and kept in the audit log.",
                changed=False,
            )
        if mode is not Mode.AUTO:
            override = False
        current = before.override
        if current is not None and current.mode == mode.value and current.gate_override == override:
            return ModeAnswer(f"`{name}` is already {describe(before)}. Nothing changed.", False)
        why = f" Reason: {reason}" if reason else ""
        detail: dict[str, object] = {
            "from": before.mode.value,
            "to": mode.value,
            "reason": reason,
            "gate_override": override,
        }
        if gate is not None:
            detail["gate"] = {
                "precision": gate.precision,
                "decided": gate.decided,
                "correct": gate.correct,
                "meets": gate.meets,
                "min_decided": gate.min_decided,
                "target": gate.target,
            }
        if override:
            text = (
                f":warning: {kit.mention(user)} switched policy `{name}` to *auto*, overriding "
                f"the launch gate ({gate.describe() if gate else 'not measured'}).{why}"
            )
        else:
            text = (
                f":gear: {kit.mention(user)} switched policy `{name}` to *{mode.value}* mode "
                f"(was {before.mode.value}).{why}"
            )
        self.book.set(
            PolicyMode(
                policy=name,
                mode=mode.value,
                gate_override=override,
                set_by=user,
                set_at=now,
                reason=reason,
            ),
            AuditEvent(
                actor=user,
                action="mode_override" if override else "mode",
                policy=name,
                at=now,
                detail=detail,
            ),
            [self.announce(text)],
        )
        after = self.book.effective()[name]
        return ModeAnswer(
            f"`{name}` is now {describe(after)}. Announced in the triage channel.", True
        )
