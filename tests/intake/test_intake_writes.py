"""Intake's write path: what each ticket leaves in the store, look-alikes refused without a
look-up before the insert, and a connection the server dropped costing no request."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.db import make_engine, upgrade
from bot.intake.batcher import IntakeBatcher, Refused
from bot.intake_async import MAX_INLINE_TICKETS
from bot.models import TicketStatus
from bot.runtime import intake_batcher
from bot.store import Store
from bot.tickets import TicketIn
from tests.conftest import _postgres_url, postgres_schema


def ticket(ticket_id: str, **fields: object) -> TicketIn:
    return TicketIn.from_raw({"id": ticket_id, "body": "How do I export my data?", **fields})


@contextlib.asynccontextmanager
async def wired(store: Store) -> AsyncIterator[IntakeBatcher]:
    """The batcher wired as the running bot wires it (bot.runtime): on PostgreSQL, batches
    of one-ticket requests are written from the event loop."""
    batcher, on_loop = intake_batcher(
        store,
        lambda tickets, connection=None: store.add_tickets(
            tickets, source="webhook", connection=connection
        ),
    )
    try:
        yield batcher
    finally:
        if on_loop is not None:
            await on_loop.close()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = make_engine(database_url)
    yield Store(engine)
    engine.dispose()


def test_a_new_ticket_is_stored_whole_with_its_audit_row(store: Store):
    created = datetime(2026, 3, 1, 12, 30, 15, 250_000, tzinfo=UTC)
    incoming = ticket(
        "W-1",
        subject="Refund",
        requester="ana@example.com",
        url="https://help.example.com/t/1",
        created_at="2026-03-01T13:30:15.25+01:00",
    )
    result = store.add_tickets([incoming, ticket("W-2")], source="webhook")
    assert result.new_ids == ["W-1", "W-2"] and result.duplicate_ids == []

    stored = store.get_ticket("W-1")
    assert stored is not None
    assert (stored.subject, stored.body, stored.requester, stored.url) == (
        "Refund",
        "How do I export my data?",
        "ana@example.com",
        "https://help.example.com/t/1",
    )
    assert stored.created_at == created and stored.created_at.tzinfo is not None
    assert stored.id_key == "W-1" and stored.source == "webhook"
    assert stored.status == TicketStatus.NEW.value and stored.page_level == 0
    assert stored.time_suspect is False and stored.received_at.tzinfo is not None
    assert store.get_ticket("W-2").created_at is None  # type: ignore[union-attr]

    events = store.audit_events(ticket_id="W-1")
    assert [(e.action, e.actor, e.detail) for e in events] == [
        ("ticket_received", "intake", {"source": "webhook"})
    ]
    assert events[0].at == stored.received_at

    again = store.add_tickets([ticket("W-1"), ticket("W-3")], source="webhook")
    assert again.new_ids == ["W-3"] and again.duplicate_ids == ["W-1"]
    assert len(store.audit_events(ticket_id="W-1")) == 1  # a repeat writes no second row


async def test_a_lone_lookalike_of_a_stored_ticket_is_refused_and_one_of_a_twin_in_the_same_batch_is_reported(
    store: Store,
):
    async with wired(store) as batcher:
        assert (await batcher.submit([ticket("ZW-7")])).new_ids == ["ZW-7"]

        # Stored before: refused outright, as the look-up before the insert used to refuse it.
        with pytest.raises(Refused) as refused:
            await batcher.submit([ticket("ZW-7\u200b")])
        assert refused.value.problems[0]["index"] == 0
        assert "'ZW-7'" in str(refused.value.problems[0]["error"])

        # Twins in one batch (both queued before it is written): the first is stored, the
        # second answered beside it as refused.
        first, second = await asyncio.gather(
            batcher.submit([ticket("RX-1")]), batcher.submit([ticket("RX-1\u2060")])
        )
        assert first.new_ids == ["RX-1"]
        assert second.new_ids == [] and second.lookalikes == {"RX-1\u2060": "RX-1"}
        assert store.get_ticket("ZW-7\u200b") is None and store.get_ticket("RX-1\u2060") is None
        assert store.count_tickets() == 2


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_schema("w") as url:
        yield url


def terminate_backends(url: str) -> int:
    """End every server connection of this test's schema (its application_name)."""
    admin = create_engine(_postgres_url() or "")
    try:
        with admin.begin() as connection:
            return connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": make_url(url).query["application_name"]},
            ).scalar_one()
    finally:
        admin.dispose()


