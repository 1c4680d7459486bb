"""Intake on PostgreSQL without a thread hop: a batch's one statement sent from the event loop.

On PostgreSQL a batch of one-ticket requests is a single statement in autocommit
(bot.intake_writer.POSTGRES_INSERT), so it needs no transaction and no thread: it is
sent on a psycopg `AsyncConnection` of its own and awaited, and the loop serves other
requests meanwhile. In a thread the batch kept waiting for the interpreter lock while the
loop parsed the next requests (about twice its round trip); here it costs the round trip.

Batches that must check before they insert (a request of several tickets, all or
nothing) still run in the batcher's thread on a pooled connection, in one transaction.
Everything else is as on the pooled path: the same statement and parameters, committed
before any request of the batch is answered, a driver error raised as SQLAlchemy's
(parameters hidden, so no ticket text reaches a log), and a connection the server dropped
replaced and the batch written once more (ids already stored come back as duplicates).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import psycopg
from sqlalchemy.exc import DBAPIError

from bot.intake_writer import POSTGRES_INSERT
from bot.store import IntakeResult, Store, intake_keys, intake_result
from bot.tickets import TicketIn

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 10


class AsyncIntake:
    """Writes batches of new tickets on one async connection, opened when first needed."""

    def __init__(self, store: Store) -> None:
        self._store = store
        url = store.engine.url.set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._connection: psycopg.AsyncConnection | None = None

    async def add_tickets(
        self, tickets: Sequence[TicketIn], source: str, actor: str = "intake"
    ) -> IntakeResult:
        """As `Store.add_tickets` without `connection`: stored and committed on return."""
        unique, keys = intake_keys(tickets)
        if not unique:
            return IntakeResult([], [])
        writer = self._store._intake_writer
        created = await self._insert(writer.postgres_params(unique.values(), keys, source, actor))
        skipped = writer.skipped(unique, keys, created)
        lookalikes = (
            await asyncio.to_thread(self._store.skipped_lookalikes, skipped) if skipped else {}
        )
        return intake_result(unique, created, lookalikes, source)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                await connection.close()

    async def _insert(self, params: dict) -> set[str]:
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
                raise self._as_sqlalchemy(exc, gone) from exc
        raise AssertionError("unreachable")

    async def _connect(self) -> psycopg.AsyncConnection:
        if self._connection is None or self._connection.closed:
            try:
                self._connection = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
                )
            except psycopg.Error as exc:
                raise self._as_sqlalchemy(exc, True) from exc
        return self._connection

    def _as_sqlalchemy(self, exc: psycopg.Error, gone: bool) -> DBAPIError:
        """The error as SQLAlchemy would raise it (what the 503 answer and retries expect)."""
        return DBAPIError.instance(
            None,
            None,
            exc,
            psycopg.Error,
            hide_parameters=True,
            dialect=self._store.engine.dialect,
            connection_invalidated=gone,
        )
