"""Modes per policy (shadow, suggest, auto), the launch gate and `/triage-mode`, end to end."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlmodel import select

from bot.app import build_runtime
from bot.models import TicketStatus
from bot.ownership.gate import launch_gate
from bot.ownership.models import PolicyMode
from bot.policies import Mode
from tests.conftest import TRIAGE_CHANNEL, BotUnderTest, make_settings
from tests.ownership.conftest import (
    AGENT,
    BILLING_BACKUP,
    BILLING_OWNER,
    GLOBAL_OWNER,
    LENIENT,
    actions,
    answer,
    billing_text,
    post_and_wait,
    wait_notice,
    wait_status,
)


def shown_text(call) -> str:
    """Everything a message shows except the tag options of the Reassign select."""
    blocks = [b for b in call.params["blocks"] if b["type"] != "actions"]
    return json.dumps(blocks) + call.params.get("text", "")


def stored_modes(bot: BotUnderTest) -> list[PolicyMode]:
    with bot.runtime.store.session() as session:
        return list(session.exec(select(PolicyMode)).all())


# --- shadow ------------------------------------------------------------------------------


@pytest.mark.policies(mode="shadow")
@pytest.mark.global_policy(**LENIENT)
async def test_shadow_mode_never_shows_the_proposal_and_scores_the_human_pick(
    bot: BotUnderTest,
):
    proposal = await post_and_wait(bot, "S-1", billing_text(bot, 0))
    # The agent sees the ticket and picks a tag: no Approve (nothing visible to approve).
    assert actions(proposal) == ["triage_reassign", "triage_not_sure"]
    shown = shown_text(proposal)
    assert "Shadow mode" in shown
    for hidden in ("billing", "Proposed tag", "Confidence", "Sentiment", "%", "Needs a human"):
        assert hidden not in shown, hidden
    # The bot's proposal exists, hidden, with its model version and confidence audited.
    stored = bot.runtime.store.latest_proposal("S-1")
    assert stored.tag == "billing" and "mode_shadow" in stored.guardrails
    proposed = next(
        e for e in bot.runtime.store.audit_events(ticket_id="S-1") if e.action == "proposed"
    )
    assert proposed.detail["model_version"] and proposed.detail["confidence"] > 0.5

    # An Approve forged by hand is refused: there is no proposal to approve.
    await bot.click("triage_approve", "S-1", AGENT, "1700000000.000001")
    await bot.slack.wait_for(lambda s: len(s.responses) == 1)
    assert "shadow mode" in bot.slack.responses[0]["text"]
    assert bot.runtime.store.get_ticket("S-1").status == TicketStatus.REVIEW

    # The agent picks billing (agrees with the hidden guess) ...
    await bot.click("triage_reassign", "S-1", AGENT, "1700000000.000001", selected="billing")
    await bot.slack.wait_for(lambda s: bot.posts_to("C0BILLING") and s.of("chat.update"))
    update = bot.slack.of("chat.update")[0]
    assert "Proposed tag" not in json.dumps(update.params["blocks"])

    # ... and on the next ticket picks bug (disagrees).
    await post_and_wait(bot, "S-2", billing_text(bot, 1))
    await bot.click("triage_reassign", "S-2", AGENT, await bot.proposal_ts("S-2"), selected="bug")
    await bot.slack.wait_for(lambda s: bot.posts_to("C0BUGS"))
    await wait_status(bot, "S-2", TicketStatus.ROUTED)

    gate = await asyncio.to_thread(launch_gate, bot.runtime.store, bot.runtime.policies, "billing")
    assert (gate.decided, gate.correct, gate.precision) == (2, 1, 0.5)


@pytest.mark.policies(mode="shadow")
@pytest.mark.global_policy(**LENIENT)
async def test_shadow_handoff_and_claim_do_not_reveal_the_proposal(bot: BotUnderTest):
    await post_and_wait(bot, "S-3", billing_text(bot, 2))
    await bot.click("triage_not_sure", "S-3", AGENT, "1700000000.000001")
    await bot.slack.wait_for(
        lambda s: any("needs you" in c.params.get("text", "") for c in bot.posts_to(TRIAGE_CHANNEL))
    )
    page = next(c for c in bot.posts_to(TRIAGE_CHANNEL) if "needs you" in c.params.get("text", ""))
    assert "billing" not in json.dumps(page.params["blocks"])
    assert "pick the tag yourself" in json.dumps(page.params["blocks"])
    await bot.slack.wait_for(lambda s: len(s.of("chat.update")) == 1)
    assert "billing" not in json.dumps(bot.slack.of("chat.update")[0].params["blocks"])

    await bot.click(
        "triage_claim", "S-3", BILLING_OWNER, "1700000000.000002", block_prefix="handoff:"
    )
    await bot.slack.wait_for(lambda s: len(s.of("chat.update")) == 2)
    claimed = bot.slack.of("chat.update")[1]
    assert actions(claimed) == ["triage_reassign"]
    assert "billing" not in shown_text(claimed)


# --- suggest -----------------------------------------------------------------------------


@pytest.mark.policies(mode="suggest")
@pytest.mark.global_policy(**LENIENT)
async def test_suggest_mode_shows_the_proposal_and_a_human_decides_every_ticket(
    bot: BotUnderTest,
):
    proposal = await post_and_wait(bot, "G-1", billing_text(bot, 0))
    assert actions(proposal) == ["triage_approve", "triage_reassign", "triage_not_sure"]
    shown = shown_text(proposal)
    assert "Proposed tag" in shown and "billing" in shown and "suggest mode" in shown
    assert bot.runtime.store.get_ticket("G-1").status == TicketStatus.REVIEW
    assert not bot.posts_to("C0BILLING")


# --- the launch gate ---------------------------------------------------------------------


@pytest.mark.global_policy(launch_min_decided=3, **LENIENT)
async def test_auto_waits_for_the_launch_gate_then_routes(bot: BotUnderTest):
    for i in range(3):
        proposal = await post_and_wait(bot, f"L-{i}", billing_text(bot, i))
        stored = bot.runtime.store.latest_proposal(f"L-{i}")
        assert stored.decision == "review" and stored.guardrails == ["launch_gate"]
        # The proposal is shown, as in suggest, with the gate said in words, not as a code.
        assert "still learning" in shown_text(proposal)
        assert "launch_gate" not in shown_text(proposal)
        assert "triage_approve" in actions(proposal)
    status = (await answer(bot, "/triage-status", "", AGENT))["text"]
    billing = status[status.index("• `billing`") :].split("• `", 2)[1]
    # Said once, compactly: how far the policy is, not the gate's rules on every line.
    assert "learning, 0 of 3 decisions" in billing and "mode *suggest*" in billing
    assert "launch gate not met" not in status and "held by the launch gate" not in status
    assert "no-go: a human decides every ticket" in status  # security, said as such

    for i in range(3):
        await bot.click("triage_approve", f"L-{i}", AGENT, f"1700000000.00000{i + 1}")
        await wait_status(bot, f"L-{i}", TicketStatus.ROUTED)
    bot.runtime.service.modes.invalidate()  # the worker re-measures every 30 s; now, here
    gate = bot.runtime.service.modes.gate("billing")
    assert (gate.decided, gate.correct, gate.meets) == (3, 3, True)

    await post_and_wait(bot, "L-3", billing_text(bot, 3))
    await wait_status(bot, "L-3", TicketStatus.AUTO_ROUTED)
    # Other policies are still held: their gates are measured separately.
    assert not bot.runtime.service.modes.gate("bug").meets
    status = (await answer(bot, "/triage-status", "", AGENT))["text"]
    assert "`billing`: mode *auto* (live, 100% right over 3 decided)" in status


@pytest.mark.global_policy(launch_min_decided=2, **LENIENT)
async def test_precision_below_target_keeps_the_policy_out_of_auto(bot: BotUnderTest):
    await post_and_wait(bot, "B-1", billing_text(bot, 0))
    await post_and_wait(bot, "B-2", billing_text(bot, 1))
    await bot.click("triage_approve", "B-1", AGENT, "1700000000.000001")
    await bot.click("triage_reassign", "B-2", AGENT, "1700000000.000002", selected="bug")
    await wait_status(bot, "B-1", TicketStatus.ROUTED)
    await wait_status(bot, "B-2", TicketStatus.ROUTED)
    bot.runtime.service.modes.invalidate()
    gate = bot.runtime.service.modes.gate("billing")
    assert (gate.decided, gate.precision, gate.meets) == (2, 0.5, False)
    await post_and_wait(bot, "B-3", billing_text(bot, 2))
    assert bot.runtime.store.latest_proposal("B-3").guardrails == ["launch_gate"]


# --- /triage-mode ------------------------------------------------------------------------


@pytest.mark.global_policy(launch_min_decided=50, **LENIENT)
async def test_triage_mode_refuses_auto_below_the_gate_unless_the_owner_overrides(
    bot: BotUnderTest,
):
    reply = await answer(bot, "/triage-mode", "billing auto override", AGENT)
    assert f"<@{BILLING_OWNER}>" in reply["text"] and "nothing was changed" in reply["text"]

    reply = await answer(bot, "/triage-mode", "billing auto", BILLING_OWNER)
    assert "was not switched to auto" in reply["text"] and "Nothing changed" in reply["text"]
    assert "/triage-mode billing auto override" in reply["text"]
    assert stored_modes(bot) == []
    assert not [e for e in bot.runtime.store.audit_events() if e.action.startswith("mode")]

    reply = await answer(bot, "/triage-mode", "billing auto override pilot week", BILLING_OWNER)
    assert "launch gate overridden" in reply["text"]
    announced = await wait_notice(bot, "overriding the launch gate")
    assert f"<@{BILLING_OWNER}>" in announced and "pilot week" in announced
    [row] = stored_modes(bot)
    assert (row.policy, row.mode, row.gate_override, row.set_by) == (
        "billing",
        "auto",
        True,
        BILLING_OWNER,
    )
    [event] = [e for e in bot.runtime.store.audit_events() if e.action.startswith("mode")]
    assert (event.action, event.actor, event.policy) == ("mode_override", BILLING_OWNER, "billing")
    assert event.detail["gate"]["decided"] == 0 and event.detail["gate"]["meets"] is False
    assert event.detail["reason"] == "pilot week"

    await post_and_wait(bot, "M-1", billing_text(bot, 0))
    await wait_status(bot, "M-1", TicketStatus.AUTO_ROUTED)

    # The stored mode is shared: another bot process applies it too.
    other = build_runtime(
        make_settings(
            database_url=bot.runtime.settings.database_url,
            slack_api_url=bot.slack.api_url,
            policies_dir=bot.runtime.settings.policies_dir,
        )
    )
    try:
        effective = other.service.modes.effective()
        assert effective["billing"].mode is Mode.AUTO and effective["billing"].gate_overridden
        assert effective["bug"].mode is Mode.SUGGEST and effective["bug"].held_by_gate
    finally:
        await other.close()

    # The backup moves it to shadow; a global owner puts it back to the policy file's mode.
    reply = await answer(bot, "/triage-mode", "billing shadow", BILLING_BACKUP)
    assert "*shadow*" in reply["text"]
    proposal = await post_and_wait(bot, "M-2", billing_text(bot, 1))
    assert actions(proposal) == ["triage_reassign", "triage_not_sure"]
    reply = await answer(bot, "/triage-mode", "billing default", GLOBAL_OWNER)
    assert "follows its policy file" in reply["text"] and "held by the launch gate" in reply["text"]
    assert stored_modes(bot) == []
    await post_and_wait(bot, "M-3", billing_text(bot, 2))
    assert bot.runtime.store.latest_proposal("M-3").guardrails == ["launch_gate"]

    trail = [
        (e.action, e.actor, e.detail.get("to"))
        for e in bot.runtime.store.audit_events()
        if e.action.startswith("mode")
    ]
    assert trail == [
        ("mode_override", BILLING_OWNER, "auto"),
        ("mode", BILLING_BACKUP, "shadow"),
        ("mode_reset", GLOBAL_OWNER, "auto"),
    ]


async def test_triage_mode_answers_questions_and_rejects_nonsense(bot: BotUnderTest):
    overview = (await answer(bot, "/triage-mode", "", AGENT))["text"]
    for name in bot.runtime.policies.policies:
        assert f"`{name}`" in overview
    assert "Usage" in overview
    assert (
        "is not a mode"
        in (await answer(bot, "/triage-mode", "billing turbo", BILLING_OWNER))["text"]
    )
    assert (
        "is not a policy" in (await answer(bot, "/triage-mode", "nope auto", BILLING_OWNER))["text"]
    )
    assert "per policy" in (await answer(bot, "/triage-mode", "all auto", GLOBAL_OWNER))["text"]
    reply = await answer(bot, "/triage-mode", "billing default", BILLING_OWNER)
    assert "already follows its policy file" in reply["text"]
    assert stored_modes(bot) == []
