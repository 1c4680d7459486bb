"""Intake written from the event loop: no thread hop for a batch of one-ticket requests.

A batch of one-ticket requests needs no check before its insert, so it is written from
the event loop instead of a worker thread. In a thread, the batch kept waiting for the
interpreter lock while the loop parsed the next requests, and each hand-over of the lock
cost system calls; from the loop a batch costs its statements.

- PostgreSQL (`AsyncIntake`): the batch is one statement in autocommit
  (bot.intake_writer.POSTGRES_INSERT), sent on a psycopg `AsyncConnection` of its own
  and awaited, so the loop serves other requests during the round trip.
- SQLite (`InlineSqliteIntake`): the batch is written on the loop itself, on a
  connection of its own that never waits: it takes the write lock with `BEGIN
  IMMEDIATE` and no busy timeout, and if another writer holds it, the batch goes to the
  thread path, which waits as before. Its commits never checkpoint the WAL (that could
  mean an fsync on the loop); the worker's and the clicks' commits checkpoint it, as
  they did. A batch larger than `MAX_INLINE_TICKETS` also takes the thread path.

Batches that must check before they insert (a request of several tickets, all or
nothing) still run in the batcher's thread in one transaction. Everything else is as on
the pooled path: the same statements and parameters, committed before any request of the
batch is answered, a driver error raised as SQLAlchemy's (parameters hidden, so no ticket
text reaches a log), and on PostgreSQL a connection the server dropped replaced and the
batch written once more (ids already stored come back as duplicates).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import DBAPIError

from bot.intake_writer import POSTGRES_INSERT, as_sqlalchemy
from bot.store import IntakeResult, Store, intake_keys, intake_result
from bot.tickets import TicketIn

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 10
MAX_INLINE_TICKETS = 64  # a larger SQLite batch is written in the thread (the loop stays free)


class LoopIntake:
    """Stores batches of new tickets from the event loop; `_insert` is the database's part."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def add_tickets(
        self, tickets: Sequence[TicketIn], source: str, actor: str = "intake"
    ) -> IntakeResult:
        """As `Store.add_tickets` without `connection`: stored and committed on return."""
        unique, keys = intake_keys(tickets)
        if not unique:
            return IntakeResult([], [])
        created = await self._insert(unique, keys, source, actor)
        if created is None:  # not now from the loop: the pooled path, in a thread
            return await asyncio.to_thread(self._store.add_tickets, tickets, source, actor)
        skipped = self._store._intake_writer.skipped(unique, keys, created)
        lookalikes = (
            await asyncio.to_thread(self._store.skipped_lookalikes, skipped) if skipped else {}
        )
        return intake_result(unique, created, lookalikes, source)

    async def close(self) -> None:
        """Close the connection (the runtime does, at shutdown)."""

    async def _insert(
        self, unique: dict[str, TicketIn], keys: dict[str, str], source: str, actor: str
    ) -> set[str] | None:
        """The ids inserted, committed; None to have the thread path write the batch."""
        raise NotImplementedError

    def _as_sqlalchemy(self, exc: Exception, driver_error: type, gone: bool) -> DBAPIError:
        return as_sqlalchemy(exc, driver_error, self._store.engine.dialect, gone)


class AsyncIntake(LoopIntake):
    """PostgreSQL: one async connection (autocommit), opened when first needed."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        url = store.engine.url.set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._connection: Any = None  # psycopg.AsyncConnection

    async def close(self) -> None:
        import psycopg

        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                await connection.close()

    async def _insert(
        self, unique: dict[str, TicketIn], keys: dict[str, str], source: str, actor: str
    ) -> set[str]:
        import psycopg

        params = self._store._intake_writer.postgres_params(unique.values(), keys, source, actor)
        for attempt in (1, 2):
            connection = await self._connect()
            try:
                async with connection.cursor() as cursor:
                    await cursor.execute(POSTGRES_INSERT, params)
                    return {row[0] for row in await cursor.fetchall()}
            except psycopg.Error as exc:
                gone = connection.broken or connection.closed
                if gone:
                    await self.close()
                    if attempt == 1:  # dropped by the server: once more on a fresh connection
                        log.info("intake connection lost (%s); writing again", type(exc).__name__)
                        continue
                raise self._as_sqlalchemy(exc, psycopg.Error, gone) from exc
        raise AssertionError("unreachable")

    async def _connect(self) -> Any:
        import psycopg

        if self._connection is None or self._connection.closed:
            try:
                self._connection = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
                )
            except psycopg.Error as exc:
                raise self._as_sqlalchemy(exc, psycopg.Error, True) from exc
        return self._connection


class InlineSqliteIntake(LoopIntake):
    """SQLite: a connection of its own that never waits for the write lock."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self._connection: sqlite3.Connection | None = None

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(sqlite3.Error):
                connection.close()

    async def _insert(
        self, unique: dict[str, TicketIn], keys: dict[str, str], source: str, actor: str
    ) -> set[str] | None:
        if len(unique) > MAX_INLINE_TICKETS:
            return None
        try:
            connection = self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
                    return None  # another writer holds the lock: wait for it in the thread
                raise
            try:
                cursor = connection.cursor()
                created = self._store._intake_writer.insert(
                    cursor, unique.values(), keys, source, actor
                )
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
        except sqlite3.Error as exc:
            await self.close()  # opened afresh for the next batch
            raise self._as_sqlalchemy(exc, sqlite3.Error, False) from exc
        return created

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            # A connection of the engine's (its pragmas applied: WAL, foreign keys), taken
            # out of the pool for good, then told never to wait and never to checkpoint.
            pooled = self._store.engine.raw_connection()
            connection = pooled.driver_connection
            pooled.detach()
            assert isinstance(connection, sqlite3.Connection)
            connection.execute("PRAGMA busy_timeout=0")
            connection.execute("PRAGMA wal_autocheckpoint=0")
            self._connection = connection
        return self._connection
