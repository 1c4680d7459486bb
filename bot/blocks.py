"""Block Kit messages, built by small functions from domain objects with slack_sdk's models.

User text goes through bot.text before it reaches any mrkdwn field, and every field is
bounded, so no ticket can make Slack answer `invalid_blocks` or ping a channel.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)

from bot import jsonio
from bot.channel import reasons
from bot.redact import redact
from bot.text import escape_mrkdwn, plain_bounded, safe_mrkdwn

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
OPTION_TEXT_LIMIT = 75
MESSAGE_TEXT_LIMIT = 3000


class ActionId(StrEnum):
    """Slack action ids (public: interfaces.md)."""

    APPROVE = "triage_approve"
    REASSIGN = "triage_reassign"
    NOT_SURE = "triage_not_sure"
    CLAIM = "triage_claim"


TRIAGE_BLOCK_PREFIX = "triage:"
HANDOFF_BLOCK_PREFIX = "handoff:"

SENTIMENT_EMOJI = {"negative": ":warning:", "neutral": ":white_circle:", "positive": ":sunny:"}


@dataclass(frozen=True)
class TicketView:
    """What a message shows of a ticket; built from the store's Ticket row."""

    id: str
    subject: str
    body: str
    requester: str  # already cut to what SHOW_REQUESTER allows (bot.channel.people)
    redact_pii: bool = True
    url: str = ""  # the ticket in the helpdesk ('' when unknown)


@dataclass(frozen=True)
class ProposalView:
    tag: str
    confidence: float
    sentiment: str
    decision: str
    reasons: list[str]
    policy: str | None
    show: bool = True  # False in shadow mode: agents must not be anchored by the bot
    guardrails: tuple[str, ...] = ()


def slack_date(moment: datetime) -> str:
    """A Slack date token: every reader sees it in their own time zone."""
    epoch = int(moment.timestamp())
    return (
        f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{moment.isoformat(timespec='minutes')}>"
    )


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


# A message shows a ticket's subject, requester and excerpt several times over (header,
# fallback text, the decided message and its route post): each is redacted once. Only
# texts of message size are remembered (an excerpt is at most 2,800 characters).
SHOWN_TEXTS_REMEMBERED = 1024
SHOWN_TEXT_MAX_CHARS = 4096
_redacted = functools.lru_cache(maxsize=SHOWN_TEXTS_REMEMBERED)(redact)


def _user_text(ticket: TicketView, text: str) -> str:
    if not ticket.redact_pii:
        return text
    return _redacted(text) if len(text) <= SHOWN_TEXT_MAX_CHARS else redact(text)


def _excerpt(ticket: TicketView, limit: int) -> str:
    """Escaped, redacted, bounded body. Only the part that can be shown is processed,
    so the work is bounded whatever the ticket's size."""
    body = ticket.body.strip()
    if not body:
        return "_(empty)_"
    return safe_mrkdwn(_user_text(ticket, body[:limit]), limit, total=len(body))


def subject_text(ticket: TicketView, limit: int = HEADER_LIMIT) -> str:
    """The subject on one line, redacted as the policy asks, bounded; not escaped."""
    subject = _user_text(ticket, ticket.subject[: limit * 2])
    return plain_bounded(subject, limit) if subject.strip() else "(no subject)"


def ticket_link(ticket: TicketView, limit: int = HEADER_LIMIT) -> str:
    """`#id Subject` as mrkdwn, a link to the helpdesk when the ticket has a URL.

    The label is escaped, so nothing in a subject can end the link or ping anyone."""
    label = escape_mrkdwn(f"#{ticket.id} {subject_text(ticket, limit)}")
    return f"<{ticket.url}|{label}>" if ticket.url else label


def ticket_blocks(ticket: TicketView, excerpt_chars: int) -> list[Block]:
    """Linked subject, who wrote, and a bounded, escaped excerpt of the body."""
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=f"*{ticket_link(ticket)}*"))]
    requester = _user_text(ticket, ticket.requester)
    if requester:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"From {safe_mrkdwn(requester, 500)}")])
        )
    excerpt = _excerpt(ticket, min(excerpt_chars, SECTION_LIMIT - 50))
    blocks.append(SectionBlock(text=MarkdownTextObject(text=excerpt)))
    return blocks


