"""Posting the digest over real HTTP to the fake Slack Web API: Block Kit summary that leads
with the outcome, the chart through the files upload API, exactly once per day across
processes, and a missed digest posted when the bot is back."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED

from bot.app import build_runtime
from bot.digest.job import DigestService, due_posting_date, run_key
from bot.models import JobRun, Ticket
from bot.scheduler import build_scheduler
from bot.store import Store
from bot.tickets import TicketIn
from tests.conftest import make_settings
from tests.digest.seed import D, seed
from tests.fakes.slack_api import FakeSlack

DIGEST_CHANNEL = "C0MANAGERS"
POSTED_AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)  # after 09:00 on D+1


def digest_posts(slack: FakeSlack) -> list:
    return [
        c
        for c in slack.of("chat.postMessage")
        if c.params.get("channel") == DIGEST_CHANNEL
        and c.params.get("text", "").startswith("Triage digest")
    ]


async def eventually(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def service_for(database_url: str, fake_slack: FakeSlack, policies_dir: Path, **overrides):
    settings = make_settings(
        database_url=database_url,
        slack_api_url=fake_slack.api_url,
        policies_dir=policies_dir,
        digest_channel=DIGEST_CHANNEL,
        **overrides,
    )
    runtime = build_runtime(settings)
    service = DigestService(
        runtime.store, settings, runtime.client, sorted(runtime.policies.policies)
    )
    return runtime, service


def first_ticket(store: Store, received_at: datetime) -> None:
    """The scheduled digest starts with the first day that had a ticket; give it one."""
    store.add_tickets([TicketIn(id="first", subject="s", body="b")], source="test")
    with store.session() as session:
        ticket = session.get(Ticket, "first")
        ticket.received_at = received_at
        session.add(ticket)
        session.commit()


def run_row(store: Store, key: str) -> JobRun | None:
    with store.session() as session:
        return session.get(JobRun, key)


async def test_digest_leads_with_the_outcome_and_uploads_the_chart(
    database_url: str, fake_slack: FakeSlack, policies_dir: Path
):
    runtime, service = service_for(database_url, fake_slack, policies_dir)
    try:
        seed(runtime.store)
        result = await service.run_due(now=POSTED_AT)
    finally:
        await runtime.close()
    assert result is not None and result.channel == DIGEST_CHANNEL
    [post] = digest_posts(fake_slack)
    blocks = post.params["blocks"]
    assert blocks[0]["type"] == "header" and "Thu 26 Nov 2026" in blocks[0]["text"]["text"]
    lead = blocks[1]["text"]["text"]
    # first response: 6.5 h vs 15 h baseline → −57%; route p50 3 vs 5 min → −40%
    assert lead.startswith("*First response \u221257% vs baseline")
    assert "time to route \u221240% vs previous 7 days" in lead
    assert "50% automated at 75.0% precision" in lead and "8 tickets" in lead
    attention = blocks[2]["text"]["text"]
    assert attention.startswith("*Needs attention*")
    assert "`billing` precision fell to 66.7% from 100.0%" in attention
    assert "3 SLA breach page(s) for 2 ticket(s)" in attention
    assert "#T7" in attention and "in review" in attention
    assert "`bug` precision" not in attention
    assert any(
        "95% CI" in e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]
    )
    assert len(blocks) <= 50

    # The chart went through files.getUploadURLExternal → upload URL → completeUploadExternal.
    [url_call] = fake_slack.of("files.getUploadURLExternal")
    [upload] = fake_slack.uploads
    [complete] = fake_slack.of("files.completeUploadExternal")
    assert upload.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert int(url_call.params["length"]) == len(upload.data)
    assert upload.file_id == json.loads(complete.params["files"])[0]["id"] == result.file_id
    assert complete.params["channel_id"] == DIGEST_CHANNEL
    assert run_row(runtime.store, run_key(D + timedelta(days=1))).finished_at is not None


async def test_two_schedulers_on_one_database_post_one_digest_a_day(
    database_url: str, fake_slack: FakeSlack, policies_dir: Path
):
    """Two bot processes' schedulers fire the digest job at the same moment: one post."""
    settings = make_settings(
        database_url=database_url,
        slack_api_url=fake_slack.api_url,
        policies_dir=policies_dir,
        digest_channel=DIGEST_CHANNEL,
        digest_time="00:00",  # always passed: the job posts today's digest when it fires
    )
    runtimes = [build_runtime(settings), build_runtime(settings)]
    schedulers = [build_scheduler(rt) for rt in runtimes]
    today = datetime.now(UTC).date()
    first_ticket(runtimes[0].store, datetime.now(UTC) - timedelta(days=2))
    # Each run of the job, per scheduler: the test waits for the runs themselves, not for
    # a while. A generous misfire grace, so that a slow host runs each firing late rather
    # than skipping it (APScheduler skips a job more than a second late by default).
    ran: list[tuple[int, int]] = []
    for index, scheduler in enumerate(schedulers):
        scheduler.add_listener(
            lambda event, index=index: ran.append((index, event.code)),
            EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED,
        )

    async def fire_both() -> None:
        before = len(ran)
        fire_at = datetime.now(UTC) + timedelta(seconds=0.3)
        for scheduler in schedulers:
            scheduler.modify_job("daily_digest", next_run_time=fire_at, misfire_grace_time=60)
        await eventually(lambda: len(ran) >= before + 2)
        assert sorted(ran[before:]) == [(0, EVENT_JOB_EXECUTED), (1, EVENT_JOB_EXECUTED)]

    try:
        for scheduler in schedulers:
            scheduler.start()
        await fire_both()
        row = run_row(runtimes[0].store, run_key(today))
        assert row is not None and row.finished_at is not None
        assert len(fake_slack.uploads) == 1
        await fire_both()  # as the next minute's ticks would: still one post
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=False)
        for rt in runtimes:
            await rt.close()
    assert len(digest_posts(fake_slack)) == 1
    assert len(fake_slack.uploads) == 1
    assert len(fake_slack.of("files.completeUploadExternal")) == 1


