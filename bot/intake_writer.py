"""The intake hot path's SQL: new tickets and their `ticket_received` audit rows, written
in as few statements (and, on PostgreSQL, round trips) as the database allows.

Fixed statement texts sent through the driver's own cursor (no ORM, no per-call
compilation, no SQLAlchemy result objects: on a small batch those cost as much as SQLite's
commit); a driver error is raised as SQLAlchemy's, as if the statement had gone through it
(`driver_errors`), so callers and retries see one kind of error:
- PostgreSQL: one statement for the whole batch. The tickets go in as one JSON array of
  rows (`json_to_recordset`), so the text never changes with the batch size and psycopg
  prepares it on the server after a few uses; one JSON text, written by orjson, costs the
  driver half the time of one array parameter per column (which it dumps item by item in
  Python), and the server less as well. A data-modifying CTE writes the audit row of each
  ticket that was new. One statement is atomic on its own, so the caller may run it in
  autocommit: one round trip per batch, committed (synchronous commit) when it returns.
- SQLite: one multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING id` (its text cached
  per row count) and one executemany for the audit rows, in the caller's transaction.

A repeated id and a look-alike id (same `id_key`, a unique column) are both skipped by
`ON CONFLICT DO NOTHING` (no conflict target); the store tells the two apart afterwards.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError

from bot import jsonio
from bot.models import Ticket, TicketStatus, utcnow
from bot.tickets import TicketIn

# Per-ticket columns (with their PostgreSQL types for the JSON rows), then those every
# ticket of a batch shares.
_OWN_TYPES = (
    ("id", "varchar"),
    ("id_key", "varchar"),
    ("time_suspect", "boolean"),
    ("subject", "text"),
    ("body", "text"),
    ("requester", "varchar"),
    ("url", "text"),
    ("created_at", "timestamptz"),
)
_OWN = tuple(name for name, _ in _OWN_TYPES)
_SHARED = ("received_at", "source", "status", "page_level")
_AUDIT = "INSERT INTO audit_events (at, actor, action, ticket_id, detail)"

POSTGRES_INSERT = f"""WITH new AS (
  INSERT INTO tickets ({", ".join(_OWN + _SHARED)})
  SELECT u.*, %(now)s, %(source)s, '{TicketStatus.NEW.value}', 0
  FROM json_to_recordset(%(tickets)s::json)
       AS u({", ".join(f"{name} {kind}" for name, kind in _OWN_TYPES)})
  ON CONFLICT DO NOTHING
  RETURNING id
), received AS (
  {_AUDIT}
  SELECT %(now)s, %(actor)s, 'ticket_received', new.id, %(detail)s::json FROM new
)
SELECT id FROM new"""

# Rows per SQLite statement: 12 parameters each, well under SQLite's 32,766.
_SQLITE_ROWS = 1_000


def _same(value: Any) -> Any:
    return value


class IntakeWriter:
    """Writes new tickets and their audit rows; one per store (its dialect's statements)."""

    def __init__(self, dialect: Dialect) -> None:
        if dialect.name not in ("postgresql", "sqlite"):
            raise RuntimeError(
                f"DATABASE_URL: {dialect.name} is not supported; use SQLite or PostgreSQL"
            )
        # Whether one statement writes a whole batch (then it may run in autocommit).
        self.one_statement = dialect.name == "postgresql"
        # The column type's own conversion (aware UTC; SQLite's text form), as Core would.
        when = Ticket.__table__.c.received_at.type  # type: ignore[attr-defined]
        self._time: Callable[[Any], Any] = when.bind_processor(dialect) or _same

    def insert(
        self,
        cursor: Any,
        tickets: Iterable[TicketIn],
        keys: dict[str, str],
        source: str,
        actor: str,
    ) -> set[str]:
        """Insert the tickets (unique ids) not already stored; the ids that were new."""
        if self.one_statement:
            return self._postgres(cursor, list(tickets), keys, source, actor)
        now = self._time(utcnow())
        detail = jsonio.dumps({"source": source})
        return self._sqlite(cursor, list(tickets), keys, now, source, actor, detail)

    def _postgres(
        self, cursor: Any, tickets: list[TicketIn], keys: dict[str, str], source: str, actor: str
    ) -> set[str]:
        cursor.execute(POSTGRES_INSERT, self.postgres_params(tickets, keys, source, actor))
        return {row[0] for row in cursor.fetchall()}

    def postgres_params(
        self, tickets: Iterable[TicketIn], keys: dict[str, str], source: str, actor: str
    ) -> dict[str, Any]:
        """The parameters of POSTGRES_INSERT for these tickets (unique ids), received now."""
        time = self._time
        rows = [
            {
                "id": t.id,
                "id_key": keys[t.id],
                "time_suspect": t.time_suspect,
                "subject": t.subject,
                "body": t.body,
                "requester": t.requester,
                "url": t.url,
                "created_at": time(t.created_at),  # aware UTC: orjson writes its offset
            }
            for t in tickets
        ]
        return {
            "now": time(utcnow()),
            "source": source,
            "actor": actor,
            "detail": jsonio.dumps({"source": source}),
            "tickets": jsonio.dumps(rows),
        }

    def _sqlite(
        self,
        cursor: Any,
        tickets: list[TicketIn],
        keys: dict[str, str],
        now: Any,
        source: str,
        actor: str,
        detail: str,
    ) -> set[str]:
        time, status = self._time, TicketStatus.NEW.value
        created: set[str] = set()
        for start in range(0, len(tickets), _SQLITE_ROWS):
            chunk = tickets[start : start + _SQLITE_ROWS]
            values = [
                value
                for t in chunk
                for value in (
                    t.id,
                    keys[t.id],
                    t.time_suspect,
                    t.subject,
                    t.body,
                    t.requester,
                    t.url,
                    time(t.created_at),
                    now,
                    source,
                    status,
                    0,
                )
            ]
            cursor.execute(_sqlite_insert(len(chunk)), tuple(values))
            created.update(row[0] for row in cursor.fetchall())
        if created:
            cursor.executemany(
                _AUDIT + " VALUES (?, ?, 'ticket_received', ?, ?)",
                [(now, actor, t.id, detail) for t in tickets if t.id in created],
            )
        return created

    @staticmethod
    def skipped(
        unique: dict[str, TicketIn], keys: dict[str, str], created: set[str]
    ) -> dict[str, str]:
        """The ids that were not inserted (id -> key): repeats or look-alikes."""
        return {i: keys[i] for i in unique if i not in created}


@contextmanager
def driver_cursor(connection: Connection) -> Iterator[Any]:
    """A cursor of this connection's driver connection, in its open transaction."""
    cursor = connection.connection.cursor()
    try:
        with driver_errors(connection.dialect, connection.connection, cursor):
            yield cursor
    finally:
        cursor.close()


@contextmanager
def own_transaction(engine: Engine, autocommit: bool) -> Iterator[Any]:
    """A pooled driver connection's cursor, committed on leaving (unless `autocommit`:
    each statement is then committed as it runs); rolled back and returned to the pool on
    an error, and dropped from the pool if the error says the server is gone."""
    fairy = engine.raw_connection()
    try:
        if autocommit:
            fairy.driver_connection.autocommit = True  # type: ignore[union-attr]
        cursor = fairy.cursor()
        with driver_errors(engine.dialect, fairy, cursor):
            yield cursor
            if not autocommit:
                fairy.commit()
    finally:
        if autocommit and fairy.is_valid:
            fairy.driver_connection.autocommit = False  # type: ignore[union-attr]
        fairy.close()


@contextmanager
def driver_errors(dialect: Dialect, fairy: Any, cursor: Any) -> Iterator[None]:
    """Raise the driver's errors as SQLAlchemy's (`DBAPIError.instance`, parameters hidden,
    as the engine is set up), invalidating the pooled connection on a disconnect, as
    SQLAlchemy does for statements it runs itself."""
    dbapi = dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        gone = dialect.is_disconnect(exc, fairy, cursor)
        if gone:
            fairy.invalidate(exc)
        raise as_sqlalchemy(exc, dbapi.Error, dialect, gone) from exc


def as_sqlalchemy(exc: Exception, driver_error: type, dialect: Dialect, gone: bool) -> DBAPIError:
    """A driver's error as SQLAlchemy would raise it (parameters hidden, as the engine is set
    up): what the 503 answer and the retries of a dropped connection expect."""
    return DBAPIError.instance(
        None,
        None,
        exc,
        driver_error,
        hide_parameters=True,
        dialect=dialect,
        connection_invalidated=gone,
    )


@functools.lru_cache(maxsize=256)
def _sqlite_insert(rows: int) -> str:
    one = "(" + ", ".join("?" * len(_OWN + _SHARED)) + ")"
    return (
        f"INSERT INTO tickets ({', '.join(_OWN + _SHARED)}) VALUES "
        + ", ".join([one] * rows)
        + " ON CONFLICT DO NOTHING RETURNING id"
    )
