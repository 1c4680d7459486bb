"""A click's chat.update never waits behind a backlog of proposals.

Posting is paced per channel (about one a second); chat.update has its own lane and its
own rate bucket. With proposals still queued for the triage channel, a click's update
reaches Slack before the remaining proposals do. Real HTTP both ways: signed requests
into the bot, a local Slack Web API server out of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import build_runtime, running
from bot.outbox import UPDATE_BUCKET, OutboxDispatcher
from bot.pacing import ChannelPacer
from tests.conftest import TRIAGE_CHANNEL, BotUnderTest, make_settings
from tests.fakes.slack_api import FakeSlack

AGENT = "U0AGENT01"
BACKLOG = 12


@pytest.fixture
async def paced_bot(
    database_url: str, fake_slack: FakeSlack, policies_dir: Path
) -> AsyncIterator[BotUnderTest]:
    settings = make_settings(
        database_url=database_url,
        slack_api_url=fake_slack.api_url,
        policies_dir=policies_dir,
        slack_channel_rate=2.0,  # proposals trickle out: the backlog outlives the click
        slack_channel_burst=1,
    )
    runtime = build_runtime(settings)
    async with running(runtime, "127.0.0.1", 0) as port, aiohttp.ClientSession() as http:
        yield BotUnderTest(runtime, f"http://127.0.0.1:{port}", fake_slack, http)


def _proposals(bot: BotUnderTest) -> list:
    return [
        call
        for call in bot.posts_to(TRIAGE_CHANNEL)
        if any(str(b.get("block_id", "")).startswith("triage:") for b in call.params["blocks"])
    ]


@pytest.mark.policies(mode="suggest")
async def test_a_clicks_update_goes_out_before_the_queued_proposals(paced_bot: BotUnderTest):
    bot = paced_bot
    await bot.post_tickets({"id": "first", "subject": "Invoice", "body": "charged twice"})
    await bot.slack.wait_for(lambda s: bot.proposal_for("first") is not None, timeout=60)

    backlog = [
        {"id": f"b{n}", "subject": "Invoice question", "body": f"wrong amount on bill {n}"}
        for n in range(BACKLOG)
    ]
    assert (await bot.post_tickets(backlog)).status == 202
    # The backlog is classified and queued; proposals leave at the channel's pace...
    await bot.slack.wait_for(lambda s: len(_proposals(bot)) >= 2, timeout=60)
    # ...until the triage channel is held, as a Slack Retry-After would hold it. Nothing
    # more can be posted there: whatever is still queued stays queued.
    bot.runtime.dispatcher.pacer.hold(TRIAGE_CHANNEL, 3600)
    posted = len(_proposals(bot))

    click = await bot.click("triage_approve", "first", AGENT, "1700000000.000001")
    assert click.status == 200
    await bot.slack.wait_for(lambda s: len(s.of("chat.update")) == 1, timeout=60)
    update = bot.slack.of("chat.update")[0]
    assert update.params["channel"] == TRIAGE_CHANNEL and update.params["ts"]
    assert "Approved" in str(update.params["blocks"])

    # The update went out; the proposals queued before the click are still waiting.
    assert len(_proposals(bot)) <= posted + 1  # at most the one that was in flight
    still_queued = bot.runtime.store.outbox_counts().get("pending", 0)
    assert still_queued >= BACKLOG + 1 - posted - 1 > 0


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_updates_spend_their_own_bucket_not_the_channels():
    clock = Clock()
    posts = ChannelPacer(rate=1.0, burst=1, clock=clock)
    updates = ChannelPacer(rate=50 / 60, burst=10, clock=clock)
    dispatcher = OutboxDispatcher(store=None, client=None, pacer=posts, update_pacer=updates)  # type: ignore[arg-type]
    assert posts.try_take(TRIAGE_CHANNEL) and posts.wait_for(TRIAGE_CHANNEL) > 0
    assert dispatcher._pacer(UPDATE_BUCKET) is updates
    assert updates.wait_for(UPDATE_BUCKET) == 0  # the channel is paced; updates are not
    assert [updates.try_take(UPDATE_BUCKET) for _ in range(11)] == [True] * 10 + [False]
    assert 1.1 < updates.wait_for(UPDATE_BUCKET) <= 1.2  # then about 50 a minute
    assert dispatcher.next_wake("updates") is not None and dispatcher.next_wake("posts") is not None
