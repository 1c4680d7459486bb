"""The route post carries the tone warning when the customer is upset or sarcastic."""

from __future__ import annotations

import pytest

from bot.blocks import TicketView, route_message, to_dicts, tone_warning
from tests.conftest import BotUnderTest

AGENT = "U0AGENT01"
review_only = pytest.mark.policies(mode="suggest")
SARCASTIC = (
    "Great job charging me twice, you geniuses. I love paying for software I can't log into."
)


def test_warning_names_sarcasm_complaints_and_negative_tone_and_nothing_else():
    assert "Sarcastic" in (tone_warning("negative", ["sarcasm", "low_confidence"]) or "")
    assert "Complaint" in (tone_warning("neutral", ["complaint_veto"]) or "")
    assert "Negative" in (tone_warning("negative", []) or "")
    assert tone_warning("neutral", ["low_confidence"]) is None
    assert tone_warning("positive", []) is None
    view = TicketView(id="1", subject="s", body="b", requester="")
    with_warning = str(to_dicts(route_message(view, "billing", "approved", 500, "⚠ careful")))
    assert "⚠ careful" in with_warning
    assert "careful" not in str(to_dicts(route_message(view, "billing", "approved", 500)))


async def _approve_and_get_route_post(bot: BotUnderTest, ticket_id: str, body: str):
    await bot.post_tickets({"id": ticket_id, "subject": "About my account", "body": body})
    await bot.slack.wait_for(lambda s: bot.proposal_for(ticket_id) is not None)
    proposal = bot.proposal_for(ticket_id)
    tag = bot.runtime.store.get_ticket(ticket_id).proposed_tag
    channel = bot.runtime.policies.for_tag(tag).route_channel
    ts = proposal.params.get("ts") or "1700000000.000001"
    assert (await bot.click("triage_approve", ticket_id, AGENT, ts)).status == 200
    await bot.slack.wait_for(lambda s: bool(bot.posts_to(channel)))
    return bot.posts_to(channel)[0]


@review_only
async def test_an_approved_sarcastic_ticket_lands_in_the_route_channel_with_the_warning(
    bot: BotUnderTest,
):
    route = await _approve_and_get_route_post(bot, "77001", SARCASTIC)
    shown = str(route.params["blocks"])
    assert ":warning:" in shown and ("Sarcastic" in shown or "Negative" in shown)


@review_only
async def test_a_calm_ticket_lands_without_a_warning(bot: BotUnderTest):
    route = await _approve_and_get_route_post(
        bot, "77002", "Where do I change the e-mail address that receives our monthly invoices?"
    )
    assert ":warning:" not in str(route.params["blocks"])