def verdict(proposal: ProposalView) -> str:
    """The proposal in words: `billing, 92% sure`, or why a confident ticket is held."""
    tag = f"`{proposal.tag}`"
    codes = list(proposal.guardrails) or reasons.codes(proposal.reasons)
    if proposal.decision == "auto" or not codes:
        return f"{tag}, {proposal.confidence:.0%} sure"
    if "low_confidence" in codes:
        return f"{tag}, only {proposal.confidence:.0%} sure"
    return f"{tag}, held: {reasons.held_because(codes)}"


def warnings(proposal: ProposalView) -> list[str]:
    """The tone warning of the proposal: the same words as on the route post (tone_warning)."""
    codes = tuple(proposal.guardrails) or tuple(reasons.codes(proposal.reasons))
    warning = tone_warning(proposal.sentiment, codes)
    return [warning] if warning else []


def proposal_blocks(proposal: ProposalView) -> list[Block]:
    """Tag and confidence in words, why a human is needed, and tone warnings."""
    if not proposal.show:
        return [proposal_summary(proposal)]
    blocks: list[Block] = [proposal_summary(proposal)]
    notes = warnings(proposal)
    if proposal.policy:
        notes.append(f"Policy `{proposal.policy}`")
    if notes:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(notes))]))
    return blocks


def proposal_summary(proposal: ProposalView) -> SectionBlock:
    """The proposal and its reasons as short sentences (codes stay in the audit)."""
    if not proposal.show:
        return SectionBlock(
            text=MarkdownTextObject(
                text="*Shadow mode:* pick the tag yourself; the bot's guess is hidden."
            )
        )
    lines = [f"*Proposed tag:* {verdict(proposal)}"]
    if proposal.decision == "auto":
        lines.append("Routed automatically: confident, and no guardrail objected.")
    else:
        said = reasons.sentences(proposal.reasons, proposal.policy)
        if said:
            lines.append("*Needs a human because*")
            lines.extend(f"• {escape_mrkdwn(text)}" for text in said)
        else:
            lines.append("*Needs a human*")
    return SectionBlock(text=MarkdownTextObject(text="\n".join(lines)[:SECTION_LIMIT]))


class _TagOption(Option):
    """A tag's option: the same in every proposal, so it is validated and serialised once
    (the worker builds thousands of proposals; slack_sdk's to_dict is most of that cost)."""

    def to_dict(self, option_type: str = "block") -> dict:
        cache = self.__dict__.setdefault("_serialised", {})
        if option_type not in cache:
            cache[option_type] = super().to_dict(option_type)
        # A fresh copy per message: payloads never share mutable parts.
        return {k: dict(v) if isinstance(v, dict) else v for k, v in cache[option_type].items()}


@functools.lru_cache(maxsize=64)
def _cached_options(tags: tuple[str, ...]) -> tuple[Option, ...]:
    return tuple(
        _TagOption(text=PlainTextObject(text=tag[:OPTION_TEXT_LIMIT]), value=tag)
        for tag in tags[:100]
    )


def _tag_options(tags: list[str]) -> list[Option]:
    return list(_cached_options(tuple(tags)))


def triage_controls(
    ticket_id: str, tags: list[str], *, approve: bool = True, not_sure: bool = True
) -> ActionsBlock:
    """The one actions block of a proposal: Approve, Reassign (one option per tag), Not sure."""
    elements: list = []
    if approve:
        elements.append(
            ButtonElement(
                text="Approve", action_id=ActionId.APPROVE, value=ticket_id, style="primary"
            )
        )
    elements.append(
        StaticSelectElement(
            placeholder="Reassign to…", action_id=ActionId.REASSIGN, options=_tag_options(tags)
        )
    )
    if not_sure:
        elements.append(
            ButtonElement(text="Not sure", action_id=ActionId.NOT_SURE, value=ticket_id)
        )
    block = _ControlsBlock(block_id=f"{TRIAGE_BLOCK_PREFIX}{ticket_id}", elements=elements)
    block.shape = (tuple(tags), approve, not_sure)
    return block


