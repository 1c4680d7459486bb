"""The outbox guarantee: every post is stored before it is sent, retried until Slack accepts
it, paced per channel, Retry-After honoured, most urgent first, and resumed after a restart."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from bot.app import build_runtime
from bot.db import make_engine
from bot.models import OutboxStatus, utcnow
from bot.outbox import UPDATE_METHODS
from bot.service import PRIORITY_PRAISE, PRIORITY_URGENT
from bot.store import OutboxItem, Store
from bot.tickets import TicketIn
from tests.conftest import TRIAGE_CHANNEL, make_settings
from tests.reliability.conftest import StartBot
from tests.reliability.helpers import (
    eventually,
    post_signed,
    proposal_ticket,
    proposals_posted,
    tickets,
)

review_only = pytest.mark.policies(mode="suggest")


async def health(bot) -> tuple[int, dict]:
    async with bot.http.get(f"{bot.base_url}/healthz") as response:
        return response.status, await response.json()


async def health_while_retrying(bot, timeout: float = 20.0) -> tuple[int, dict]:
    """/healthz once it reports the delivery retrying (or, after `timeout`, as it is).

    Polled rather than slept for: on a loaded host classification can take longer than
    any guess, and a timeout is only seen one SLACK_TIMEOUT_SECONDS after the call.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status, report = await health(bot)
        if (
            report["delivery"]["state"] == "retrying"
            or asyncio.get_running_loop().time() > deadline
        ):
            return status, report
        await asyncio.sleep(0.1)


@review_only
async def test_rows_left_by_a_dead_process_are_sent_once_its_lease_runs_out(
    start_bot: StartBot, database_url, fake_slack, policies_dir
):
    # Process A stores and classifies five tickets, claims their posts, and dies unsent.
    settings = make_settings(
        database_url=database_url, slack_api_url=fake_slack.api_url, policies_dir=policies_dir
    )
    dead = build_runtime(settings)
    dead.service.intake([TicketIn.from_raw(t) for t in tickets(5)], "webhook")
    assert dead.service.process_new() == 5
    lease = 3.0
    claimed_at = time.monotonic()
    assert len(dead.store.claim_outbox(50, timedelta(seconds=lease))) == 5
    # When each lease runs out, by the store's clock (the wall clock: compared below with
    # the store's own times, so a clock step on the host moves both sides alike).
    leased_until = {m.id: m.next_attempt_at for m in dead.store.outbox_messages()}
    dead.engine.dispose()

    bot = await start_bot(outbox_lease_seconds=lease)
    await asyncio.sleep(max(0.0, claimed_at + lease / 2 - time.monotonic()))
    posted, now = proposals_posted(fake_slack), utcnow()
    if now < min(leased_until.values()):  # the leases still hold (a slow start may pass them)
        assert posted == {}, "a leased row was sent while its lease held"

    await fake_slack.wait_for(lambda s: len(proposals_posted(s)) == 5, timeout=15)
    assert set(proposals_posted(fake_slack).values()) == {1}
    await eventually(lambda: bot.runtime.store.outbox_counts() == {OutboxStatus.SENT.value: 5})
    sent = bot.runtime.store.outbox_messages()
    assert len(sent) == 5 and all(m.sent_at >= leased_until[m.id] for m in sent)


@review_only
async def test_slack_answering_500s_for_a_while_then_every_post_is_delivered(
    start_bot: StartBot,
):
    bot = await start_bot()
    bot.slack.outage()
    response = await post_signed(bot.http, bot.base_url, tickets(20))
    assert response.status == 202  # intake does not depend on Slack

    await bot.slack.wait_for(lambda s: any(not c.ok for c in s.calls), timeout=15)
    status, report = await health_while_retrying(bot)
    assert status == 200 and report["database"] == "ok"
    assert report["delivery"]["state"] == "retrying"
    assert "internal_error" in report["delivery"]["last_error"]
    assert report["slack"]["pending"] > 0
    bot.slack.recover()

    await bot.slack.wait_for(lambda s: len(proposals_posted(s)) == 20, timeout=20)
    assert set(proposals_posted(bot.slack).values()) == {1}
    await eventually(lambda: not bot.runtime.store.outbox_counts().get("pending"))
    status, report = await health(bot)
    assert report["delivery"]["state"] == "ok" and report["delivery"]["last_error"] is None
    assert report["slack"]["pending"] == 0


