"""Outcome times from the helpdesk, for metrics that compare before and after the bot.

For the metrics, the functions to use are:

- `refresh_outcomes(poller)`: re-reads `first_response_at` / `resolved_at` for stored
  source tickets that are still open, a bounded batch per call (rotating through them), and
  writes them onto the `tickets` rows (Ticket.first_response_at / Ticket.resolved_at).
- `baseline_summary(store, since, until)`: the pre-launch history (tickets created before
  the bot's launch point, kept in `source_baseline` with their times only).
- `launch_summary(store, since, until)`: the same figures for tickets read since launch.

Both summaries are `OutcomeSummary` values in seconds, so before/after is one subtraction.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlmodel import select

from bot.models import Ticket
from bot.source.clean import source_id
from bot.source.models import SourceBaseline, SourceRef, SourceState
from bot.source.state import decode_value
from bot.store import Store
from bot.tickets import TicketRejected

if TYPE_CHECKING:
    from bot.source.poller import SourcePoller


@dataclass(frozen=True)
class OutcomeRefresh:
    checked: int
    updated: int
    closed: int


@dataclass(frozen=True)
class OutcomeSummary:
    """Response and resolution times of a set of tickets (seconds; None when no data)."""

    tickets: int
    responded: int
    resolved: int
    median_first_response_seconds: float | None
    median_resolution_seconds: float | None
    p90_first_response_seconds: float | None
    p90_resolution_seconds: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def _summarise(rows: Any) -> OutcomeSummary:
    count = 0
    response: list[float] = []
    resolution: list[float] = []
    for created, first, resolved in rows:
        count += 1
        if created is None:
            continue
        if first is not None and first >= created:
            response.append((first - created).total_seconds())
        if resolved is not None and resolved >= created:
            resolution.append((resolved - created).total_seconds())
    return OutcomeSummary(
        tickets=count,
        responded=len(response),
        resolved=len(resolution),
        median_first_response_seconds=statistics.median(response) if response else None,
        median_resolution_seconds=statistics.median(resolution) if resolution else None,
        p90_first_response_seconds=_p90(response),
        p90_resolution_seconds=_p90(resolution),
    )


def baseline_summary(
    store: Store, since: datetime | None = None, until: datetime | None = None
) -> OutcomeSummary:
    """The pre-launch history (created_at in [since, until) when given)."""
    query = select(
        SourceBaseline.created_at, SourceBaseline.first_response_at, SourceBaseline.resolved_at
    )
    if since is not None:
        query = query.where(SourceBaseline.created_at >= since)  # type: ignore[operator]
    if until is not None:
        query = query.where(SourceBaseline.created_at < until)  # type: ignore[operator]
    with store.session() as session:
        return _summarise(session.exec(query.execution_options(yield_per=5000)))


def launch_summary(
    store: Store, since: datetime | None = None, until: datetime | None = None
) -> OutcomeSummary:
    """Tickets read from the helpdesk since launch (source 'sql')."""
    query = select(Ticket.created_at, Ticket.first_response_at, Ticket.resolved_at).where(
        Ticket.source == "sql"
    )
    if since is not None:
        query = query.where(Ticket.created_at >= since)  # type: ignore[operator]
    if until is not None:
        query = query.where(Ticket.created_at < until)  # type: ignore[operator]
    with store.session() as session:
        return _summarise(session.exec(query.execution_options(yield_per=5000)))


def launched_at(store: Store, name: str = "default") -> datetime | None:
    """The launch point: tickets created before it are the baseline (None: no baseline)."""
    with store.session() as session:
        state = session.get(SourceState, name)
        return state.launched_at if state else None


def refresh_outcomes(poller: SourcePoller) -> OutcomeRefresh:
    """Re-read outcome times for up to SOURCE_OUTCOME_BATCH open tickets (raises SourceError)."""
    store, repo, reader = poller.store, poller.repo, poller.reader
    columns = reader.columns()
    if not (columns.has("first_response_at") or columns.has("resolved_at")):
        return OutcomeRefresh(0, 0, 0)
    state = repo.get()
    after = state.outcome_cursor if state else None
    limit = poller.settings.source_outcome_batch
    with store.session() as session:
        query = select(SourceRef).where(SourceRef.open == True)  # noqa: E712
        if after:
            query = query.where(SourceRef.ticket_id > after)  # type: ignore[operator]
        refs = list(session.exec(query.order_by(SourceRef.ticket_id).limit(limit)).all())  # type: ignore[arg-type]
    # Rotate through the open tickets: the next call continues after the last one checked.
    repo.set_fields(outcome_cursor=refs[-1].ticket_id if len(refs) == limit else None)
    if not refs:
        return OutcomeRefresh(0, 0, 0)
    wanted = {ref.ticket_id for ref in refs}
    rows = reader.outcomes([decode_value(ref.raw_id) for ref in refs])
    updated = closed = 0
    with store.session() as session:
        for row in rows:
            try:
                tid = source_id(row.get("id"))
            except TicketRejected:
                continue
            if tid not in wanted:
                continue
            first = poller.parse_time(row.get("first_response_at"))
            resolved = poller.parse_time(row.get("resolved_at"))
            ticket = session.get(Ticket, tid)
            if ticket is None:
                continue
            values: dict[str, Any] = {}
            if first is not None and ticket.first_response_at != first:
                values["first_response_at"] = first
            if resolved is not None and ticket.resolved_at != resolved:
                values["resolved_at"] = resolved
            if values:
                session.execute(update(Ticket).where(Ticket.id == tid).values(**values))  # type: ignore[arg-type]
                updated += 1
            if resolved is not None:
                session.execute(
                    update(SourceRef).where(SourceRef.ticket_id == tid).values(open=False)  # type: ignore[arg-type]
                )
                closed += 1
            wanted.discard(tid)
        session.commit()
    return OutcomeRefresh(checked=len(refs), updated=updated, closed=closed)
