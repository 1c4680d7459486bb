"""The poller's memory in the bot's store: lease, watermark checkpoints, refs, baseline, health.

Cursor values are stored with their type (JSON `{"t": "datetime", "v": "…"}`) and handed
back to the source exactly as it gave them, so comparisons happen in the source's own types.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from bot.models import Ticket, utcnow
from bot.source.models import SourceBaseline, SourceCheckpoint, SourceRef, SourceState
from bot.store import Store

DEFAULT_NAME = "default"


# --- cursor values ---------------------------------------------------------------------------


def encode_value(value: Any) -> str:
    """A source value as typed JSON text (datetime, date, int, Decimal, float, str, UUID, bytes)."""
    if isinstance(value, datetime):
        kind, text = "datetime", value.isoformat()
    elif isinstance(value, date):
        kind, text = "date", value.isoformat()
    elif isinstance(value, bool):
        kind, text = "int", str(int(value))
    elif isinstance(value, int):
        kind, text = "int", str(value)
    elif isinstance(value, Decimal):
        kind, text = "decimal", str(value)
    elif isinstance(value, float):
        kind, text = "float", repr(value)
    elif isinstance(value, uuid.UUID):
        kind, text = "uuid", str(value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        kind, text = "bytes", base64.b64encode(bytes(value)).decode()
    else:
        kind, text = "str", str(value)
    return json.dumps({"t": kind, "v": text})


def decode_value(encoded: str | None) -> Any:
    if encoded is None:
        return None
    data = json.loads(encoded)
    kind, text = data["t"], data["v"]
    if kind == "datetime":
        return datetime.fromisoformat(text)
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "int":
        return int(text)
    if kind == "decimal":
        return Decimal(text)
    if kind == "float":
        return float(text)
    if kind == "uuid":
        return uuid.UUID(text)
    if kind == "bytes":
        return base64.b64decode(text)
    return text


def minus_lookback(value: Any, seconds: int) -> Any:
    """A time cursor moved back by the lookback window; other kinds are returned unchanged."""
    try:
        if isinstance(value, datetime):
            return value - timedelta(seconds=seconds)
        if isinstance(value, date):
            return value - timedelta(days=seconds // 86400 + 1)
    except OverflowError:  # year 1: nothing is earlier anyway
        return value
    if isinstance(value, str):  # ISO text timestamps (SQLite) compare as text: keep the style
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        sep = "T" if "T" in value else " "
        try:
            return (moment - timedelta(seconds=seconds)).isoformat(sep=sep)
        except OverflowError:
            return value
    return value


# --- rows ------------------------------------------------------------------------------------


def _insert_ignore(
    session: Session, model: type[SQLModel], rows: list[dict[str, Any]], key: str
) -> int:
    """INSERT … ON CONFLICT DO NOTHING as one executemany (compiled once, sent in pages)."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    table = model.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=[key])
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=[key])
    else:  # pragma: no cover - the store supports SQLite and PostgreSQL only
        raise RuntimeError(f"DATABASE_URL: {dialect} is not supported")
    inserted = session.execute(stmt.returning(table.c[key]), rows).all()
    return len(inserted)


