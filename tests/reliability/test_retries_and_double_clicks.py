"""Slack's event retries are handled once; the same click twice (even at once) is one decision."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from tests.conftest import SIGNING_SECRET, TRIAGE_CHANNEL, BotUnderTest
from tests.fakes.slack_requests import block_action, signed_headers
from tests.reliability.helpers import eventually

review_only = pytest.mark.policies(mode="suggest")
AGENT = "U0AGENT01"


def event_callback(event_id: str, text: str = "<@U0BOT> hello") -> str:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T0TEST",
            "api_app_id": "A0TEST",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {
                "type": "app_mention",
                "user": AGENT,
                "text": text,
                "ts": "1700000000.000100",
                "channel": TRIAGE_CHANNEL,
                "event_ts": "1700000000.000100",
            },
        }
    )


async def send_event(bot: BotUnderTest, body: str, retry: int | None) -> tuple[int, dict[str, str]]:
    headers = signed_headers(SIGNING_SECRET, body)
    headers["Content-Type"] = "application/json"
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    response = await bot.slack_post(body, headers)
    await response.read()
    return response.status, {k.lower(): v for k, v in response.headers.items()}


def count_mentions(bot: BotUnderTest) -> list[dict[str, Any]]:
    """A listener on the real app that records each event it is given."""
    seen: list[dict[str, Any]] = []

    @bot.runtime.bolt.event("app_mention")
    async def on_mention(event: dict[str, Any]) -> None:
        seen.append(event)

    return seen


def texts(seen: list[dict[str, Any]]) -> list[str]:
    return [event["text"] for event in seen]


async def handled_after(bot: BotUnderTest, seen: list[dict[str, Any]], event_id: str) -> None:
    """Send another event once the ones before it were answered, and wait until it is
    handled: an earlier request that had (wrongly) been dispatched was dispatched first,
    so it has been handled by then, on any host, with no guess at how long that takes."""
    text = f"<@U0BOT> {event_id}"
    assert (await send_event(bot, event_callback(event_id, text), retry=None))[0] == 200
    await eventually(lambda: text in texts(seen))


async def test_an_event_and_its_retries_are_processed_once(bot: BotUnderTest):
    seen = count_mentions(bot)
    body = event_callback("Ev0RETRY1")
    status, _ = await send_event(bot, body, retry=None)
    assert status == 200
    for retry in (1, 2, 3):
        status, headers = await send_event(bot, body, retry=retry)
        assert status == 200
        assert headers.get("x-slack-no-retry") == "1"  # Slack stops retrying it
    await handled_after(bot, seen, "Ev0OTHER2")  # a different event is still handled
    assert texts(seen) == ["<@U0BOT> hello", "<@U0BOT> Ev0OTHER2"]


async def test_an_event_and_its_retries_arriving_together_are_processed_once(bot: BotUnderTest):
    seen = count_mentions(bot)
    body = event_callback("Ev0TOGETHER")
    answers = await asyncio.gather(*(send_event(bot, body, retry=r) for r in (None, 1, 2, 3)))
    assert {status for status, _ in answers} == {200}
    await handled_after(bot, seen, "Ev0AFTER")
    assert texts(seen) == ["<@U0BOT> hello", "<@U0BOT> Ev0AFTER"]


async def posted_review(bot: BotUnderTest, ticket_id: str) -> str:
    response = await bot.post_tickets(
        {"id": ticket_id, "subject": "Question", "body": "Could someone look at my invoice?"}
    )
    assert response.status == 202
    await bot.slack.wait_for(lambda s: bot.proposal_for(ticket_id) is not None)
    await eventually(lambda: bot.runtime.store.get_ticket(ticket_id).message_ts is not None)
    return bot.runtime.store.get_ticket(ticket_id).message_ts


@review_only
async def test_the_same_click_twice_in_a_row_is_one_decision(bot: BotUnderTest):
    ts = await posted_review(bot, "DC-1")
    first = await bot.click("triage_approve", "DC-1", AGENT, ts)
    second = await bot.click("triage_approve", "DC-1", AGENT, ts)
    assert (first.status, second.status) == (200, 200)
    await bot.slack.wait_for(lambda s: len(s.responses) == 1 and len(s.of("chat.update")) == 1)
    assert "already routed" in bot.slack.responses[0]["text"]
    assert [d.action for d in bot.runtime.store.decisions("DC-1")] == ["approve"]


@review_only
async def test_concurrent_clicks_on_one_ticket_make_one_decision(bot: BotUnderTest):
    ts = await posted_review(bot, "DC-2")
    route_posts_before = len(bot.slack.of("chat.postMessage"))
    clicks = [bot.click("triage_approve", "DC-2", AGENT, ts) for _ in range(5)]
    clicks += [
        bot.click("triage_reassign", "DC-2", f"U0OTHER0{i}", ts, selected="bug") for i in range(3)
    ]
    answers = await asyncio.gather(*clicks)
    assert {a.status for a in answers} == {200}

    # Seven clickers are told it was already decided; one decision, one update, one route.
    await bot.slack.wait_for(lambda s: len(s.responses) == 7, timeout=15)
    await eventually(lambda: not bot.runtime.store.outbox_counts().get("pending"))
    decisions = bot.runtime.store.decisions("DC-2")
    assert len(decisions) == 1
    assert len(bot.slack.of("chat.update")) == 1
    assert len(bot.slack.of("chat.postMessage")) == route_posts_before + 1
    assert all("already routed" in r["text"] for r in bot.slack.responses)
    audit = [e.action for e in bot.runtime.store.audit_events(ticket_id="DC-2")]
    assert audit.count("approve") + audit.count("reassign") == 1


@review_only
async def test_a_replayed_click_older_than_five_minutes_gets_401_and_changes_nothing(
    bot: BotUnderTest,
):
    ts = await posted_review(bot, "DC-3")
    body = block_action(
        action_id="triage_approve",
        block_id="triage:DC-3",
        user_id=AGENT,
        channel=TRIAGE_CHANNEL,
        message_ts=ts,
        response_url=bot.slack.response_url,
        value="DC-3",
    )
    stale = signed_headers(SIGNING_SECRET, body, timestamp=int(time.time()) - 5 * 60 - 5)
    response = await bot.slack_post(body, stale)
    assert response.status == 401
    # Clicks are decided first come, first served: once a later, fresh click on another
    # ticket is decided, a replay that had (wrongly) been let in would have been decided too.
    later = await posted_review(bot, "DC-3b")
    assert (await bot.click("triage_approve", "DC-3b", AGENT, later)).status == 200
    await eventually(lambda: bot.runtime.store.decisions("DC-3b") != [])
    assert bot.runtime.store.decisions("DC-3") == []
    assert bot.runtime.store.get_ticket("DC-3").status == "review"