async def test_a_batch_on_a_connection_the_server_dropped_is_written_on_a_fresh_one(pg_url: str):
    engine = make_engine(pg_url, idle_ping_seconds=3600)  # never pinged: the repeat is what helps
    try:
        store = Store(engine)
        async with wired(store) as batcher:
            assert (await batcher.submit([ticket("P-1")])).new_ids == ["P-1"]  # on the loop
            assert (await batcher.submit([ticket("P-2"), ticket("P-3")])).new_ids == [
                "P-2",
                "P-3",
            ]  # checked first, in a transaction on a pooled connection
            assert terminate_backends(pg_url) >= 2  # the loop's connection and the pool's

            assert (await batcher.submit([ticket("P-4")])).new_ids == ["P-4"]
            assert terminate_backends(pg_url) >= 1
            several = await batcher.submit([ticket("P-5"), ticket("P-1")])
            assert several.new_ids == ["P-5"] and several.duplicate_ids == ["P-1"]
            assert (await batcher.submit([ticket("P-1")])).duplicate_ids == ["P-1"]
        assert store.count_tickets() == 5
        assert [e.action for e in store.audit_events(ticket_id="P-4")] == ["ticket_received"]
    finally:
        engine.dispose()


async def test_one_ticket_requests_on_postgresql_are_written_from_the_event_loop(pg_url: str):
    engine = make_engine(pg_url)
    try:
        store = Store(engine)
        batcher, on_loop = intake_batcher(store, store.add_tickets)
        assert on_loop is not None
        results = await asyncio.gather(*(batcher.submit([ticket(f"L-{n}")]) for n in range(6)))
        assert [r.new_ids for r in results] == [[f"L-{n}"] for n in range(6)]
        await on_loop.close()
        stored = store.get_ticket("L-3")
        assert stored is not None and stored.body == "How do I export my data?"
        assert [e.action for e in store.audit_events(ticket_id="L-3")] == ["ticket_received"]
    finally:
        engine.dispose()


async def test_an_unreachable_server_is_the_stores_error_and_stores_nothing(pg_url: str):
    closed = socket.socket()  # bound, never listening: connections to it are refused
    closed.bind(("127.0.0.1", 0))
    url = make_url(pg_url).set(host="127.0.0.1", port=closed.getsockname()[1])
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        store = Store(engine)
        batcher, on_loop = intake_batcher(store, store.add_tickets)
        with pytest.raises(DBAPIError) as raised:
            await batcher.submit([ticket("U-1", body="my card 4111 1111 1111 1111")])
        assert raised.value.connection_invalidated and "4111" not in str(raised.value)
        assert on_loop is not None
        await on_loop.close()
    finally:
        engine.dispose()
        closed.close()


def test_an_idle_pooled_connection_the_server_dropped_is_replaced_before_use(pg_url: str):
    engine = make_engine(pg_url, idle_ping_seconds=0)  # every checked-in connection is idle
    try:
        with engine.connect() as connection:
            before = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert terminate_backends(pg_url) == 1
        with engine.connect() as connection:  # pinged at checkout, found dead, replaced
            after = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert after != before
    finally:
        engine.dispose()


