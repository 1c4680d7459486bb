"""Block Kit for grouped messages: routed summaries, surge groups and their member lists.

Every message stays under Slack's 50 blocks: a summary holds SUMMARY_LINES tickets (one
section each, with its Reassign select), a member list LIST_LINES tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
    StaticSelectElement,
)

from bot import blocks as kit
from bot.text import escape_mrkdwn

SUMMARY_LINES = 45  # + the header: under Slack's 50 blocks
LIST_LINES = 24  # members per thread reply ("about 20"): 25 blocks
APART_LINES = 24  # guarded members per thread reply: 2 blocks each + the title = 49 blocks
ROUTE_LINES = 20  # members per route-channel post after a bulk decision
SAMPLES = 3

GROUP_BLOCK_PREFIX = "triage-group:"
APPROVE_ALL = "triage_approve_all"
REASSIGN_ALL = "triage_reassign_all"
GROUP_NOT_SURE = "triage_group_not_sure"
UNGROUP = "triage_ungroup"


@dataclass(frozen=True)
class Line:
    """One ticket in a grouped message; `done` replaces its control once decided."""

    ticket: kit.TicketView
    tag: str
    route_channel: str | None = None
    done: str | None = None
    warning: str | None = None
    why: str | None = None  # the proposal in words and why it needs a human (guarded members)


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[: kit.SECTION_LIMIT])


def minutes(seconds: float) -> str:
    value = max(1, round(seconds / 60))
    return f"{value} minute{'s' if value != 1 else ''}"


def summary_message(
    lines: list[Line], since: datetime, until: datetime, tags: list[str]
) -> list[Block]:
    """`Routed automatically in the last N minutes`: each ticket, its route, a Reassign."""
    blocks: list[Block] = [
        SectionBlock(
            text=_md(
                f":robot_face: *Routed automatically in the last "
                f"{minutes((until - since).total_seconds())}* "
                f"({len(lines)} ticket{'s' if len(lines) != 1 else ''}, "
                f"{kit.slack_date(since)} to {kit.slack_date(until)}). Wrong? Reassign it."
            )
        )
    ]
    for line in lines[:SUMMARY_LINES]:
        where = f" in <#{line.route_channel}>" if line.route_channel else ""
        text = f"{kit.ticket_link(line.ticket, 90)} → `{line.tag}`{where}"
        if line.warning:
            text += f"  {line.warning}"
        if line.done:
            blocks.append(SectionBlock(text=_md(f"{text}\n{line.done}")))
            continue
        blocks.append(
            SectionBlock(
                block_id=f"{kit.TRIAGE_BLOCK_PREFIX}{line.ticket.id}",
                text=_md(text),
                accessory=StaticSelectElement(
                    placeholder="Reassign to…",
                    action_id=kit.ActionId.REASSIGN,
                    options=kit._tag_options(tags),
                ),
            )
        )
    return blocks


@dataclass(frozen=True)
class GroupView:
    id: int
    tag: str
    policy: str | None
    headline: str  # subject of the first member, unescaped
    count: int  # members decided with the group
    apart: int  # similar tickets carrying a guardrail, proposed on their own
    pulled: int  # members an agent pulled out
    first_at: datetime
    last_at: datetime
    owner: str | None
    samples: list[kit.TicketView]
    confidence: float  # mean over the members
    decided: str | None = None  # the outcome line once Approve all / Reassign all happened
    handed: str | None = None  # the Not sure line


def group_headline(group: GroupView) -> str:
    like = escape_mrkdwn(" ".join(group.headline.split())[:120]) or "(no subject)"
    spread = minutes((group.last_at - group.first_at).total_seconds())
    return f"{group.count} tickets like “{like}” in {spread}"


def group_message(group: GroupView, tags: list[str]) -> list[Block]:
    """One grouped proposal: headline, samples, the proposed tag, and the group controls."""
    blocks: list[Block] = [
        SectionBlock(text=_md(f":rotating_light: *Possible incident: {group_headline(group)}*"))
    ]
    samples = "\n".join(f"• {kit.ticket_link(t, 100)}" for t in group.samples[:SAMPLES])
    blocks.append(SectionBlock(text=_md(f"*Samples*\n{samples}" if samples else "*Samples*")))
    proposal = f"*Proposed tag:* `{group.tag}`, {group.confidence:.0%} sure on average"
    if group.policy:
        proposal += f" · policy `{group.policy}`"
    notes = ["Members are listed in the thread, about 20 a reply."]
    if group.owner:
        notes.insert(0, f"{kit.mention(group.owner)}: many similar tickets at once.")
    if group.apart:
        notes.append(
            f"{group.apart} similar ticket{'s carry' if group.apart != 1 else ' carries'} "
            "a guardrail: never in *Approve all*, {0} listed in the thread with {1} own "
            "controls.".format(
                "they are" if group.apart != 1 else "it is",
                "their" if group.apart != 1 else "its",
            )
        )
    if group.pulled:
        notes.append(f"{group.pulled} pulled out by agents, proposed on their own.")
    blocks.append(SectionBlock(text=_md(proposal)))
    blocks.append(ContextBlock(elements=[_md(" ".join(notes))]))
    if group.handed:
        blocks.append(ContextBlock(elements=[_md(group.handed)]))
    if group.decided:
        blocks.append(ContextBlock(elements=[_md(group.decided)]))
        return blocks
    blocks.append(
        ActionsBlock(
            block_id=f"{GROUP_BLOCK_PREFIX}{group.id}",
            elements=[
                ButtonElement(
                    text=f"Approve all ({group.count})"[:75],
                    action_id=APPROVE_ALL,
                    value=str(group.id),
                    style="primary",
                ),
                StaticSelectElement(
                    placeholder="Reassign all to…",
                    action_id=REASSIGN_ALL,
                    options=kit._tag_options(tags),
                ),
                ButtonElement(text="Not sure", action_id=GROUP_NOT_SURE, value=str(group.id)),
            ],
        )
    )
    return blocks


def list_message(group_id: int, lines: list[Line]) -> list[Block]:
    """A thread reply listing members; each can be pulled out of the group."""
    blocks: list[Block] = [ContextBlock(elements=[_md(f"Members of group {group_id}:")])]
    for line in lines[:LIST_LINES]:
        text = kit.ticket_link(line.ticket, 100)
        if line.warning:
            text += f"  {line.warning}"
        if line.done:
            blocks.append(SectionBlock(text=_md(f"{text}\n{line.done}")))
            continue
        blocks.append(
            SectionBlock(
                block_id=f"{GROUP_BLOCK_PREFIX}{group_id}:{line.ticket.id}",
                text=_md(text),
                accessory=ButtonElement(text="Pull out", action_id=UNGROUP, value=line.ticket.id),
            )
        )
    return blocks


def apart_message(group_id: int, lines: list[Line], tags: list[str]) -> list[Block]:
    """A thread reply listing guarded members, each proposed on its own.

    Each member keeps the controls of a single proposal (actions block `triage:<ticket id>`:
    Approve, Reassign, Not sure), so it is decided alone; many fit in one message, which
    matters when every post costs one of the channel's one-per-second slots. Once decided,
    a member's controls give way to who decided what."""
    blocks: list[Block] = [
        ContextBlock(
            elements=[
                _md(
                    f"Similar to group {group_id}, but a guardrail applies: each is decided on "
                    "its own, never with *Approve all*."
                )
            ]
        )
    ]
    for line in lines[:APART_LINES]:
        text = kit.ticket_link(line.ticket, 100)
        if line.why:
            text += f"\n{line.why}"
        if line.warning:
            text += f"\n{line.warning}"
        blocks.append(SectionBlock(text=_md(text)))
        if line.done:
            blocks.append(ContextBlock(elements=[_md(line.done)]))
        else:
            blocks.append(kit.triage_controls(line.ticket.id, tags))
    return blocks


def group_route_message(
    headline: str, tag: str, how: str, lines: list[Line], part: int, parts: int
) -> list[Block]:
    """Route-channel post after a bulk decision: one message per ROUTE_LINES members."""
    like = escape_mrkdwn(" ".join(headline.split())[:120])
    of = f" (part {part} of {parts})" if parts > 1 else ""
    blocks: list[Block] = [
        SectionBlock(
            text=_md(
                f":package: *{len(lines)} similar tickets like “{like}”* tagged `{tag}`: {how}{of}"
            )
        )
    ]
    text = "\n".join(
        f"• {kit.ticket_link(line.ticket, 100)}" + (f"  {line.warning}" if line.warning else "")
        for line in lines
    )
    blocks.append(SectionBlock(text=_md(text)))
    return blocks