async def test_racing_ticks_in_two_processes_post_once(
    database_url: str, fake_slack: FakeSlack, policies_dir: Path
):
    first, a = service_for(database_url, fake_slack, policies_dir)
    second, b = service_for(database_url, fake_slack, policies_dir)
    first_ticket(first.store, POSTED_AT - timedelta(days=3))
    try:
        results = await asyncio.gather(*(s.run_due(now=POSTED_AT) for s in (a, b, a, b)))
    finally:
        await first.close()
        await second.close()
    assert sum(r is not None for r in results) == 1
    assert len(digest_posts(fake_slack)) == 1


async def test_a_digest_missed_during_downtime_is_posted_when_the_bot_is_back(
    database_url: str, fake_slack: FakeSlack, policies_dir: Path
):
    runtime, service = service_for(database_url, fake_slack, policies_dir)
    try:
        seed(runtime.store)
        # Down from before 09:00 on D+1 until 07:00 on D+2: D+1's digest never went out.
        back = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
        result = await service.run_due(now=back)
        assert result is not None
        [post] = digest_posts(fake_slack)
        assert "Thu 26 Nov 2026" in post.params["blocks"][0]["text"]["text"]
        assert await service.run_due(now=back + timedelta(minutes=1)) is None
        # At 09:00 on D+2 the regular digest (about D+1) follows, once.
        assert await service.run_due(now=datetime(2026, 11, 28, 9, 0, tzinfo=UTC)) is not None
        assert await service.run_due(now=datetime(2026, 11, 28, 9, 1, tzinfo=UTC)) is None
    finally:
        await runtime.close()
    posts = digest_posts(fake_slack)
    assert [p.params["blocks"][0]["text"]["text"][-11:] for p in posts] == [
        "26 Nov 2026",
        "27 Nov 2026",
    ]


async def test_a_failed_post_releases_the_day_so_the_next_tick_retries(
    database_url: str, fake_slack: FakeSlack, policies_dir: Path
):
    runtime, service = service_for(database_url, fake_slack, policies_dir)
    first_ticket(runtime.store, POSTED_AT - timedelta(days=3))
    try:
        fake_slack.fail_next("chat.postMessage", body={"ok": False, "error": "fatal_error"})
        with pytest.raises(Exception, match="fatal_error"):
            await service.run_due(now=POSTED_AT)
        assert run_row(runtime.store, run_key(D + timedelta(days=1))) is None
        assert await service.run_due(now=POSTED_AT + timedelta(minutes=1)) is not None
    finally:
        await runtime.close()
    assert len(digest_posts(fake_slack)) == 2  # the refused attempt, then the one Slack took
    assert len(fake_slack.uploads) == 1


async def test_a_failed_chart_upload_does_not_repost_the_summary(
    database_url: str, fake_slack: FakeSlack, policies_dir: Path
):
    runtime, service = service_for(database_url, fake_slack, policies_dir)
    first_ticket(runtime.store, POSTED_AT - timedelta(days=3))
    try:
        fake_slack.fail_next("files.getUploadURLExternal", body={"ok": False, "error": "fatal"})
        result = await service.run_due(now=POSTED_AT)
        assert result is not None and result.file_id is None
        assert await service.run_due(now=POSTED_AT + timedelta(minutes=1)) is None
    finally:
        await runtime.close()
    assert len(digest_posts(fake_slack)) == 1 and not fake_slack.uploads


def test_due_posting_date_follows_digest_time_in_the_timezone():
    tz = ZoneInfo("America/New_York")
    # 13:59 UTC is 08:59 in New York (EST): the 09:00 slot has not come, yesterday's is due.
    assert str(due_posting_date(datetime(2026, 11, 27, 13, 59, tzinfo=UTC), "09:00", tz)) == (
        "2026-11-26"
    )
    assert str(due_posting_date(datetime(2026, 11, 27, 14, 0, tzinfo=UTC), "09:00", tz)) == (
        "2026-11-27"
    )


async def test_no_digest_for_days_before_the_first_ticket(
    database_url: str, fake_slack: FakeSlack, policies_dir: Path
):
    """A fresh install posts no "No tickets on …" digest a minute after its first start."""
    runtime, service = service_for(database_url, fake_slack, policies_dir)
    try:
        assert await service.run_due(now=POSTED_AT) is None  # no ticket at all yet
        # The first ticket arrives on the posting day: the report day (the day before) had none.
        first_ticket(runtime.store, POSTED_AT - timedelta(minutes=20))
        assert await service.run_due(now=POSTED_AT) is None
        assert digest_posts(fake_slack) == []
        # The next day's digest reports the day that had the ticket: posted.
        assert await service.run_due(now=POSTED_AT + timedelta(days=1)) is not None
    finally:
        await runtime.close()
    assert len(digest_posts(fake_slack)) == 1
