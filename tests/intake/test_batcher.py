"""Group commit: concurrent intake requests share transactions, each told exactly what was new."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.db import make_engine
from bot.intake.batcher import IntakeBatcher
from bot.store import Store
from bot.tickets import TicketIn
from tests.conftest import BotUnderTest


def tickets(*ids: str) -> list[TicketIn]:
    return [TicketIn.from_raw({"id": i, "body": "How do I export my data?"}) for i in ids]


async def test_concurrent_requests_share_commits_and_each_learns_its_own_new_ids(database_url: str):
    engine = make_engine(database_url)
    store = Store(engine)
    calls: list[int] = []

    def counted(batch):
        calls.append(len(batch))
        return store.add_tickets(batch, source="webhook")

    batcher = IntakeBatcher(counted)
    requests = [tickets(f"t{i}") for i in range(40)] + [tickets("t0", "t1"), tickets("t1", "new")]
    results = await asyncio.gather(*(batcher.submit(r) for r in requests))
    engine.dispose()

    assert len(calls) < len(requests)  # commits were shared
    stored = [i for r in results for i in r.new_ids]
    assert sorted(stored) == sorted([f"t{i}" for i in range(40)] + ["new"])  # each stored once
    assert results[40].new_ids == [] and results[40].duplicate_ids == ["t0", "t1"]
    assert results[41].new_ids == ["new"] and results[41].duplicate_ids == ["t1"]
    assert store.count_tickets() == 41


async def test_a_store_failure_reaches_every_waiting_request():
    def broken(_batch):
        raise RuntimeError("database is down")

    batcher = IntakeBatcher(broken)
    outcomes = await asyncio.gather(
        *(batcher.submit(tickets(f"x{i}")) for i in range(5)), return_exceptions=True
    )
    assert all(isinstance(o, RuntimeError) for o in outcomes)


@pytest.mark.policies(mode="suggest")
async def test_a_burst_of_one_ticket_requests_is_stored_and_posted_once_each(bot: BotUnderTest):
    ids = [f"burst-{i}" for i in range(30)] + ["burst-0", "burst-1"]
    responses = await asyncio.gather(
        *(bot.post_tickets({"id": i, "body": "Where is my invoice?"}) for i in ids)
    )
    answers = [(r.status, json.loads(await r.text())) for r in responses]
    assert sorted(i for _, a in answers for i in a["stored"]) == sorted(set(ids))
    assert sum(len(a["duplicates"]) for _, a in answers) == 2
    assert bot.runtime.store.count_tickets() == 30
