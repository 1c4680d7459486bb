"""One exactly-once poll of the helpdesk database.

Each poll reads the rows whose cursor (created_at by default) is at or after the low
bound (see SourceCheckpoint: the lookback window re-reads recent rows so a ticket committed
late is not missed), in cursor order and bounded batches. Each batch is stored before the
checkpoint moves past it, so a crash or a source failure loses nothing: the next poll
re-reads from the last stored batch, and the tickets table's primary key drops repeats.
Rows with no cursor value are found by id in a second pass. A lease in the store keeps
several bot processes from polling at the same time (repeats would still be harmless).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, update

from bot.models import Ticket, utcnow
from bot.settings import Settings
from bot.source.clean import repair_text, source_id
from bot.source.errors import SourceError
from bot.source.query import SourceConfigError, check_query_settings
from bot.source.reader import CURSOR, SourceReader
from bot.source.state import SourceStateRepo, decode_value, encode_value
from bot.source.times import cursor_is_trusted, parse_source_time, zone
from bot.store import IntakeResult, Store
from bot.tickets import MAX_SUBJECT_CHARS, TicketIn, TicketRejected, parse_url

log = logging.getLogger(__name__)

SOURCE_NAME = "sql"  # Ticket.source for tickets read from the helpdesk database
LEASE_SECONDS = 120.0

Intake = Callable[[Sequence[TicketIn]], IntakeResult]


@dataclass
class PollResult:
    """What one poll did; `error` is set when the source failed (nothing stored is lost)."""

    rows_read: int = 0
    new: int = 0
    known: int = 0
    baseline: int = 0
    skipped: int = 0
    suspect: int = 0  # stored with a creation time beyond now + SOURCE_MAX_FUTURE_SECONDS
    new_ids: list[str] = field(default_factory=list)
    busy: bool = False
    error: SourceError | None = None

    def summary(self) -> str:
        return (
            f"{self.rows_read:,} rows read: {self.new:,} new, {self.known:,} already known, "
            f"{self.baseline:,} pre-launch (baseline), {self.skipped:,} skipped"
        )


def parse_start(value: str | None) -> datetime | str | None:
    """SOURCE_START: unset -> 'now' (launch at the first poll), 'all', or a timestamp."""
    if value is None or not value.strip() or value.strip().lower() == "now":
        return "now"
    if value.strip().lower() == "all":
        return None
    moment = parse_source_time(value)
    if moment is None:
        raise SourceConfigError(f"SOURCE_START {value!r} is not 'now', 'all' or a timestamp")
    return moment


class SourcePoller:
    """Polls one helpdesk database; safe to run in several processes at once."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        reader: SourceReader | None = None,
        intake: Intake | None = None,
    ) -> None:
        if not settings.source_database_url or not settings.source_query:
            missing = "SOURCE_QUERY" if settings.source_database_url else "SOURCE_DATABASE_URL"
            raise SourceConfigError(
                f"{missing} is not set: the helpdesk source needs both SOURCE_DATABASE_URL "
                "and SOURCE_QUERY"
            )
        check_query_settings(settings)  # every *_QUERY setting, before the source is touched
        self.settings = settings
        self.store = store
        self.reader = reader or SourceReader(
            settings.source_database_url,
            settings.source_query,
            settings.source_cursor_column,
            settings.source_max_body_chars,
        )
        self.intake: Intake = intake or (lambda tickets: store.add_tickets(tickets, SOURCE_NAME))
        self.repo = SourceStateRepo(store, cursor=settings.source_cursor_column.lower())
        try:
            self.zone = zone(settings.source_timezone)
        except ValueError as exc:
            raise SourceConfigError(str(exc)) from None
        self.start = parse_start(settings.source_start)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.on_new: Callable[[], None] | None = None  # serve sets this to kick the worker
        self._failing: str | None = None
        self._warned_text_cursor = False
        self._renewed = float("-inf")  # never renewed; a monotonic clock may read near 0

    def close(self) -> None:
        self.reader.close()

    @property
    def failing(self) -> bool:
        """True while this process's last poll failed."""
        return self._failing is not None

    # --- one row ---------------------------------------------------------------------------

    def parse_time(self, value: Any) -> datetime | None:
        return parse_source_time(value, self.zone, self.settings.source_dayfirst)

    def future_limit(self) -> datetime:
        """Source times later than this are suspect (SOURCE_MAX_FUTURE_SECONDS)."""
        return utcnow() + timedelta(seconds=self.settings.source_max_future_seconds)

    def _ticket(self, row: dict[str, Any], limit_time: datetime) -> TicketIn:
        limit = self.settings.source_max_body_chars
        created = self.parse_time(row.get("created_at"))
        return TicketIn(
            id=source_id(row.get("id")),
            subject=" ".join(repair_text(row.get("subject"), MAX_SUBJECT_CHARS).split()),
            body=repair_text(row.get("body"), limit),
            requester=repair_text(row.get("requester"), 500).strip(),
            created_at=created,
            url=parse_url(row.get("url")),
            time_suspect=created is not None and created > limit_time,
        )

    def trusted_cursor(self, rows: list[dict[str, Any]], limit_time: datetime) -> Any:
        """The highest cursor value of a batch that may become the watermark, or None.

        Rows come in cursor order, so rows dated beyond `limit_time` (or with a time
        that is out of range) are at the end: the watermark stops before them, and they
        are read again (and dropped as known) until their time is no longer ahead.
        """
        for row in reversed(rows):
            if cursor_is_trusted(
                row.get(CURSOR), limit_time, self.zone, self.settings.source_dayfirst
            ):
                return row[CURSOR]
        return None

    # --- one batch -------------------------------------------------------------------------

    def _store_batch(
        self, rows: list[dict[str, Any]], launched_at: datetime | None, first_sync: bool
    ) -> PollResult:
        part = PollResult(rows_read=len(rows))
        live: dict[str, tuple[TicketIn, dict[str, Any]]] = {}
        baseline: dict[str, dict[str, Any]] = {}
        limit_time = self.future_limit()
        for row in rows:
            try:
                ticket = self._ticket(row, limit_time)
            except TicketRejected as exc:
                part.skipped += 1
                log.warning("source row skipped (%s); cursor %r", exc, row.get(CURSOR))
                continue
            if ticket.id in live or ticket.id in baseline:
                part.known += 1  # the query returned the same ticket twice
                continue
            outcome = {
                "first_response_at": self.parse_time(row.get("first_response_at")),
                "resolved_at": self.parse_time(row.get("resolved_at")),
            }
            created = ticket.created_at
            is_baseline = launched_at is not None and (
                (created is not None and created < launched_at) or (created is None and first_sync)
            )
            if is_baseline:
                baseline[ticket.id] = {"ticket_id": ticket.id, "created_at": created, **outcome}
            else:
                live[ticket.id] = (ticket, {"raw": row.get("id"), **outcome})
        if baseline:
            self.repo.add_baseline(list(baseline.values()))
            part.baseline += len(baseline)
        for tid in self.repo.known_ids(list(live)):
            del live[tid]  # read again inside the lookback window: stored already
            part.known += 1
        if live:
            # The source id first: a crash between these two leaves a harmless spare ref.
            self.repo.add_refs(
                [
                    {
                        "ticket_id": tid,
                        "raw_id": encode_value(extra["raw"]),
                        "open": extra["resolved_at"] is None,
                    }
                    for tid, (_t, extra) in live.items()
                ]
            )
            result = self.intake([t for t, _ in live.values()])
            part.new += len(result.new_ids)
            part.known += len(result.duplicate_ids)
            part.new_ids = list(result.new_ids)
            for tid, other in result.lookalikes.items():
                part.skipped += 1
                log.warning(
                    "source row skipped: id %r looks like the stored ticket %r (invisible, "
                    "bidi or compatibility characters)",
                    tid,
                    other,
                )
            suspect = [t for t in result.new_ids if live[t][0].time_suspect]
            if suspect:
                part.suspect += len(suspect)
                log.warning(
                    "source rows stored with a creation time more than %ss ahead (not used "
                    "as the watermark): %s",
                    self.settings.source_max_future_seconds,
                    ", ".join(repr(t) for t in suspect[:10]),
                )
            self._after_intake(live, set(result.new_ids))
        return part

    def _after_intake(
        self, live: dict[str, tuple[TicketIn, dict[str, Any]]], new_ids: set[str]
    ) -> None:
        """Store the outcome times that new tickets already have."""
        changes = [
            {
                "tid": tid,
                "first": live[tid][1]["first_response_at"],
                "resolved": live[tid][1]["resolved_at"],
            }
            for tid in new_ids
            if live[tid][1]["first_response_at"] or live[tid][1]["resolved_at"]
        ]
        if changes:  # one executemany, not one UPDATE per ticket
            statement = (
                update(Ticket.__table__)  # type: ignore[attr-defined]
                .where(Ticket.__table__.c.id == bindparam("tid"))  # type: ignore[attr-defined]
                .values(first_response_at=bindparam("first"), resolved_at=bindparam("resolved"))
            )
            with self.store.engine.begin() as connection:
                connection.execute(statement, changes)

    # --- one poll --------------------------------------------------------------------------

    def poll_once(self, progress: Callable[[PollResult], None] | None = None) -> PollResult:
        """Read what is new, store it, return counts; never raises for a source failure."""
        total = PollResult()
        launch = utcnow() if self.start == "now" else self.start
        try:
            state = self.repo.ensure(launch)  # type: ignore[arg-type]
        except Exception as exc:
            total.error = SourceError("error", f"the bot's store failed: {type(exc).__name__}")
            log.error("source poll skipped: the bot's own store failed (%s)", type(exc).__name__)
            return total
        if not self.repo.claim(self.owner, LEASE_SECONDS):
            total.busy = True
            return total
        self._renewed = time.monotonic()
        first_sync = not state.first_sync_done
        error: SourceError | None = None
        try:
            self._main_pass(total, state.launched_at, first_sync, progress)
            self._null_pass(total, state.launched_at, first_sync, state.null_cursor, progress)
            if total.new or total.baseline:
                self.repo.prune(self.settings.source_lookback_seconds)
        except SourceError as exc:  # source down, query error, permission denied, …
            error = exc
        except SourceConfigError as exc:  # e.g. the query no longer returns an `id` column
            error = SourceError("query error", str(exc))
        except Exception as exc:  # the bot's own store (or a bug): not the source's fault
            log.exception("source poll: storing what was read failed; the next poll retries")
            error = SourceError("error", f"the bot's store failed: {type(exc).__name__}")
        total.error = error
        try:
            self.repo.finish(self.owner, str(error) if error else None, first_sync and not error)
        except Exception as exc:
            log.error("source poll: could not record its outcome (%s)", type(exc).__name__)
        self._log(total)
        return total

    def _absorb(self, total: PollResult, part: PollResult) -> None:
        total.rows_read += part.rows_read
        total.new += part.new
        total.known += part.known
        total.baseline += part.baseline
        total.skipped += part.skipped
        total.suspect += part.suspect
        if part.suspect:
            self.repo.add_suspect_times(part.suspect)
        total.new_ids.extend(part.new_ids[: max(0, 1000 - len(total.new_ids))])
        if part.new and self.on_new is not None:
            self.on_new()

    def _main_pass(
        self,
        total: PollResult,
        launched_at: datetime | None,
        first_sync: bool,
        progress: Callable[[PollResult], None] | None,
    ) -> None:
        low = self.repo.low_bound(self.settings.source_lookback_seconds)
        polled_at = utcnow()
        checkpoint: int | None = None
        last: Any = None
        stored_before = total.new + total.baseline
        for rows in self.reader.new_rows(low, self.settings.source_batch_size):
            self._absorb(total, self._store_batch(rows, launched_at, first_sync))
            trusted = self.trusted_cursor(rows, self.future_limit())
            last = trusted if trusted is not None else last
            if isinstance(last, str) and not self._warned_text_cursor:
                self._warned_text_cursor = True
                log.warning(
                    "the source cursor column holds text, so new rows are found by text order; "
                    "set SOURCE_CURSOR_COLUMN to a timestamp or an increasing number"
                )
            # Stored, so the watermark may move past this batch (rows come in cursor order).
            # A batch of re-read rows that stored nothing needs no new checkpoint.
            stored = total.new + total.baseline > stored_before
            if last is not None and (stored or len(rows) == self.settings.source_batch_size):
                checkpoint = self.repo.save_checkpoint(checkpoint, polled_at, last)
            stored_before = total.new + total.baseline
            self._renew()
            if progress is not None:
                progress(total)

    def _null_pass(
        self,
        total: PollResult,
        launched_at: datetime | None,
        first_sync: bool,
        null_cursor: str | None,
        progress: Callable[[PollResult], None] | None,
    ) -> None:
        after = decode_value(null_cursor)
        for rows in self.reader.null_cursor_rows(after, self.settings.source_batch_size):
            self._absorb(total, self._store_batch(rows, launched_at, first_sync))
            self.repo.set_fields(null_cursor=encode_value(rows[-1]["id"]))
            self._renew()
            if progress is not None:
                progress(total)

    def _renew(self) -> None:
        """Extend the poll lease during a long sync (not after every small batch)."""
        now = time.monotonic()
        if now - self._renewed >= LEASE_SECONDS / 4:
            self.repo.renew(self.owner, LEASE_SECONDS)
            self._renewed = now

    def _log(self, result: PollResult) -> None:
        error = result.error
        if error is not None:
            line = f"{error.kind}: {error.detail}"
            if line != self._failing:  # one line per outage, not one per poll
                log.error(
                    "source poll failed (%s) on %s: %s; nothing stored is lost, polling "
                    "continues every %ss",
                    error.kind,
                    self.reader.masked_url,
                    error.detail,
                    f"{self.settings.source_poll_seconds:g}",
                )
            self._failing = line
            return
        if self._failing is not None:
            log.info("source is back (%s); %s", self.reader.masked_url, result.summary())
        elif result.new or result.skipped:
            log.info("source poll: %s", result.summary())
        self._failing = None
