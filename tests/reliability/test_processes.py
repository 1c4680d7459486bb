"""Real `triage-bot serve` processes: three on one PostgreSQL post every ticket exactly once,
and `kill -9` in the middle of a burst loses nothing."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp

from bot.db import make_engine
from bot.models import OutboxStatus
from bot.store import Store
from tests.reliability.helpers import (
    ServeProcess,
    eventually,
    post_signed,
    proposals_posted,
    repeats_per_channel,
    serve_env,
    tickets,
    unmatched_deliveries,
)


async def test_three_serve_processes_on_one_postgresql_post_every_ticket_exactly_once(
    pg_url, fake_slack, policies_dir, tmp_path, serve_processes
):
    env = serve_env(pg_url, fake_slack, policies_dir, slack_channel_rate=0)
    for n in range(3):
        serve_processes.append(ServeProcess(f"serve-{n}", env, tmp_path / f"serve-{n}.log").start())
    distinct = tickets(250, prefix="M")
    # 300 requests, round-robin over the three processes: 250 tickets and 50 re-sends of
    # tickets already sent to another process.
    sends = distinct + distinct[:50]
    targets = itertools.cycle(serve_processes)
    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(p.wait_ready(http) for p in serve_processes))
        gate = asyncio.Semaphore(15)

        async def send(ticket: dict, process: ServeProcess) -> int:
            async with gate:
                return (await post_signed(http, process.base_url, ticket)).status

        statuses = await asyncio.gather(*(send(t, next(targets)) for t in sends))
    assert statuses.count(202) == 250 and statuses.count(200) == 50

    await fake_slack.wait_for(lambda s: len(proposals_posted(s)) == 250, timeout=60)
    store = Store(make_engine(pg_url))
    try:
        await eventually(lambda: not store.outbox_counts().get("pending"), timeout=30)
        # Each sent call was claimed once (a claim counts an attempt; Slack never failed
        # here): no process took a call another had, so no second send of any is still
        # on its way, and every send that counted was marked only after Slack had it.
        sent = [r.attempts for r in store.outbox_messages() if r.status == OutboxStatus.SENT]
        assert sent and set(sent) == {1}
        assert set(proposals_posted(fake_slack).values()) == {1}
        wrong, extra = unmatched_deliveries(store, fake_slack)
        assert wrong == [] and extra == [], "some post was not delivered exactly once"
        assert store.count_tickets() == 250
        assert sum(1 for _ in fake_slack.accepted("chat.postMessage")) == len(
            [r for r in store.outbox_messages() if r.method == "chat.postMessage"]
        )
        # Every ticket was classified once: one proposal and one "proposed" audit row each.
        proposed = [e.ticket_id for e in store.audit_events() if e.action == "proposed"]
        assert len(proposed) == len(set(proposed)) == 250
    finally:
        store.engine.dispose()
    for process in serve_processes:
        assert process.proc is not None and process.proc.poll() is None, process.log()


async def test_kill_9_in_the_middle_of_a_burst_then_restart_loses_nothing(
    database_url, fake_slack, policies_dir, tmp_path, serve_processes
):
    env = serve_env(
        database_url,
        fake_slack,
        policies_dir,
        slack_channel_rate=60,
        slack_channel_burst=1,
        outbox_lease_seconds=2,
    )
    first = ServeProcess("first", env, tmp_path / "first.log").start()
    serve_processes.append(first)
    burst = tickets(200, prefix="K")
    async with aiohttp.ClientSession() as http:
        await first.wait_ready(http)
        for start in range(0, len(burst), 50):
            response = await post_signed(http, first.base_url, burst[start : start + 50])
            assert response.status == 202
        await fake_slack.wait_for(lambda s: len(proposals_posted(s)) >= 30, timeout=30)
        first.kill9()
        at_kill = len(proposals_posted(fake_slack))
        assert at_kill < 200, "the burst was over before the kill; nothing was tested"

        second = ServeProcess("second", env, tmp_path / "second.log").start()
        serve_processes.append(second)
        await second.wait_ready(http)
        await fake_slack.wait_for(lambda s: len(proposals_posted(s)) == 200, timeout=40)

    store = Store(make_engine(database_url))
    try:
        # The one live process marks a call sent only once Slack has it: with nothing
        # pending, nothing of it is still on its way.
        await eventually(lambda: not store.outbox_counts().get("pending"), timeout=30)
        # Nothing lost: every stored ticket posted, every queued call delivered.
        assert store.count_tickets() == 200
        assert set(proposals_posted(fake_slack)) == {t["id"] for t in burst}
        assert store.outbox_counts().get("failed", 0) == 0
        # At most the one call per channel that was in flight at the kill is repeated.
        repeats = repeats_per_channel(fake_slack)
        assert all(n <= 1 for n in repeats.values()), repeats
    finally:
        store.engine.dispose()
