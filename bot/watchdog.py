"""Handoff watchdog: a ticket waiting for a human is never left unseen.

Tickets waiting for a human — in review (including failed classifications) or handed
off with "Not sure" — that nobody decided or claimed within their policy's
`handoff_sla_minutes` are paged again in the triage channel:

* level 1 (one SLA after the ticket started waiting): the policy owner is mentioned;
* level 2 (two SLAs after): the owner, the backup and the escalation contact.

A claim or any decision changes the ticket's status, and pages stop. Each page is one
conditional UPDATE (`page_level` must still be what this process read) together with its
audit row and its outbox message, so two bot processes ticking in the same minute page
a ticket once. Time is a parameter (`now`) so tests control the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    MarkdownTextObject,
    SectionBlock,
)
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot import blocks as kit
from bot.models import AuditEvent, Ticket, TicketStatus, utcnow
from bot.policies import Policy, PolicySet
from bot.store import OutboxItem, Store

log = logging.getLogger(__name__)

# Statuses in which a ticket waits for a human who has not taken it yet.
PAGED_STATUSES = (TicketStatus.REVIEW, TicketStatus.HANDED_OFF)
# Statuses listed as "still waiting" by /triage-status and the digest (claimed: taken, undecided).
WAITING_STATUSES = (TicketStatus.REVIEW, TicketStatus.HANDED_OFF, TicketStatus.CLAIMED)
FAILED_CLASSIFICATION = frozenset({"classifier_error", "llm_error"})
MAX_LEVEL = 2
DEFAULT_SLA_MINUTES = 30
SCAN_LIMIT = 500
# A backlog (an outage, a holiday) must not flood the channel in one minute: the oldest
# breaches are paged first, the rest on the next ticks.
MAX_PAGES_PER_TICK = 30
PAGE_PRIORITY = 10  # as urgent as a negative ticket's proposal
TICK_SECONDS = 60


@dataclass(frozen=True)
class Page:
    """One page sent (queued) by a tick: who was mentioned about which ticket."""

    ticket_id: str
    level: int
    mentioned: list[str]
    waiting_minutes: int


def waiting_since(ticket: Ticket) -> datetime:
    """When the ticket started waiting for the human it is waiting for now."""
    if ticket.status == TicketStatus.HANDED_OFF and ticket.handed_off_at is not None:
        return ticket.handed_off_at
    if ticket.status == TicketStatus.CLAIMED:
        return ticket.claimed_at or ticket.handed_off_at or ticket.received_at
    return ticket.received_at


def minutes_between(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds() // 60))


def human_duration(minutes: int) -> str:
    """`47 min`, `3 h 05 min`, `2 d 4 h`: short enough for a status line."""
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {mins:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


PAGE_LEVEL_TEXT = {0: "not paged yet", 1: "paged owner", 2: "paged owner, backup, escalation"}


class Watchdog:
    """Finds breached SLAs and pages the accountable humans, once per level."""

    def __init__(self, store: Store, policies: PolicySet, triage_channel: str) -> None:
        self.store = store
        self.policies = policies
        self.triage_channel = triage_channel

    # --- who and when ---------------------------------------------------------------------

    def policy_of(self, ticket: Ticket) -> Policy | None:
        return self.policies.policies.get(ticket.policy) if ticket.policy else None

    def sla(self, ticket: Ticket) -> timedelta:
        policy = self.policy_of(ticket)
        return timedelta(minutes=policy.handoff_sla_minutes if policy else DEFAULT_SLA_MINUTES)

    def due_level(self, ticket: Ticket, now: datetime) -> int:
        """How many SLAs the ticket has waited, capped at MAX_LEVEL."""
        elapsed = now - waiting_since(ticket)
        if elapsed <= timedelta(0):
            return 0
        return min(MAX_LEVEL, int(elapsed / self.sla(ticket)))

    def people(self, ticket: Ticket, level: int) -> list[str]:
        """Level 1: the owner. Level 2: owner, backup and escalation (global owners if unset)."""
        policy = self.policy_of(ticket)
        owners = list(self.policies.global_settings.owners)
        owner = policy.owner if policy else owners[0]
        if level < 2:
            return [owner]
        extra = [policy.backup, policy.escalation] if policy else []
        chosen = [owner, *[u for u in extra if u]]
        if not policy or not policy.escalation:
            chosen.extend(owners)
        return list(dict.fromkeys(chosen))

    # --- the tick -------------------------------------------------------------------------

    def candidates(self) -> list[Ticket]:
        """Tickets that may still need a page, oldest first (bounded per tick)."""
        with self.store.session() as session:
            rows = session.exec(
                select(Ticket)
                .where(
                    col(Ticket.status).in_([s.value for s in PAGED_STATUSES]),
                    col(Ticket.page_level) < MAX_LEVEL,
                )
                .order_by(col(Ticket.received_at), col(Ticket.id))
                .limit(SCAN_LIMIT)
            ).all()
            return list(rows)

    def tick(self, now: datetime | None = None) -> list[Page]:
        """Page every ticket whose SLA breach level rose; returns the pages queued."""
        now = now or utcnow()
        pages = []
        for ticket in self.candidates():
            if len(pages) >= MAX_PAGES_PER_TICK:
                break
            level = self.due_level(ticket, now)
            if level <= ticket.page_level:
                continue
            page = self._page(ticket, level, now)
            if page is not None:
                pages.append(page)
        return pages

    def _failed_classification(self, ticket_id: str) -> bool:
        proposal = self.store.latest_proposal(ticket_id)
        return bool(proposal and FAILED_CLASSIFICATION & set(proposal.guardrails or []))

    def _page(self, ticket: Ticket, level: int, now: datetime) -> Page | None:
        """Raise the ticket's page level and queue the page, in one transaction; once only."""
        since = waiting_since(ticket)
        minutes = minutes_between(since, now)
        mentioned = self.people(ticket, level)
        failed = self._failed_classification(ticket.id)
        item = OutboxItem(
            dedupe_key=f"page:{ticket.id}:{ticket.status}:{int(since.timestamp())}:{level}",
            method="chat.postMessage",
            payload={
                "channel": self.triage_channel,
                "text": f"{' '.join(kit.mention(u) for u in mentioned)} ticket "
                f"#{kit.escape_mrkdwn(ticket.id)} has waited {human_duration(minutes)}",
                "blocks": kit.to_dicts(self.page_blocks(ticket, level, mentioned, minutes, failed)),
                "unfurl_links": False,
                "unfurl_media": False,
            },
            ticket_id=ticket.id,
            purpose="handoff",
            priority=PAGE_PRIORITY,
        )
        audit = AuditEvent(
            actor="bot",
            action="page",
            ticket_id=ticket.id,
            policy=ticket.policy,
            at=now,
            detail={
                "level": level,
                "mentioned": mentioned,
                "status": str(ticket.status),
                "waiting_minutes": minutes,
                "sla_minutes": int(self.sla(ticket).total_seconds() // 60),
                "failed_classification": failed,
            },
        )
        with self.store.session() as session:
            result = session.exec(  # type: ignore[call-overload]
                update(Ticket)
                .where(
                    col(Ticket.id) == ticket.id,
                    col(Ticket.status) == ticket.status,
                    col(Ticket.page_level) == ticket.page_level,
                )
                .values(page_level=level, last_paged_at=now)
            )
            if result.rowcount != 1:  # decided, claimed or paged by another process meanwhile
                session.rollback()
                return None
            session.add(audit)
            Store._enqueue(session, [item])
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return None
        log.debug("paged level %d for ticket %s after %d min", level, ticket.id, minutes)
        return Page(ticket.id, level, mentioned, minutes)

    # --- the message ----------------------------------------------------------------------

    def page_blocks(
        self, ticket: Ticket, level: int, mentioned: list[str], minutes: int, failed: bool
    ) -> list[Block]:
        """The page: who must act, for how long the ticket waited, and the control to act."""
        policy = self.policy_of(ticket)
        who = " ".join(kit.mention(u) for u in mentioned)
        sla = int(self.sla(ticket).total_seconds() // 60)
        scope = f" for `{policy.name}`" if policy else ""
        if ticket.status == TicketStatus.HANDED_OFF:
            what = "It was handed off (*Not sure*) and nobody has claimed it. Claim it to stop these pages."
        elif failed:
            what = (
                "Classification failed, so a human must tag it. Approve, reassign or hand it off."
            )
        else:
            what = "Nobody has reviewed it. Approve, reassign or hand it off."
        escalated = (
            " *Second page: escalated to the backup and escalation contact.*" if level >= 2 else ""
        )
        header = (
            f":rotating_light: {who}: ticket *#{kit.escape_mrkdwn(ticket.id)}* has waited "
            f"{human_duration(minutes)} for a human (SLA {sla} min{scope}). {what}{escalated}"
        )
        view = kit.TicketView(
            id=ticket.id,
            subject=ticket.subject,
            body=ticket.body,
            requester=ticket.requester,
            redact_pii=policy.redact_pii if policy else True,
        )
        controls: Block
        if ticket.status == TicketStatus.HANDED_OFF:
            controls = ActionsBlock(
                block_id=f"{kit.HANDOFF_BLOCK_PREFIX}{ticket.id}",
                elements=[
                    ButtonElement(
                        text="Claim",
                        action_id=kit.ActionId.CLAIM,
                        value=ticket.id,
                        style="primary",
                    )
                ],
            )
        else:
            controls = kit.triage_controls(ticket.id, self.policies.tags)
        return [
            SectionBlock(text=MarkdownTextObject(text=header[: kit.SECTION_LIMIT])),
            *kit.ticket_blocks(view, 600),
            controls,
        ]


# --- what is still waiting (for /triage-status and the digest) ------------------------------


def waiting_tickets(store: Store, limit: int = 1000) -> list[tuple[Ticket, datetime]]:
    """Tickets still waiting for a human, oldest first, with the time they started waiting."""
    with store.session() as session:
        rows = session.exec(
            select(Ticket)
            .where(col(Ticket.status).in_([s.value for s in WAITING_STATUSES]))
            .order_by(col(Ticket.received_at), col(Ticket.id))
            .limit(limit)
        ).all()
    return sorted(((t, waiting_since(t)) for t in rows), key=lambda item: item[1])


def describe_waiting(
    waiting: Sequence[tuple[Ticket, datetime]], now: datetime, limit: int = 5
) -> list[str]:
    """mrkdwn lines: how many tickets wait, then the oldest few with age and page level."""
    if not waiting:
        return [":white_check_mark: No ticket is waiting for a human."]
    ordered = sorted(waiting, key=lambda item: item[1])
    oldest_minutes = minutes_between(ordered[0][1], now)
    lines = [
        f":hourglass: {len(ordered)} ticket(s) waiting for a human; the oldest for "
        f"{human_duration(oldest_minutes)}:"
    ]
    for ticket, since in ordered[:limit]:
        lines.append(waiting_line(ticket, since, now))
    if len(ordered) > limit:
        lines.append(f"… and {len(ordered) - limit} more.")
    return lines


def waiting_line(ticket: Ticket, since: datetime, now: datetime) -> str:
    state = {
        TicketStatus.REVIEW.value: "in review",
        TicketStatus.HANDED_OFF.value: "handed off",
        TicketStatus.CLAIMED.value: "claimed",
    }.get(str(ticket.status), str(ticket.status))
    if ticket.status == TicketStatus.CLAIMED and ticket.claimed_by:
        state = f"claimed by {kit.mention(ticket.claimed_by)}"
    policy = f" `{ticket.policy}`" if ticket.policy else ""
    paged = PAGE_LEVEL_TEXT.get(ticket.page_level, f"paged {ticket.page_level}x")
    if ticket.status == TicketStatus.CLAIMED:
        paged = "pages stopped"
    return (
        f"• #{kit.escape_mrkdwn(ticket.id)}{policy}: {state}, waiting "
        f"{human_duration(minutes_between(since, now))}, {paged}"
    )
