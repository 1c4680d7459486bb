"""The App Home tab: a signed `app_home_opened` event → `views.publish` with the right blocks;
a retried event (same event_id, X-Slack-Retry-Num) publishes once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.models import TicketStatus
from tests.conftest import BotUnderTest
from tests.ownership.conftest import (
    BILLING_OWNER,
    LENIENT,
    answer,
    billing_text,
    event_request,
    post_and_wait,
    wait_status,
)


def home_event(user: str, tab: str = "home") -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": "D0HOME",
        "tab": tab,
        "event_ts": "1700000000.000100",
    }


def published_view(call) -> dict[str, Any]:
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else view


def block_texts(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"])


@pytest.mark.global_policy(**LENIENT)
async def test_home_tab_shows_policies_owners_modes_pauses_and_todays_numbers(
    bot: BotUnderTest,
):
    await post_and_wait(bot, "H-1", billing_text(bot, 0))
    await wait_status(bot, "H-1", TicketStatus.AUTO_ROUTED)
    await answer(bot, "/triage-mode", "bug suggest", "U0BUGSOWNR")
    await answer(bot, "/triage-pause", "billing 1h vendor incident", BILLING_OWNER)
    await post_and_wait(bot, "H-2", billing_text(bot, 1))  # paused: waits for a human

    body, headers = event_request(home_event(BILLING_OWNER), "Ev0HOME1")
    response = await bot.slack_post(body, headers)
    assert response.status == 200
    await bot.slack.wait_for(lambda s: s.of("views.publish"))
    [call] = bot.slack.of("views.publish")
    assert call.params["user_id"] == BILLING_OWNER
    view = published_view(call)
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100
    text = block_texts(view)
    # Today's numbers: two tickets in, one routed by the bot, one waiting.
    today = next(b for b in view["blocks"] if b.get("fields"))
    fields = [f["text"] for f in today["fields"]]
    assert fields == [
        "*Volume*\n2",
        "*Auto-routed*\n1 (50%)",
        "*Decided by humans*\n0",
        "*Waiting for a human*\n1",
    ]
    # Pause state: who, since when, until, why.
    assert f"`billing` paused by <@{BILLING_OWNER}> since <!date^" in text
    assert "vendor incident" in text
    # Every policy with its owner and mode; the viewer's own policy is marked.
    # One compact table: a line per policy.
    sections = {
        line.split("`")[1]: line
        for b in view["blocks"]
        if b["type"] == "section"
        for line in b["text"]["text"].splitlines()
        if line.startswith("• `")
    }
    assert set(sections) == set(bot.runtime.policies.policies)
    for name, policy in bot.runtime.policies.policies.items():
        assert f"owner <@{policy.owner}>" in sections[name]
    assert "*paused*" in sections["billing"] and "_yours_" in sections["billing"]
    assert "_yours_" not in sections["bug"]
    assert "mode *suggest* set by <@U0BUGSOWNR>" in sections["bug"]
    assert "mode *auto*" in sections["how_to"] and "set by" not in sections["how_to"]
    assert "100% right over 1 decided" in sections["billing"]


async def test_retried_event_publishes_once_and_messages_tab_is_ignored(bot: BotUnderTest):
    body, headers = event_request(home_event("U0AGENT01"), "Ev0HOME2")
    first = await bot.slack_post(body, headers)
    assert first.status == 200
    await bot.slack.wait_for(lambda s: len(s.of("views.publish")) == 1)

    for retry in (1, 2):
        again_body, again_headers = event_request(home_event("U0AGENT01"), "Ev0HOME2", retry)
        again = await bot.slack_post(again_body, again_headers)
        assert again.status == 200
        assert again.headers.get("X-Slack-No-Retry") == "1"

    # The Messages tab needs nothing; a new event (new id) publishes again. By the time the
    # new event is published, the retries would have been too.
    body, headers = event_request(home_event("U0AGENT01", tab="messages"), "Ev0HOME3")
    assert (await bot.slack_post(body, headers)).status == 200
    body, headers = event_request(home_event("U0AGENT02"), "Ev0HOME4")
    assert (await bot.slack_post(body, headers)).status == 200
    await bot.slack.wait_for(lambda s: len(s.of("views.publish")) == 2)
    assert [c.params["user_id"] for c in bot.slack.of("views.publish")] == [
        "U0AGENT01",
        "U0AGENT02",
    ]


async def test_unsigned_event_is_rejected_and_publishes_nothing(bot: BotUnderTest):
    body, headers = event_request(home_event("U0AGENT01"), "Ev0HOME5")
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    response = await bot.slack_post(body, headers)
    assert response.status == 401
    body, headers = event_request(home_event("U0AGENT03"), "Ev0HOME6")
    assert (await bot.slack_post(body, headers)).status == 200
    await bot.slack.wait_for(lambda s: len(s.of("views.publish")) == 1)
    assert bot.slack.of("views.publish")[0].params["user_id"] == "U0AGENT03"