@review_only
async def test_slack_timing_out_for_a_while_then_every_post_is_delivered(start_bot: StartBot):
    bot = await start_bot(slack_timeout_seconds=1)
    bot.slack.hang(delay=2.0)  # answers later than the bot waits, then fails
    response = await post_signed(bot.http, bot.base_url, tickets(10))
    assert response.status == 202

    _, report = await health_while_retrying(bot)
    assert report["delivery"]["state"] == "retrying"
    assert "Timeout" in report["delivery"]["last_error"]
    bot.slack.recover()

    await bot.slack.wait_for(lambda s: len(proposals_posted(s)) == 10, timeout=25)
    assert set(proposals_posted(bot.slack).values()) == {1}
    await eventually(lambda: not bot.runtime.store.outbox_counts().get("pending"))


@review_only
async def test_429_retry_after_is_honoured_per_channel(start_bot: StartBot):
    bot = await start_bot()  # the bot's own pacing is off: Slack's 429s do the limiting
    bot.slack.rate_limit(per_second=1, burst=2, retry_after=1)
    await post_signed(bot.http, bot.base_url, tickets(6))

    await bot.slack.wait_for(lambda s: len(proposals_posted(s)) == 6, timeout=20)
    assert set(proposals_posted(bot.slack).values()) == {1}
    posts = bot.slack.of("chat.postMessage")
    limited = [c for c in posts if not c.ok]
    assert limited, "Slack never answered 429, so nothing was tested"
    for refused in limited:
        later = [c for c in posts if c.at > refused.at]
        assert later and later[0].at - refused.at >= 0.95, "retried before Retry-After ran out"


async def test_a_rate_limited_channel_does_not_hold_up_other_channels(start_bot: StartBot):
    bot = await start_bot()
    bot.slack.rate_limit(per_second=0.5, burst=1, retry_after=2, channels={"C0SLOW"})

    def item(channel: str, n: int) -> OutboxItem:
        return OutboxItem(
            dedupe_key=f"notice:{channel}:{n}",
            method="chat.postMessage",
            payload={"channel": channel, "text": f"notice {n}"},
            purpose="notice",
        )

    # The slow channel's posts are queued first and are just as urgent.
    queued = [item("C0SLOW", n) for n in range(3)] + [item("C0FAST", n) for n in range(5)]
    assert bot.runtime.store.enqueue(queued) == 8
    bot.runtime.worker.kick()

    await bot.slack.wait_for(
        lambda s: len(s.accepted("chat.postMessage", "C0SLOW")) == 3, timeout=15
    )
    slow = bot.slack.accepted("chat.postMessage", "C0SLOW")
    fast = bot.slack.accepted("chat.postMessage", "C0FAST")
    assert len(fast) == 5
    assert max(c.at for c in fast) < slow[1].at, "the fast channel waited for the slow one"
    assert slow[2].at - slow[0].at >= 3.5  # two Retry-After holds of 2 s each


@review_only
async def test_posting_is_paced_per_channel_under_slacks_limit(start_bot: StartBot):
    rate, burst = 20.0, 2
    bot = await start_bot(slack_channel_rate=rate, slack_channel_burst=burst)
    bot.slack.rate_limit(per_second=rate * 1.25, burst=burst + 1, retry_after=1)
    await post_signed(bot.http, bot.base_url, tickets(30))

    await bot.slack.wait_for(lambda s: len(proposals_posted(s)) == 30, timeout=15)
    posts = bot.slack.accepted("chat.postMessage", TRIAGE_CHANNEL)
    assert all(c.ok for c in bot.slack.of("chat.postMessage")), "the bot outran Slack's limit"
    times = sorted(c.at for c in posts)
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t - start < 0.5)
        assert in_window <= burst + rate * 0.5 + 1
    assert times[-1] - times[0] >= (30 - burst) / rate - 0.2


