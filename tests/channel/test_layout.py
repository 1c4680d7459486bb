"""The proposal as an agent sees it: linked subject, who wrote, the tag in words, reasons
as sentences; tone warnings reach the route channel; clean notification text."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TRIAGE_CHANNEL, BotUnderTest

AGENT = "U0AGENT01"
SARCASTIC = "Great job charging me twice, you geniuses. Love paying double for one invoice."


async def message_ts(bot: BotUnderTest, ticket_id: str) -> str:
    """The ts Slack gave the ticket's proposal (clicks come from the real message)."""
    await bot.slack.wait_for(lambda s: bot.runtime.store.get_ticket(ticket_id).message_ts)
    return bot.runtime.store.get_ticket(ticket_id).message_ts or ""


def texts(call) -> str:
    return json.dumps(call.params["blocks"])


@pytest.mark.policies(mode="suggest")
async def test_review_proposal_layout(start_bot):
    async with start_bot(
        ticket_url_template="https://help.example.com/tickets/{id}", show_requester="name"
    ) as bot:
        await bot.post_tickets(
            [
                {
                    "id": "L-1",
                    "subject": "Charged twice",
                    "body": SARCASTIC,
                    "requester": "Ana Díaz <ana@example.com>",
                },
                {
                    "id": "L-2",
                    "subject": "Refund",
                    "body": "Please refund my last invoice, it was charged twice this month.",
                    "url": "https://desk.example.org/t/99",
                },
                {"id": "L-3", "subject": "", "body": ""},
            ]
        )
        await bot.slack.wait_for(lambda s: all(bot.proposal_for(t) for t in ("L-1", "L-2", "L-3")))
        first = bot.proposal_for("L-1")
        title = first.params["blocks"][0]["text"]["text"]
        assert title == "*<https://help.example.com/tickets/L-1|#L-1 Charged twice>*"
        shown = texts(first)
        assert "From Ana D" in shown and "ana@example.com" not in shown
        assert "Proposed tag:*" in shown and "sure" in shown
        # Reasons are sentences: no internal codes in Slack, codes stay in the audit.
        for code in ("sarcasm:", "mode:", "launch_gate", "low_confidence:"):
            assert f"• {code}" not in shown and "launch_gate" not in shown, code
        assert "Sounds sarcastic" in shown and "suggest mode" in shown
        assert "Sarcastic tone" in shown
        stored = bot.runtime.store.latest_proposal("L-1")
        assert any(r.startswith("sarcasm:") for r in stored.reasons)
        # A confident ticket held by a setting says why it is held, not "100%".
        assert "held:" in shown and "100%" not in shown

        # The helpdesk's own link wins over the template.
        second = bot.proposal_for("L-2")
        assert second.params["blocks"][0]["text"]["text"].startswith(
            "*<https://desk.example.org/t/99|#L-2 Refund>*"
        )
        # An empty ticket's notification text ends cleanly.
        assert bot.proposal_for("L-3").params["text"] == "Needs triage #L-3"
        assert bot.proposal_for("L-1").params["text"] == "Needs triage #L-1: Charged twice"

        # After Approve, the route post carries the tone warning along.
        tag = bot.runtime.store.get_ticket("L-1").proposed_tag
        channel = bot.runtime.policies.for_tag(tag).route_channel
        await bot.click("triage_approve", "L-1", AGENT, await message_ts(bot, "L-1"))
        await bot.slack.wait_for(lambda s: bot.posts_to(channel))
        assert "Sarcastic tone" in texts(bot.posts_to(channel)[0])

        # Not sure: the page to the owner says why in one sentence, not every reason.
        await bot.click("triage_not_sure", "L-2", AGENT, await message_ts(bot, "L-2"))
        await bot.slack.wait_for(
            lambda s: any(
                "needs you" in c.params.get("text", "") for c in bot.posts_to(TRIAGE_CHANNEL)
            )
        )
        page = next(
            c for c in bot.posts_to(TRIAGE_CHANNEL) if "needs you" in c.params.get("text", "")
        )
        said = page.params["blocks"][0]["text"]["text"]
        rest = said.split("was not sure.", 1)[1].strip()
        assert rest.count(".") == 1 and ";" not in rest and rest.endswith(".")


@pytest.mark.policies(mode="suggest")
async def test_requester_privacy_settings(start_bot):
    async with start_bot(show_requester="none") as bot:
        await bot.post_tickets(
            {
                "id": "P-1",
                "subject": "Hello",
                "body": "Where is my invoice for last month?",
                "requester": "Ana Díaz <ana@example.com>",
            }
        )
        await bot.slack.wait_for(lambda s: bot.proposal_for("P-1") is not None)
        assert "Ana" not in texts(bot.proposal_for("P-1"))
