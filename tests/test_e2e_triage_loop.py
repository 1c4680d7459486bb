"""End to end: signed ticket → proposal with three controls → click → chat.update + route post."""

from __future__ import annotations

import pytest

from bot.models import TicketStatus
from tests.conftest import TRIAGE_CHANNEL, BotUnderTest

AGENT = "U0AGENT01"
# Review paths are pinned with `suggest` mode and auto paths with a low threshold, so
# these tests hold whatever the classifier answers.
review_only = pytest.mark.policies(mode="suggest")
auto_when_clear = pytest.mark.policies(threshold=0.05)


def route_channel(bot: BotUnderTest, tag: str) -> str:
    return bot.runtime.policies.for_tag(tag).route_channel


def actions_block(call) -> dict:
    return next(b for b in call.params["blocks"] if b["type"] == "actions")


@review_only
async def test_review_ticket_is_posted_with_three_controls_and_approve_routes_it(bot: BotUnderTest):
    ticket = {
        "id": 424242,
        "subject": "Question",
        "body": "Could someone look at my invoice?",
        "requester": "ana@example.com",
    }
    response = await bot.post_tickets(ticket)
    assert response.status == 202
    assert (await response.json())["stored"] == ["424242"]

    await bot.slack.wait_for(lambda s: bot.proposal_for("424242") is not None)
    proposal = bot.proposal_for("424242")
    actions = actions_block(proposal)
    assert actions["block_id"] == "triage:424242"
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == ["triage_approve", "triage_reassign", "triage_not_sure"]
    select = actions["elements"][1]
    assert select["type"] == "static_select"
    assert sorted(o["value"] for o in select["options"]) == bot.runtime.policies.tags
    shown = str(proposal.params["blocks"])
    assert "Needs a human because" in shown and "suggest mode" in shown
    tag = bot.runtime.store.get_ticket("424242").proposed_tag
    channel = route_channel(bot, tag)

    # Slack's ack comes back before the work is done.
    ts = proposal.params.get("ts") or "1700000000.000001"
    click = await bot.click("triage_approve", "424242", AGENT, ts)
    assert click.status == 200

    await bot.slack.wait_for(lambda s: len(s.of("chat.update")) == 1 and bot.posts_to(channel))
    update = bot.slack.of("chat.update")[0]
    assert update.params["channel"] == TRIAGE_CHANNEL
    assert update.params["ts"] == ts
    updated = str(update.params["blocks"])
    assert "Approved" in updated and f"<@{AGENT}>" in updated
    assert not any(b["type"] == "actions" for b in update.params["blocks"])
    route = bot.posts_to(channel)[0]
    assert "424242" in route.params["text"]

    stored = bot.runtime.store.get_ticket("424242")
    assert stored.status == TicketStatus.ROUTED
    assert stored.final_tag == tag and stored.decided_by == AGENT
    actions_logged = [e.action for e in bot.runtime.store.audit_events(ticket_id="424242")]
    assert actions_logged == ["ticket_received", "proposed", "approve"]


@review_only
async def test_second_click_changes_nothing_and_tells_the_clicker(bot: BotUnderTest):
    await bot.post_tickets(
        {"id": "T-2", "subject": "Invoice question", "body": "Wrong invoice amount?"}
    )
    await bot.slack.wait_for(lambda s: bot.proposal_for("T-2") is not None)
    ts = "1700000000.000001"
    channel = route_channel(bot, bot.runtime.store.get_ticket("T-2").proposed_tag)
    await bot.click("triage_approve", "T-2", AGENT, ts)
    await bot.slack.wait_for(lambda s: len(s.of("chat.update")) == 1 and bot.posts_to(channel))
    posts_before = len(bot.slack.of("chat.postMessage"))

    await bot.click("triage_reassign", "T-2", "U0SECOND", ts, selected="bug")
    await bot.slack.wait_for(lambda s: len(s.responses) == 1)
    answer = bot.slack.responses[0]
    assert answer["response_type"] == "ephemeral"
    assert "already routed" in answer["text"] and f"<@{AGENT}>" in answer["text"]
    assert len(bot.slack.of("chat.update")) == 1
    assert len(bot.slack.of("chat.postMessage")) == posts_before
    assert [d.action for d in bot.runtime.store.decisions("T-2")] == ["approve"]


