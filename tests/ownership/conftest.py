"""Helpers for the ownership tests: owners from the bundled policies, slash-command answers,
announcements in the triage channel, and tickets whose tag the classifier is sure of."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from bot.models import TicketStatus
from tests.conftest import SIGNING_SECRET, TRIAGE_CHANNEL, BotUnderTest
from tests.fakes.slack_api import WAIT_SECONDS
from tests.fakes.slack_requests import signed_headers

BILLING_OWNER = "U0BILLOWNR"
BILLING_BACKUP = "U0BILLBKUP"
BUG_OWNER = "U0BUGSOWNR"
GLOBAL_OWNER = "U0SUPPLEAD"
AGENT = "U0AGENT01"

# Clear billing tickets (checked with the classifier in `billing_text`).
BILLING_TEXTS = [
    "I was charged twice for my subscription this month; two payments on my credit card. "
    "Please refund one of the invoice charges.",
    "My invoice shows a double charge on my credit card for the annual plan payment. "
    "Please refund the duplicate payment.",
    "The payment for my subscription was taken twice from my card and the invoice is wrong. "
    "I need a refund for the extra charge.",
    "We were billed twice for the same invoice and the credit card payment went through two "
    "times. Please refund the second charge.",
    "Your billing charged my card two times for one subscription renewal invoice; refund the "
    "duplicate payment please.",
    "Double payment on my credit card for this month's invoice. Please refund the extra "
    "subscription charge.",
]

# Marks that make the decision path predictable: every clear ticket would auto-route on
# confidence alone, so only pauses, modes and the launch gate decide.
LENIENT = {"ambiguity_margin": 0, "min_words": 0}


async def answer(bot: BotUnderTest, command: str, text: str, user: str) -> dict[str, Any]:
    """Run a signed slash command; return its ephemeral answer (via response_url)."""
    before = len(bot.slack.responses)
    response = await bot.command(command, text, user)
    assert response.status == 200
    await bot.slack.wait_for(lambda s: len(s.responses) > before)
    reply = bot.slack.responses[before]
    assert reply["response_type"] == "ephemeral"
    return reply


def notices(bot: BotUnderTest) -> list[str]:
    """Texts posted to the triage channel that are not ticket posts (announcements)."""
    return [
        c.params.get("text", "")
        for c in bot.posts_to(TRIAGE_CHANNEL)
        if not any(
            str(b.get("block_id", "")).startswith(("triage:", "handoff:"))
            for b in c.params.get("blocks", [])
        )
    ]


async def wait_notice(bot: BotUnderTest, fragment: str) -> str:
    await bot.slack.wait_for(lambda s: any(fragment in t for t in notices(bot)))
    return next(t for t in notices(bot) if fragment in t)


def billing_text(bot: BotUnderTest, index: int) -> str:
    """A ticket text the running classifier tags `billing` (a precondition, checked)."""
    text = BILLING_TEXTS[index % len(BILLING_TEXTS)]
    tag = bot.runtime.classifier.predict(text).tag
    assert tag == "billing", f"precondition: classifier tags this text {tag!r}: {text}"
    return text


async def post_and_wait(bot: BotUnderTest, ticket_id: str, body: str) -> Any:
    """Send a ticket through the signed webhook; wait for its post in the triage channel."""
    response = await bot.post_tickets({"id": ticket_id, "subject": "Charge problem", "body": body})
    assert response.status == 202
    await bot.slack.wait_for(lambda s: bot.proposal_for(ticket_id) is not None)
    return bot.proposal_for(ticket_id)


async def wait_status(bot: BotUnderTest, ticket_id: str, status: TicketStatus) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while bot.runtime.store.get_ticket(ticket_id).status != status:
        assert time.monotonic() < deadline, bot.runtime.store.get_ticket(ticket_id).status
        await asyncio.sleep(0.05)


def actions(call: Any) -> list[str]:
    block = next(b for b in call.params["blocks"] if b["type"] == "actions")
    return [e["action_id"] for e in block["elements"]]


def event_request(event: dict[str, Any], event_id: str, retry: int | None = None):
    """A signed Events API callback as Slack sends it (JSON body)."""
    body = json.dumps(
        {
            "token": "legacy",
            "team_id": "T0TEST",
            "api_app_id": "A0TEST",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
        }
    )
    headers = signed_headers(SIGNING_SECRET, body)
    headers["Content-Type"] = "application/json"
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return body, headers