@review_only
async def test_a_burst_of_1000_is_posted_in_full_most_urgent_first(start_bot: StartBot):
    bot = await start_bot(slack_channel_rate=250, slack_channel_burst=5, outbox_batch=50)
    store = bot.runtime.store
    claims = watch_post_claims(store)
    burst = tickets(1000, prefix="B")
    burst.sort(key=lambda t: t["subject"] != "Thank you")  # the praise arrives first
    response = await post_signed(bot.http, bot.base_url, burst)
    assert response.status == 202

    await bot.slack.wait_for(lambda s: len(proposals_posted(s)) == 1000, timeout=60)
    assert set(proposals_posted(bot.slack).values()) == {1}

    await eventually(lambda: not store.outbox_counts().get("pending"))
    rows = [r for r in store.outbox_messages() if r.purpose == "proposal"]
    assert len(rows) == 1000 and all(r.status == OutboxStatus.SENT.value for r in rows)
    subjects = {t["id"]: t["subject"] for t in burst}
    for row in rows:  # no-go and angry tickets are urgent, praise is last
        if subjects[row.ticket_id] in ("Cancel my account", "Charged twice!!"):
            assert row.priority == PRIORITY_URGENT
        if subjects[row.ticket_id] == "Thank you":
            assert row.priority == PRIORITY_PRAISE
    # Each claim took the most urgent of the calls that were waiting when it ran, by the
    # store's own order (priority, then age), whatever the host's speed.
    arrival = {
        ticket: n
        for n, call in enumerate(bot.slack.accepted("chat.postMessage", TRIAGE_CHANNEL))
        if (ticket := proposal_ticket(call)) is not None
    }
    ticket_of = {r.id: r.ticket_id for r in rows}
    jumped = 0
    for waiting, taken in claims:
        left = waiting - taken
        if taken and left:
            assert min(left) > max(taken), "a claim left a more urgent waiting call behind"
            jumped += sum(1 for _, i in taken if any(j < i for _, j in left))
        # ...and its posts reached Slack in that order.
        order = [arrival[ticket_of[i]] for _, i in sorted(taken) if i in ticket_of]
        assert order == sorted(order), "a claim's posts reached Slack out of order"
    assert jumped >= 100, "too little was ever waiting to show an order"


def watch_post_claims(store: Store) -> list[tuple[set[tuple[int, int]], set[tuple[int, int]]]]:
    """Record, for each claim of the posting lane, the (priority, id) of the calls it could
    take that were due just before it ran, and of those it took. The lane claims one batch
    at a time, so nothing else takes a due call between the two reads."""
    claims: list[tuple[set[tuple[int, int]], set[tuple[int, int]]]] = []
    claim = store.claim_outbox

    def watched(limit, lease, exclude_channels=(), *, only_methods=None, skip_methods=()):
        lane = only_methods is None and set(skip_methods) == set(UPDATE_METHODS)
        excluded = set(exclude_channels)
        now = utcnow()
        waiting = {
            (r.priority, r.id)
            for r in store.outbox_messages()
            if lane
            and r.status == OutboxStatus.PENDING.value
            and r.next_attempt_at <= now
            and r.method not in UPDATE_METHODS
            and (r.payload.get("channel") or "") not in excluded
        }
        rows = claim(
            limit, lease, exclude_channels, only_methods=only_methods, skip_methods=skip_methods
        )
        if lane:
            claims.append((waiting, {(r.priority, r.id) for r in rows}))
        return rows

    store.claim_outbox = watched  # type: ignore[method-assign]
    return claims


def test_counts_of_chosen_states_leave_the_rest_of_the_history_out(database_url: str):
    # /healthz asks only for what waits or failed: its cost must not grow with every call
    # ever sent, and its figures must be those of the full count.
    engine = make_engine(database_url)
    try:
        store = Store(engine)
        store.enqueue(
            OutboxItem(f"count:{i}", "chat.postMessage", {"channel": TRIAGE_CHANNEL, "text": "x"})
            for i in range(6)
        )
        first, second, third, *_ = (row.id for row in store.outbox_messages())
        store.outbox_sent(first, TRIAGE_CHANNEL, "1.1")
        store.outbox_sent(second, TRIAGE_CHANNEL, "1.2")
        store.outbox_failed(third, "channel_not_found")

        assert store.outbox_counts() == {"pending": 3, "sent": 2, "failed": 1}
        chosen = store.outbox_counts((OutboxStatus.PENDING, OutboxStatus.FAILED))
        assert chosen == {"pending": 3, "failed": 1}
        assert store.outbox_counts((OutboxStatus.SUPERSEDED,)) == {}
    finally:
        engine.dispose()
