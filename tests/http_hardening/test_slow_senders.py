"""Slow senders hold no request slot, and header and body reads time out (end to end)."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import BotUnderTest
from tests.http_hardening.helpers import (
    close_all,
    eventually,
    open_slow_headers,
    open_slow_sender,
    unsigned_flood,
)
from tests.reliability.conftest import StartBot

OWNER = "U0SUPPLEAD"
GENEROUS = 30.0


def port_of(bot: BotUnderTest) -> int:
    return int(bot.base_url.rsplit(":", 1)[1])


async def health(bot: BotUnderTest) -> dict:
    async with bot.http.get(f"{bot.base_url}/healthz") as response:
        assert response.status == 200
        return await response.json()


async def test_slow_senders_hold_no_slot_and_a_signed_command_still_answers(
    start_bot: StartBot,
):
    # Two slots, four senders stuck in their bodies, two more stuck in their headers; the
    # read timeout is far longer than the test, so only slot handling decides the outcome.
    bot = await start_bot(max_concurrent_requests=2, request_read_timeout_seconds=120)
    port = port_of(bot)
    writers = []
    try:
        for path in ("/slack/events", "/tickets", "/slack/events", "/tickets"):
            writers.append((await open_slow_sender(port, path))[1])
        for _ in range(2):
            writers.append((await open_slow_headers(port))[1])
        guard = bot.runtime.http_guard
        await eventually(lambda: guard.reading == 4, what="four bodies being read")

        response = await asyncio.wait_for(
            bot.command("/triage-pause", "all maintenance", OWNER), GENEROUS
        )
        assert response.status == 200
        await bot.slack.wait_for(lambda s: s.responses, timeout=GENEROUS)
        assert bot.runtime.store.paused_names() == {"all"}

        report = await health(bot)
        assert report["database"] == "ok" and report["paused"] == ["all"]
        assert report["http"]["reading"] == 4
        assert report["http"]["in_flight"] == 0 and report["http"]["saturated"] is False
    finally:
        close_all(writers)


async def test_signed_command_succeeds_during_an_unsigned_flood_and_slow_senders(
    start_bot: StartBot,
):
    bot = await start_bot(max_concurrent_requests=4, request_read_timeout_seconds=120)
    port = port_of(bot)
    writers = [(await open_slow_sender(port))[1] for _ in range(8)]
    # ~245k form fields in 2 MB: what once cost Bolt's parser most of a second, unsigned.
    flood_body = b"&".join(b"a=%d" % i for i in range(245_000))[: 2 * 1024 * 1024]
    try:
        async with unsigned_flood(port, senders=4, body=flood_body, rounds=20) as statuses:
            await eventually(lambda: len(statuses) >= 4, what="the flood to be answered")
            response = await asyncio.wait_for(bot.command("/triage-status", "", OWNER), GENEROUS)
            assert response.status == 200
            await bot.slack.wait_for(lambda s: s.responses, timeout=GENEROUS)
        assert statuses and set(statuses) <= {401, 0}  # 0: a flood request cut at teardown
        assert 0 not in statuses[:4]
        assert bot.slack.responses[0]["text"].strip()  # the status answer reached the user
    finally:
        close_all(writers)


async def test_a_body_that_does_not_arrive_in_time_gets_408_and_the_connection_closes(
    start_bot: StartBot,
):
    bot = await start_bot(request_read_timeout_seconds=0.5)
    reader, writer = await open_slow_sender(port_of(bot), "/tickets")
    try:
        answer = await asyncio.wait_for(reader.read(), GENEROUS)  # until the server closes
    finally:
        close_all([writer])
    assert answer.startswith(b"HTTP/1.1 408")
    assert bot.runtime.http_guard.read_timeouts == 1
    assert bot.runtime.http_guard.reading == 0


async def test_headers_that_do_not_arrive_in_time_close_the_connection(start_bot: StartBot):
    bot = await start_bot(request_read_timeout_seconds=0.5)
    reader, writer = await open_slow_headers(port_of(bot))
    try:
        answer = await asyncio.wait_for(reader.read(), GENEROUS)
    finally:
        close_all([writer])
    assert answer == b""  # closed without a response: no request was ever handled
    assert bot.runtime.http_guard.header_timeouts == 1
    # An idle keep-alive connection is not a slow sender: a normal request works after it.
    assert (await health(bot))["database"] == "ok"


@pytest.mark.policies(mode="suggest")
async def test_healthz_reports_saturation_while_every_slot_is_busy(start_bot: StartBot):
    bot = await start_bot(max_concurrent_requests=1)
    release = asyncio.Event()
    batcher = bot.runtime.intake_batcher
    real_submit = batcher.submit

    async def held_submit(tickets):  # the store answers only when the test says so
        await release.wait()
        return await real_submit(tickets)

    batcher.submit = held_submit  # type: ignore[method-assign]
    first = asyncio.create_task(bot.post_tickets({"id": "SAT-1"}))
    second = asyncio.create_task(bot.post_tickets({"id": "SAT-2"}))
    try:
        guard = bot.runtime.http_guard
        await eventually(lambda: guard.in_flight == 1 and guard.waiting == 1, what="saturation")
        report = await health(bot)
        assert report["http"]["saturated"] is True
        assert report["http"]["in_flight"] == 1 and report["http"]["waiting"] == 1
        assert report["http"]["slots"] == 1
        assert report["database"] == "ok" and report["paused"] == []
    finally:
        release.set()
        responses = await asyncio.gather(first, second)
    assert [r.status for r in responses] == [202, 202]
    assert (await health(bot))["http"]["saturated"] is False
