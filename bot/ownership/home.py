"""The App Home tab: who owns what, each policy's mode, pause state and today's numbers.

Built fresh each time a user opens the tab (`app_home_opened`), from the store, so every
process shows the same thing. Bounded: at most MAX_POLICIES policy sections.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View
from sqlalchemy import func
from sqlmodel import col, select

from bot import blocks as kit
from bot.channel.gate_view import status_row
from bot.control import pause_line
from bot.models import Decision, Ticket, TicketStatus, utcnow
from bot.policies import ALL
from bot.service import TriageService

MAX_POLICIES = 40
WAITING = (TicketStatus.REVIEW, TicketStatus.HANDED_OFF, TicketStatus.CLAIMED)


@dataclass(frozen=True)
class Today:
    """Today's numbers, from local midnight in TIMEZONE."""

    since: datetime
    volume: int  # tickets received
    auto_routed: int  # routed by the bot without a human
    human_decided: int  # approvals and reassignments
    waiting: int  # waiting for a human right now

    @property
    def automation(self) -> str:
        return f"{self.auto_routed / self.volume:.0%}" if self.volume else "–"


def local_midnight(now: datetime, timezone: str) -> datetime:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone)


def today(service: TriageService, now: datetime | None = None) -> Today:
    """Counts from the store (a few COUNT queries, whatever the volume)."""
    now = now or utcnow()
    since = local_midnight(now, service.settings.timezone)
    with service.store.session() as session:
        volume = session.exec(
            select(func.count()).select_from(Ticket).where(col(Ticket.received_at) >= since)
        ).one()
        auto = session.exec(
            select(func.count())
            .select_from(Decision)
            .where(col(Decision.action) == "auto", col(Decision.at) >= since)
        ).one()
        human = session.exec(
            select(func.count())
            .select_from(Decision)
            .where(col(Decision.action).in_(["approve", "reassign"]), col(Decision.at) >= since)
        ).one()
        waiting = session.exec(
            select(func.count())
            .select_from(Ticket)
            .where(col(Ticket.status).in_([s.value for s in WAITING]))
        ).one()
    return Today(since, int(volume), int(auto), int(human), int(waiting))


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[: kit.SECTION_LIMIT])


def home_blocks(service: TriageService, user_id: str, now: datetime | None = None) -> list[Block]:
    """The Home tab's blocks for one viewer (their own policies are marked)."""
    now = now or utcnow()
    numbers = today(service, now)
    pauses = service.store.active_pauses()
    paused = {p.policy for p in pauses}
    modes = service.modes.effective()
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text="Ticket triage")),
        ContextBlock(
            elements=[
                _md(
                    f"Updated {kit.slack_date(now)}. `/triage-status` for details; owners use "
                    "`/triage-pause`, `/triage-resume` and `/triage-mode`."
                )
            ]
        ),
        SectionBlock(
            text=_md(f"*Today* (since {kit.slack_date(numbers.since)})"),
            fields=[
                _md(f"*Volume*\n{numbers.volume}"),
                _md(f"*Auto-routed*\n{numbers.auto_routed} ({numbers.automation})"),
                _md(f"*Decided by humans*\n{numbers.human_decided}"),
                _md(f"*Waiting for a human*\n{numbers.waiting}"),
            ],
        ),
    ]
    if pauses:
        lines = [pause_line(p, all_label="*all automation*") for p in pauses]
        blocks.append(SectionBlock(text=_md("\n".join(lines))))
    else:
        blocks.append(SectionBlock(text=_md(":arrow_forward: Nothing is paused.")))
    blocks += [DividerBlock(), HeaderBlock(text=PlainTextObject(text="Policies"))]
    names = sorted(service.policies.policies)
    rows = []
    for name in names[:MAX_POLICIES]:
        policy = service.policies.policies[name]
        threshold = (
            "calibrated"
            if policy.threshold == "calibrated"
            else f"{service.policies.threshold(policy):.2f}"
        )
        row = status_row(
            name,
            policy,
            modes[name],
            threshold,
            name in paused or ALL in paused,
            service.modes.gate(name),
        )
        yours = " · _yours_" if user_id in {policy.owner, policy.backup} else ""
        rows.append(row + yours)
    # One compact table: a section per ten policies, one line each.
    for start in range(0, len(rows), 10):
        blocks.append(SectionBlock(text=_md("\n".join(rows[start : start + 10]))))
    if len(names) > MAX_POLICIES:
        blocks.append(ContextBlock(elements=[_md(f"… and {len(names) - MAX_POLICIES} more.")]))
    return blocks


def home_view(service: TriageService, user_id: str, now: datetime | None = None) -> View:
    return View(type="home", blocks=home_blocks(service, user_id, now))