class _ControlsBlock(ActionsBlock):
    """The triage controls: the same in every proposal but for the ticket id, so they are
    validated and serialised once per (tags, buttons) and copied with the id filled in
    (slack_sdk's generic to_dict of the tag list was most of the cost of a proposal)."""

    shape: tuple[tuple[str, ...], bool, bool] | None = None

    def to_dict(self) -> dict:
        block_id = self.block_id or ""
        if self.shape is None or len(block_id) > self.block_id_max_length:
            return super().to_dict()  # slack_sdk validates (and refuses) the odd case
        _tags, approve, not_sure = self.shape
        built = [ActionId.APPROVE] * approve + [ActionId.REASSIGN] + [ActionId.NOT_SURE] * not_sure
        if [getattr(e, "action_id", None) for e in self.elements] != built:
            return super().to_dict()  # changed after it was built (e.g. Approve taken out)
        return _fill(_controls_template(*self.shape), block_id[len(TRIAGE_BLOCK_PREFIX) :])


_ID_SLOT = "\x00ticket-id\x00"  # never part of a real id: ids are printable


@functools.lru_cache(maxsize=64)
def _controls_template(tags: tuple[str, ...], approve: bool, not_sure: bool) -> str:
    """The controls as JSON text with a slot for the ticket id (slack_sdk validated them)."""
    block = triage_controls(_ID_SLOT, list(tags), approve=approve, not_sure=not_sure)
    return json.dumps(ActionsBlock.to_dict(block))


def _fill(template: str, ticket_id: str) -> dict:
    """A fresh copy of the controls with the ticket id in its slots (JSON-escaped, so any
    id is safe); payloads never share mutable parts. Parsed by orjson: one parse per
    proposal posted, and the standard library's took a tenth of a worker's time."""
    return jsonio.loads(template.replace(json.dumps(_ID_SLOT)[1:-1], json.dumps(ticket_id)[1:-1]))


def review_message(
    ticket: TicketView, proposal: ProposalView, tags: list[str], excerpt_chars: int
) -> list[Block]:
    """A proposal waiting for a human: ticket, proposal, and the three controls."""
    return [
        *ticket_blocks(ticket, excerpt_chars),
        *proposal_blocks(proposal),
        triage_controls(ticket.id, tags),
    ]


def auto_routed_message(
    ticket: TicketView,
    proposal: ProposalView,
    tags: list[str],
    excerpt_chars: int,
    route_channel: str,
) -> list[Block]:
    """Routed by the bot, still visible and correctable with Reassign."""
    return [
        *ticket_blocks(ticket, excerpt_chars),
        *proposal_blocks(proposal),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f":robot_face: *Routed* to <#{route_channel}> as `{proposal.tag}`. "
                    "Wrong? Reassign it."
                )
            ]
        ),
        triage_controls(ticket.id, tags, approve=False, not_sure=False),
    ]


def decided_message(
    ticket: TicketView, proposal: ProposalView | None, outcome: str, excerpt_chars: int
) -> list[Block]:
    """After a decision: who decided what, when; no live controls left."""
    blocks = ticket_blocks(ticket, excerpt_chars)
    if proposal is not None:
        blocks.extend(proposal_blocks(proposal))
    blocks.append(DividerBlock())
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=outcome[:SECTION_LIMIT])]))
    return blocks


def handoff_message(
    ticket: TicketView,
    owner: str,
    others: list[str],
    handed_by: str,
    reason: str,
    excerpt_chars: int,
) -> list[Block]:
    """The page to a policy owner: mentions them, says why, and offers Claim."""
    who = " ".join(mention(u) for u in [owner, *others])
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"{who}: ticket *#{escape_mrkdwn(ticket.id)}* needs you. "
                f"{mention(handed_by)} was not sure. {escape_mrkdwn(reason)}"[:SECTION_LIMIT]
            )
        ),
        *ticket_blocks(ticket, excerpt_chars),
        ActionsBlock(
            block_id=f"{HANDOFF_BLOCK_PREFIX}{ticket.id}",
            elements=[
                ButtonElement(
                    text="Claim", action_id=ActionId.CLAIM, value=ticket.id, style="primary"
                )
            ],
        ),
    ]


