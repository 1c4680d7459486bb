"""Routed summaries: auto-routed tickets announced in one message per interval.

An auto-routed ticket gets a `summary_entries` row in the transaction that routes it
(its route-channel post is queued there too, as before). When its interval is over,
`flush` turns the interval's entries into summary posts and marks them, in one
transaction with the outbox rows: no ticket is announced twice or never, whatever
restarts or how many processes run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from bot.channel import render
from bot.channel.models import SummaryEntry
from bot.models import OutboxMessage, Ticket, utcnow
from bot.store import OutboxItem

if TYPE_CHECKING:
    from bot.channel.host import TriageHost

_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
_GROUPED_AT = (
    select(_OUTBOX.c.id)
    .where(
        _OUTBOX.c.result_channel == bindparam("channel"),
        _OUTBOX.c.result_ts == bindparam("ts"),
        _OUTBOX.c.purpose.in_(["summary", "group", "group_list"]),
    )
    .limit(1)
)

PRIORITY_SUMMARY = 55  # after every proposal a human must decide


def grouped_message_at(store, channel: str, ts: str) -> OutboxMessage | None:
    """The summary or group message Slack shows at (channel, ts), if it is one of ours."""
    if not channel or not ts:
        return None
    # Every click asks; most are on a ticket's own message. A prebuilt Core probe answers
    # those without an ORM session.
    with store.engine.connect() as connection:
        if connection.execute(_GROUPED_AT, {"channel": channel, "ts": ts}).first() is None:
            return None
    with store.session() as session:
        return session.exec(
            select(OutboxMessage).where(
                OutboxMessage.result_channel == channel,
                OutboxMessage.result_ts == ts,
                col(OutboxMessage.purpose).in_(["summary", "group", "group_list"]),
            )
        ).first()


class RoutedSummaries:
    """Collects auto-routed tickets and posts them as summaries."""

    def __init__(self, service: TriageHost, clock: Callable[[], datetime] = utcnow) -> None:
        self.service = service
        self.clock = clock

    @property
    def interval(self) -> int:
        return self.service.settings.routed_summary_seconds

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    def slot(self, moment: datetime) -> int:
        return int(moment.timestamp() // self.interval)

    def collect(self, session: Session, ticket_id: str) -> None:
        """Remember an auto-routed ticket for its interval's summary (caller commits)."""
        now = self.clock()
        session.add(SummaryEntry(ticket_id=ticket_id, slot=self.slot(now), routed_at=now))

    def flush(self, now: datetime | None = None) -> int:
        """Post every finished interval's summary; returns how many posts were queued."""
        if not self.enabled:
            return 0
        now = now or self.clock()
        current = self.slot(now)
        store = self.service.store
        queued = 0
        with store.session() as session:
            entries = list(
                session.exec(
                    select(SummaryEntry)
                    .where(col(SummaryEntry.summary_key).is_(None), SummaryEntry.slot < current)
                    .order_by(col(SummaryEntry.slot), col(SummaryEntry.routed_at))
                    .with_for_update(skip_locked=True)
                ).all()
            )
            by_slot: dict[int, list[SummaryEntry]] = {}
            for entry in entries:
                by_slot.setdefault(entry.slot, []).append(entry)
            items: list[OutboxItem] = []
            for slot, rows in by_slot.items():
                for start in range(0, len(rows), render.SUMMARY_LINES):
                    chunk = rows[start : start + render.SUMMARY_LINES]
                    key = f"summary:{slot}:{chunk[0].ticket_id}"[:255]
                    for row in chunk:
                        row.summary_key = key
                        session.add(row)
                    items.append(self._post(session, key, slot, [r.ticket_id for r in chunk]))
            store._enqueue(session, items)
            session.commit()
            queued = len(items)
        return queued

    def _window(self, slot: int) -> tuple[datetime, datetime]:
        since = datetime.fromtimestamp(slot * self.interval, UTC)
        return since, since + timedelta(seconds=self.interval)

    def _lines(
        self, session: Session, ticket_ids: list[str], done: dict[str, str] | None = None
    ) -> list[render.Line]:
        tickets = {
            t.id: t for t in session.exec(select(Ticket).where(col(Ticket.id).in_(ticket_ids)))
        }
        service = self.service
        lines = []
        for ticket_id in ticket_ids:
            ticket = tickets.get(ticket_id)
            if ticket is None:
                continue
            tag = ticket.final_tag or ticket.proposed_tag or ""
            policy = service.policies.for_tag(tag)
            outcome = (done or {}).get(ticket_id)
            if outcome is None and ticket.decided_by not in (None, "bot"):
                outcome = f"Corrected to `{tag}` by {render.kit.mention(ticket.decided_by or '')}"
            lines.append(
                render.Line(
                    ticket=service._ticket_view(ticket),
                    tag=tag,
                    route_channel=policy.route_channel if policy else None,
                    done=outcome,
                )
            )
        return lines

    def _post(self, session: Session, key: str, slot: int, ticket_ids: list[str]) -> OutboxItem:
        since, until = self._window(slot)
        lines = self._lines(session, ticket_ids)
        blocks = render.summary_message(lines, since, until, self.service.policies.tags)
        return OutboxItem(
            dedupe_key=key,
            method="chat.postMessage",
            payload={
                "channel": self.service.settings.triage_channel or "",
                "text": f"Routed automatically: {len(lines)} tickets",
                "blocks": render.kit.to_dicts(blocks),
                "unfurl_links": False,
                "unfurl_media": False,
            },
            purpose="summary",
            priority=PRIORITY_SUMMARY,
        )

    def rebuilt(self, message: OutboxMessage, ticket_id: str, outcome: str) -> OutboxItem | None:
        """The summary that was clicked, with one ticket's line showing its correction."""
        with self.service.store.session() as session:
            ids = [
                e.ticket_id
                for e in session.exec(
                    select(SummaryEntry)
                    .where(SummaryEntry.summary_key == message.dedupe_key)
                    .order_by(col(SummaryEntry.routed_at))
                )
            ]
            if ticket_id not in ids:
                return None
            slot = int(message.dedupe_key.split(":")[1])
            since, until = self._window(slot)
            lines = self._lines(session, ids, {ticket_id: outcome})
        blocks = render.summary_message(lines, since, until, self.service.policies.tags)
        return OutboxItem.message_update(
            f"summary-update:{ticket_id}:{utcnow().timestamp()}",
            message.result_channel,
            message.result_ts,
            f"Routed automatically: {len(lines)} tickets",
            render.kit.to_dicts(blocks),
            ticket_id=ticket_id,
        )
