"""Group commit and the click lane: shared transactions, yet each caller gets its own answer."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.db import make_engine
from bot.group_commit import GroupCommit, SerialLane
from bot.models import OutboxStatus
from bot.store import OutboxItem, Store


@pytest.fixture
def store(database_url: str):
    engine = make_engine(database_url)
    yield Store(engine)
    engine.dispose()


def test_a_signature_is_new_once_within_a_batch_and_across_batches(store: Store):
    assert store.first_slack_requests([("v0=a", 1), ("v0=b", 1), ("v0=a", 1)]) == [
        True,
        True,
        False,  # the same request twice in one batch: the second is a replay
    ]
    assert store.first_slack_requests([("v0=a", 1), ("v0=c", 2)]) == [False, True]
    assert store.first_slack_request("v0=c", 2) is False
    assert store.first_slack_request("v0=d", 2) is True


async def test_concurrent_signatures_share_commits_and_a_replay_is_refused(store: Store):
    batches: list[int] = []

    def write(items):
        batches.append(len(items))
        return store.first_slack_requests(items)

    seen = GroupCommit(write)
    answers = await asyncio.gather(
        *(seen.submit((f"v0={i}", 1)) for i in range(60)), seen.submit(("v0=7", 1))
    )
    assert answers == [True] * 60 + [False]
    assert sum(batches) == 61 and len(batches) < 61  # transactions were shared


async def test_a_failed_write_fails_each_of_its_callers_and_the_next_batch_runs():
    calls = 0

    def write(items):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("store down")
        return [item * 2 for item in items]

    group = GroupCommit(write)
    first = await asyncio.gather(*(group.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(answer, RuntimeError) for answer in first)
    assert await asyncio.gather(*(group.submit(i) for i in range(3))) == [0, 2, 4]


async def test_the_click_lane_decides_in_arrival_order_and_isolates_a_failing_click():
    order: list[int] = []

    def click(i: int) -> int:
        order.append(i)
        if i == 5:
            raise ValueError("this click failed")
        return i

    lane = SerialLane(per_hop=4)
    answers = await asyncio.gather(
        *(lane.run(lambda i=i: click(i)) for i in range(12)), return_exceptions=True
    )
    assert order == list(range(12))  # first come, first decided
    assert isinstance(answers[5], ValueError)
    assert [a for i, a in enumerate(answers) if i != 5] == [i for i in range(12) if i != 5]


def test_marks_of_several_accepted_calls_in_one_transaction(store: Store):
    store.enqueue(
        [
            OutboxItem(
                dedupe_key=f"update:{i}",
                method="chat.update",
                payload={
                    "channel": "C1",
                    "ts": f"1.{i}",
                    "blocks": [{"type": "actions", "block_id": f"triage:T{i}", "elements": []}],
                },
                purpose="update",
            )
            for i in range(3)
        ]
    )
    rows = store.claim_outbox(10, timedelta(seconds=60))
    assert len(rows) == 3
    store.outbox_sent_many([(row.id, "C1", f"1.{i}") for i, row in enumerate(rows)])
    messages = {m.dedupe_key: m for m in store.outbox_messages()}
    assert {m.status for m in messages.values()} == {OutboxStatus.SENT.value}
    assert [messages[f"update:{i}"].result_ts for i in range(3)] == ["1.0", "1.1", "1.2"]
    assert store.shows_control("C1", "1.2", "triage:T2")  # controls recorded with the mark