@review_only
async def test_reassign_routes_to_the_chosen_tags_channel(bot: BotUnderTest):
    await bot.post_tickets(
        {"id": "T-3", "subject": "Question", "body": "Is there a way to get a refund?"}
    )
    await bot.slack.wait_for(lambda s: bot.proposal_for("T-3") is not None)
    await bot.click("triage_reassign", "T-3", AGENT, "1700000000.000001", selected="cancellation")
    await bot.slack.wait_for(lambda s: bot.posts_to("C0RETENTION"))
    ticket = bot.runtime.store.get_ticket("T-3")
    assert ticket.final_tag == "cancellation"
    decision = bot.runtime.store.decisions("T-3")[0]
    assert (decision.action, decision.tag, decision.actor) == ("reassign", "cancellation", AGENT)


@auto_when_clear
async def test_auto_routed_ticket_stays_visible_and_correctable(bot: BotUnderTest):
    body = "I was charged twice for my subscription; two payments on my credit card. Refund one invoice."
    await bot.post_tickets({"id": "T-4", "subject": "Charged twice", "body": body})
    await bot.slack.wait_for(
        lambda s: bot.proposal_for("T-4") is not None and bot.posts_to("C0BILLING")
    )
    assert bot.runtime.store.get_ticket("T-4").proposed_tag == "billing"
    proposal = bot.proposal_for("T-4")
    assert "Routed" in str(proposal.params["blocks"])
    elements = actions_block(proposal)["elements"]
    assert [e["action_id"] for e in elements] == ["triage_reassign"]
    assert bot.runtime.store.get_ticket("T-4").status == TicketStatus.AUTO_ROUTED

    await bot.click("triage_reassign", "T-4", AGENT, "1700000000.000001", selected="bug")
    await bot.slack.wait_for(lambda s: bot.posts_to("C0BUGS"))
    assert bot.runtime.store.get_ticket("T-4").final_tag == "bug"
    assert [d.action for d in bot.runtime.store.decisions("T-4")] == ["auto", "reassign"]


@review_only
async def test_not_sure_hands_to_the_owner_and_claim_lets_them_decide(bot: BotUnderTest):
    await bot.post_tickets(
        {"id": "T-5", "subject": "Hmm", "body": "Something about my bill and login?"}
    )
    await bot.slack.wait_for(lambda s: bot.proposal_for("T-5") is not None)
    owner = bot.runtime.policies.policies[bot.runtime.store.get_ticket("T-5").policy].owner
    await bot.click("triage_not_sure", "T-5", AGENT, "1700000000.000001")
    await bot.slack.wait_for(
        lambda s: any(
            f"<@{owner}>" in c.params.get("text", "") for c in bot.posts_to(TRIAGE_CHANNEL)
        )
    )
    page = next(
        c for c in bot.posts_to(TRIAGE_CHANNEL) if f"<@{owner}>" in c.params.get("text", "")
    )
    claim = actions_block(page)["elements"][0]
    assert claim["action_id"] == "triage_claim"
    assert bot.runtime.store.get_ticket("T-5").status == TicketStatus.HANDED_OFF

    await bot.click(
        "triage_claim",
        "T-5",
        owner,
        page.params.get("ts", "1700000000.000002"),
        block_prefix="handoff:",
    )
    await bot.slack.wait_for(lambda s: len(s.of("chat.update")) == 2)
    claimed = bot.slack.of("chat.update")[1]
    assert "claimed" in str(claimed.params["blocks"])
    assert actions_block(claimed)["block_id"] == "triage:T-5"
    assert bot.runtime.store.get_ticket("T-5").claimed_by == owner

    await bot.click("triage_approve", "T-5", owner, "1700000000.000002")
    await bot.slack.wait_for(
        lambda s: bot.runtime.store.get_ticket("T-5").status == TicketStatus.ROUTED
    )
    assert [d.action for d in bot.runtime.store.decisions("T-5")] == [
        "not_sure",
        "claim",
        "approve",
    ]


async def test_sarcastic_praise_goes_to_human_review_with_reason(bot: BotUnderTest):
    text = "Great job charging me twice, you geniuses. I love paying for software I can't log into."
    await bot.post_tickets({"id": "sarcasm-1", "subject": "", "body": text})
    await bot.slack.wait_for(lambda s: bot.proposal_for("sarcasm-1") is not None)
    proposal = bot.runtime.store.latest_proposal("sarcasm-1")
    assert proposal.decision == "review"
    assert proposal.tag != "positive_feedback" or "complaint_veto" in proposal.guardrails
    assert proposal.sentiment == "negative"
    assert "sarcasm" in str(bot.proposal_for("sarcasm-1").params["blocks"])
    assert not bot.posts_to("C0KUDOS")