def test_a_failed_write_stores_nothing_and_raises_the_stores_error_without_ticket_text(
    store: Store,
):
    with store.engine.begin() as connection:  # the audit insert, the batch's last step, fails
        connection.execute(text("DROP TABLE audit_events"))
    secret = "card 4111 1111 1111 1111 expires soon"
    with pytest.raises(DBAPIError) as raised:
        store.add_tickets([ticket("F-1", body=secret), ticket("F-2")], source="webhook")
    assert "audit_events" in str(raised.value)
    assert secret not in str(raised.value) and "F-1" not in str(raised.value)
    assert store.count_tickets() == 0  # the tickets' insert was rolled back with it
    with store.engine.connect() as connection:  # the pooled connection is usable again
        assert connection.execute(text("SELECT count(*) FROM tickets")).scalar_one() == 0


def test_a_connection_pinged_at_checkout_still_writes_in_autocommit(pg_url: str):
    engine = make_engine(pg_url, idle_ping_seconds=0)  # pinged at every checkout
    try:
        store = Store(engine)
        for n in range(3):
            assert store.add_tickets([ticket(f"A-{n}")], source="webhook").new_ids == [f"A-{n}"]
        with engine.connect() as connection:  # handed back as the pool expects: in a transaction
            assert connection.execute(text("SELECT count(*) FROM tickets")).scalar_one() == 3
            assert not connection.connection.driver_connection.autocommit
    finally:
        engine.dispose()


def sqlite_store(tmp_path: Path) -> Store:
    url = f"sqlite:///{tmp_path / 'inline.db'}"
    upgrade(url)
    return Store(make_engine(url))


async def test_on_sqlite_a_batch_waits_in_the_thread_while_another_writer_holds_the_lock(
    tmp_path: Path,
):
    store = sqlite_store(tmp_path)
    other = sqlite3.connect(tmp_path / "inline.db", isolation_level=None)
    try:
        async with wired(store) as batcher:
            assert (await batcher.submit([ticket("S-1")])).new_ids == ["S-1"]  # lock free
            other.execute("BEGIN IMMEDIATE")  # another writer: a click, the worker, a CLI
            waiting = asyncio.create_task(batcher.submit([ticket("S-2")]))
            ticks = 0
            for _ in range(20):  # the loop is not blocked while the batch waits for the lock
                await asyncio.sleep(0.01)
                ticks += 1
            assert not waiting.done() and ticks == 20
            other.execute("COMMIT")
            assert (await asyncio.wait_for(waiting, 30)).new_ids == ["S-2"]
            assert (await batcher.submit([ticket("S-2")])).duplicate_ids == ["S-2"]
        assert store.count_tickets() == 2
        assert [e.action for e in store.audit_events(ticket_id="S-2")] == ["ticket_received"]
    finally:
        other.close()
        store.engine.dispose()


async def test_on_sqlite_a_failed_inline_write_stores_nothing_and_the_next_batch_works(
    tmp_path: Path,
):
    store = sqlite_store(tmp_path)
    try:
        async with wired(store) as batcher:
            with store.engine.begin() as connection:
                connection.execute(text("ALTER TABLE audit_events RENAME TO audit_gone"))
            with pytest.raises(DBAPIError) as raised:
                await batcher.submit([ticket("E-1", body="my card 4111 1111 1111 1111")])
            assert "audit_events" in str(raised.value) and "4111" not in str(raised.value)
            assert store.count_tickets() == 0
            with store.engine.begin() as connection:
                connection.execute(text("ALTER TABLE audit_gone RENAME TO audit_events"))
            assert (await batcher.submit([ticket("E-2")])).new_ids == ["E-2"]
        assert store.count_tickets() == 1
    finally:
        store.engine.dispose()


async def test_on_sqlite_a_batch_too_large_for_the_loop_is_written_whole_in_the_thread(
    tmp_path: Path,
):
    store = sqlite_store(tmp_path)
    try:
        _, on_loop = intake_batcher(store, store.add_tickets)
        assert on_loop is not None
        many = [ticket(f"M-{n:03d}") for n in range(MAX_INLINE_TICKETS + 6)]
        result = await on_loop.add_tickets([*many, many[0]], source="webhook")
        assert result.new_ids == [t.id for t in many] and result.duplicate_ids == []
        assert store.count_tickets() == len(many)
        await on_loop.close()
    finally:
        store.engine.dispose()
