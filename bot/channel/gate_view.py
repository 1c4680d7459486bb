"""The launch gate said once: a compact phrase per policy for tables, and the channel
notice posted once a day per gated policy (not a paragraph on every ticket)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot import blocks as kit
from bot.policies import Mode, Policy

if TYPE_CHECKING:
    from bot.ownership.gate import GateStatus
    from bot.ownership.modes import EffectiveMode

log = logging.getLogger(__name__)


def no_go(policy: Policy) -> bool:
    """A policy whose every tag is a no-go tag: a human decides each ticket, always."""
    return bool(policy.tags) and set(policy.tags) <= set(policy.no_go)


def learning(gate: GateStatus) -> str:
    """`learning, 12 of 50 decisions, 100% right so far`."""
    right = f", {gate.precision:.0%} right so far" if gate.precision is not None else ""
    return f"learning, {gate.decided} of {gate.min_decided} decisions{right}"


def gate_phrase(
    policy: Policy, effective: EffectiveMode, measured: GateStatus | None = None
) -> str:
    """Where the policy stands, in a few words ('' when there is nothing to say)."""
    if no_go(policy):
        return "no-go: a human decides every ticket"
    gate = effective.gate or measured
    if effective.gate_overridden:
        return "launch gate overridden"
    if gate is None or effective.requested is not Mode.AUTO:
        return ""
    if gate.min_decided == 0:  # gate off: the recent precision, for the record
        if gate.precision is None:
            return f"no decisions in {gate.window_days} days"
        return f"{gate.precision:.0%} right over {gate.decided} decided"
    if effective.held_by_gate:
        return learning(gate)
    return f"live, {gate.precision or 0:.0%} right over {gate.decided} decided"


def notice_text(name: str, gate: GateStatus) -> str:
    return (
        f":hourglass_flowing_sand: *{name}*: {learning(gate)}. Until it is right "
        f"{gate.target:.0%} of the time over {gate.min_decided} decisions, a human decides "
        f"every {name} ticket; the proposals show the bot's guess."
    )


def status_row(
    name: str,
    policy: Policy,
    effective: EffectiveMode,
    threshold: str,
    paused: bool,
    measured: GateStatus | None = None,
) -> str:
    """One policy as one line of /triage-status and App Home."""
    state = ":double_vertical_bar: *paused*, " if paused else ""
    phrase = gate_phrase(policy, effective, measured)
    people = f"owner {kit.mention(policy.owner)}" + (
        f", backup {kit.mention(policy.backup)}" if policy.backup else ""
    )
    by = f" set by {kit.mention(effective.override.set_by)}" if effective.override else ""
    return (
        f"• `{name}`: {state}mode *{effective.mode.value}*{by}"
        + (f" ({phrase})" if phrase else "")
        + f"; threshold {threshold}; {people}"
    )


def text_blocks(text: str, limit: int = 2900) -> list[dict]:
    """Status text as Block Kit sections (a heading line opens a new section), each under
    Slack's 3,000 characters and at most 50 blocks."""
    sections: list[list[str]] = [[]]
    for line in text.splitlines():
        heading = line.startswith("*") and line.endswith("*")
        size = sum(len(x) + 1 for x in sections[-1])
        if sections[-1] and (heading or size + len(line) > limit):
            sections.append([])
        sections[-1].append(line[:limit])
    return [
        kit.SectionBlock(text=kit.MarkdownTextObject(text="\n".join(lines))).to_dict()
        for lines in sections[:50]
        if lines
    ]