class SourceStateRepo:
    """Repository for the source tables, over the bot's Store engine."""

    def __init__(self, store: Store, name: str = DEFAULT_NAME, cursor: str = "") -> None:
        self.store = store
        self.name = name
        # Checkpoints belong to one cursor column: a new SOURCE_CURSOR_COLUMN starts afresh
        # (the tickets table still drops repeats), a changed WHERE clause does not.
        self.track = f"{name}:{cursor}"[:64]

    def _session(self) -> Session:
        return self.store.session()

    # state row, lease, health

    def ensure(self, launched_at: datetime | None) -> SourceState:
        """The state row, created on first use with the launch point (None: no baseline)."""
        with self._session() as session:
            row = session.get(SourceState, self.name)
            if row is not None:
                return row
            session.add(SourceState(name=self.name, launched_at=launched_at))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
            row = session.get(SourceState, self.name)
            assert row is not None
            return row

    def get(self) -> SourceState | None:
        with self._session() as session:
            return session.get(SourceState, self.name)

    def claim(self, owner: str, lease_seconds: float) -> bool:
        """Take the poll lease unless another process holds an unexpired one."""
        now = utcnow()
        with self._session() as session:
            result = session.execute(
                update(SourceState)
                .where(
                    SourceState.name == self.name,  # type: ignore[arg-type]
                    (SourceState.lease_until.is_(None))  # type: ignore[union-attr]
                    | (SourceState.lease_until < now)  # type: ignore[operator]
                    | (SourceState.lease_owner == owner),  # type: ignore[arg-type]
                )
                .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
            )
            session.commit()
            return result.rowcount == 1

    def renew(self, owner: str, lease_seconds: float) -> None:
        with self._session() as session:
            session.execute(
                update(SourceState)
                .where(SourceState.name == self.name, SourceState.lease_owner == owner)  # type: ignore[arg-type]
                .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
            )
            session.commit()

    def finish(self, owner: str, error: str | None, first_sync_done: bool | None = None) -> None:
        """Release the lease and record how the poll went (read by /healthz in every process)."""
        now = utcnow()
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "last_poll_at": now}
        if error is None:
            values.update(last_ok_at=now, last_error=None)
        else:
            values.update(last_error=error[:500], last_error_at=now)
        if first_sync_done:
            values["first_sync_done"] = True
        with self._session() as session:
            session.execute(
                update(SourceState)
                .where(SourceState.name == self.name, SourceState.lease_owner == owner)  # type: ignore[arg-type]
                .values(**values)
            )
            session.commit()

    def add_suspect_times(self, count: int) -> None:
        """Count rows stored with a creation time too far ahead (shown on /healthz)."""
        with self._session() as session:
            session.execute(
                update(SourceState)
                .where(SourceState.name == self.name)  # type: ignore[arg-type]
                .values(suspect_times=SourceState.suspect_times + count)
            )
            session.commit()

    def set_fields(self, **values: Any) -> None:
        with self._session() as session:
            session.execute(
                update(SourceState).where(SourceState.name == self.name).values(**values)  # type: ignore[arg-type]
            )
            session.commit()

    # checkpoints

    def low_bound(self, lookback_seconds: int) -> Any | None:
        """Where the next poll starts reading: see SourceCheckpoint. None means from the start."""
        horizon = utcnow() - timedelta(seconds=lookback_seconds)
        with self._session() as session:
            old = session.exec(
                select(SourceCheckpoint)
                .where(SourceCheckpoint.name == self.track, SourceCheckpoint.polled_at <= horizon)
                .order_by(SourceCheckpoint.polled_at.desc(), SourceCheckpoint.id.desc())  # type: ignore[attr-defined, union-attr]
                .limit(1)
            ).first()
            if old is not None:
                return decode_value(old.max_cursor)
            first = session.exec(
                select(SourceCheckpoint)
                .where(SourceCheckpoint.name == self.track)
                .order_by(SourceCheckpoint.polled_at, SourceCheckpoint.id)  # type: ignore[arg-type]
                .limit(1)
            ).first()
        if first is None:
            return None
        return minus_lookback(decode_value(first.max_cursor), lookback_seconds)

    def save_checkpoint(self, checkpoint_id: int | None, polled_at: datetime, cursor: Any) -> int:
        """Create or advance this poll's checkpoint; called after each stored batch."""
        with self._session() as session:
            row = session.get(SourceCheckpoint, checkpoint_id) if checkpoint_id else None
            if row is None:
                row = SourceCheckpoint(name=self.track, polled_at=polled_at, max_cursor="")
            row.max_cursor = encode_value(cursor)
            session.add(row)
            session.commit()
            assert row.id is not None
            return row.id

    def prune(self, lookback_seconds: int) -> None:
        """Drop checkpoints older than the newest one the lookback still needs."""
        horizon = utcnow() - timedelta(seconds=lookback_seconds)
        with self._session() as session:
            keep = session.exec(
                select(func.max(SourceCheckpoint.polled_at)).where(
                    SourceCheckpoint.name == self.track, SourceCheckpoint.polled_at <= horizon
                )
            ).one()
            if keep is not None:
                session.execute(
                    delete(SourceCheckpoint).where(
                        SourceCheckpoint.name == self.track,  # type: ignore[arg-type]
                        SourceCheckpoint.polled_at < keep,  # type: ignore[arg-type]
                    )
                )
                session.commit()

    # refs and baseline

    def add_refs(self, refs: list[dict[str, Any]]) -> None:
        with self._session() as session:
            _insert_ignore(session, SourceRef, refs, "ticket_id")
            session.commit()

    def known_ids(self, ids: list[str]) -> set[str]:
        """Which of these ids are stored already, as tickets or as pre-launch history."""
        if not ids:
            return set()
        with self._session() as session:
            tickets = session.exec(select(Ticket.id).where(Ticket.id.in_(ids))).all()  # type: ignore[attr-defined]
            history = session.exec(
                select(SourceBaseline.ticket_id).where(SourceBaseline.ticket_id.in_(ids))  # type: ignore[attr-defined]
            ).all()
            return set(tickets) | set(history)

    def add_baseline(self, rows: list[dict[str, Any]]) -> int:
        with self._session() as session:
            added = _insert_ignore(session, SourceBaseline, rows, "ticket_id")
            session.commit()
            return added