def claimed_message(
    ticket: TicketView, claimer: str, at: datetime, tags: list[str], excerpt_chars: int
) -> list[Block]:
    """A claimed handoff: the claimer now decides with Approve or Reassign."""
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":raising_hand: {mention(claimer)} claimed ticket "
                f"*#{escape_mrkdwn(ticket.id)}* {slack_date(at)}."
            )
        ),
        *ticket_blocks(ticket, excerpt_chars),
        triage_controls(ticket.id, tags, not_sure=False),
    ]


TONE_GUARDRAILS = ("sarcasm", "complaint_veto", "praise_unclear")


def tone_warning(sentiment: str, guardrails: list[str] | tuple[str, ...] = ()) -> str | None:
    """The warning a route post carries when the customer is upset or sarcastic, else None."""
    fired = set(guardrails)
    if "sarcasm" in fired:
        return ":warning: *Sarcastic tone*: the praise in this ticket is likely a complaint."
    if "complaint_veto" in fired:
        return ":warning: *Complaint behind the praise*: read it as a complaint."
    if sentiment == "negative":
        return ":warning: *Negative tone*: the customer is unhappy."
    return None


def route_message(
    ticket: TicketView, tag: str, how: str, excerpt_chars: int, warning: str | None = None
) -> list[Block]:
    """The ticket as it lands in the route channel of its tag's policy, with the tone
    warning (negative or sarcastic) when there is one."""
    blocks = ticket_blocks(ticket, excerpt_chars)
    if warning:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=warning[:SECTION_LIMIT])))
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text=f"Tagged `{tag}`: {how}"[:SECTION_LIMIT])])
    )
    return blocks


def notice(text: str) -> list[Block]:
    """A one-section announcement (pause, resume, status)."""
    return [SectionBlock(text=MarkdownTextObject(text=text[:SECTION_LIMIT]))]


def _plain_mrkdwn(text: object) -> str | None:
    """The (non-empty) text of a mrkdwn object that sets nothing else, else None."""
    if type(text) is MarkdownTextObject and text.verbatim is None and text.text:
        return text.text
    return None


def _fast_dict(block: Block) -> dict | None:
    """The Web API form of the simple blocks messages are made of (a mrkdwn section, a
    context of mrkdwn, a divider), with slack_sdk's checks, without its reflective
    to_dict; None for anything else (slack_sdk serialises it)."""
    kind = type(block)
    if block.block_id is not None:
        return None
    if kind is SectionBlock:
        if block.fields or block.accessory is not None or block.expand is not None:
            return None
        text = _plain_mrkdwn(block.text)
        if text is None or len(text) > block.text_max_length:
            return None
        return {"text": {"text": text, "type": "mrkdwn"}, "type": "section"}
    if kind is ContextBlock:
        elements = block.elements or []
        texts = [_plain_mrkdwn(e) for e in elements]
        if not elements or len(elements) > block.elements_max_length or None in texts:
            return None
        return {"elements": [{"text": t, "type": "mrkdwn"} for t in texts], "type": "context"}
    if kind is DividerBlock:
        return {"type": "divider"}
    return None


def to_dicts(blocks: list[Block]) -> list[dict]:
    """Serialise (and thereby validate) blocks for the Web API."""
    return [_fast_dict(block) or block.to_dict() for block in blocks]


def fallback_text(ticket: TicketView, headline: str) -> str:
    """The notification text: escaped, bounded, no pings; `Needs triage #7: Subject`,
    or `Needs triage #7` when the ticket has no subject (no dangling colon)."""
    subject = " ".join(_user_text(ticket, ticket.subject[: HEADER_LIMIT * 2]).split())
    head = f"{headline.strip().rstrip(':')} #{ticket.id}"
    return safe_mrkdwn(f"{head}: {subject}" if subject else head, MESSAGE_TEXT_LIMIT)
