"""The kill switch end to end: signed slash commands against the running bot and the local
Slack Web API server; state checked in the shared store and from a second bot process."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.app import build_runtime
from bot.models import TicketStatus, utcnow
from tests.conftest import TRIAGE_CHANNEL, BotUnderTest, make_settings
from tests.ownership.conftest import (
    AGENT,
    BILLING_BACKUP,
    BILLING_OWNER,
    BUG_OWNER,
    GLOBAL_OWNER,
    LENIENT,
    actions,
    answer,
    billing_text,
    notices,
    post_and_wait,
    wait_notice,
    wait_status,
)

pytestmark = pytest.mark.global_policy(**LENIENT)


async def test_owner_pauses_and_resumes_announced_audited_and_shared(bot: BotUnderTest):
    reply = await answer(bot, "/triage-pause", "billing refund bug in the invoices", BILLING_OWNER)
    assert "Paused policy `billing`" in reply["text"]
    announced = await wait_notice(bot, "paused policy `billing`")
    assert f"<@{BILLING_OWNER}>" in announced and "refund bug in the invoices" in announced
    assert "still posted here for human review" in announced
    assert bot.runtime.store.paused_names() == {"billing"}

    health = await (await bot.http.get(f"{bot.base_url}/healthz")).json()
    assert health["paused"] == ["billing"]

    # A second bot process on the same database sees the pause, and so would a restart.
    other = build_runtime(
        make_settings(
            database_url=bot.runtime.settings.database_url,
            slack_api_url=bot.slack.api_url,
            policies_dir=bot.runtime.settings.policies_dir,
        )
    )
    try:
        assert other.store.paused_names() == {"billing"}
        status = await asyncio.to_thread(other.control.status)
        assert f"`billing` paused by <@{BILLING_OWNER}> since" in status
        assert "refund bug in the invoices" in status
        # The other process resumes it (backups may); this process sees that at once.
        resumed = await asyncio.to_thread(other.control.resume, BILLING_BACKUP, "billing")
        assert resumed.changed
    finally:
        await other.close()
    assert bot.runtime.store.paused_names() == set()
    await bot.slack.wait_for(lambda s: any("resumed policy `billing`" in t for t in notices(bot)))

    # Pause again and resume through Slack.
    await answer(bot, "/triage-pause", "billing", BILLING_OWNER)
    reply = await answer(bot, "/triage-resume", "billing", BILLING_OWNER)
    assert "Resumed policy `billing`" in reply["text"]
    assert bot.runtime.store.paused_names() == set()
    log = [
        (e.action, e.actor, e.policy)
        for e in bot.runtime.store.audit_events()
        if e.action in ("pause", "resume")
    ]
    assert log == [
        ("pause", BILLING_OWNER, "billing"),
        ("resume", BILLING_BACKUP, "billing"),
        ("pause", BILLING_OWNER, "billing"),
        ("resume", BILLING_OWNER, "billing"),
    ]
    reason = next(e for e in bot.runtime.store.audit_events() if e.action == "pause").detail
    assert reason["reason"] == "refund bug in the invoices"


async def test_non_owner_is_refused_naming_the_owner_and_nothing_changes(bot: BotUnderTest):
    for command, text in (("/triage-pause", "billing"), ("/triage-resume", "billing")):
        reply = await answer(bot, command, text, AGENT)
        assert f"<@{BILLING_OWNER}>" in reply["text"]
        assert "nothing was changed" in reply["text"]
    # Another policy's owner is not an owner of billing either.
    reply = await answer(bot, "/triage-pause", "billing 2h", BUG_OWNER)
    assert f"<@{BILLING_OWNER}>" in reply["text"]
    assert bot.runtime.store.paused_names() == set()
    assert not [e for e in bot.runtime.store.audit_events() if e.action in ("pause", "resume")]
    assert not [m for m in bot.runtime.store.outbox_messages() if m.purpose == "notice"]
    assert notices(bot) == []


async def test_all_needs_a_global_owner(bot: BotUnderTest):
    reply = await answer(bot, "/triage-pause", "all", BILLING_OWNER)
    assert f"<@{GLOBAL_OWNER}>" in reply["text"]
    assert bot.runtime.store.paused_names() == set()

    reply = await answer(bot, "/triage-pause", "all incident review", GLOBAL_OWNER)
    assert "Paused *all automation*" in reply["text"]
    await wait_notice(bot, "paused *all automation*")
    health = await (await bot.http.get(f"{bot.base_url}/healthz")).json()
    assert health["paused"] == ["all"]

    # Paused everything: a clear ticket still reaches humans, with the reason.
    proposal = await post_and_wait(bot, "ALL-1", billing_text(bot, 0))
    assert actions(proposal) == ["triage_approve", "triage_reassign", "triage_not_sure"]
    assert "all automation is paused" in str(proposal.params["blocks"]).lower()

    # A policy owner cannot resume `all`; resuming their own policy says why nothing changed.
    reply = await answer(bot, "/triage-resume", "all", BILLING_OWNER)
    assert f"<@{GLOBAL_OWNER}>" in reply["text"]
    reply = await answer(bot, "/triage-resume", "billing", BILLING_OWNER)
    assert "was not paused" in reply["text"] and "/triage-resume all" in reply["text"]
    assert bot.runtime.store.paused_names() == {"all"}
    reply = await answer(bot, "/triage-resume", "all", GLOBAL_OWNER)
    assert "Resumed *all automation*" in reply["text"]
    assert bot.runtime.store.paused_names() == set()


async def test_paused_policy_still_posts_every_ticket_for_review(bot: BotUnderTest):
    # Not paused: a clear billing ticket is routed by the bot.
    await post_and_wait(bot, "P-0", billing_text(bot, 0))
    await wait_status(bot, "P-0", TicketStatus.AUTO_ROUTED)
    assert len(bot.posts_to("C0BILLING")) == 1

    await answer(bot, "/triage-pause", "billing", BILLING_OWNER)
    for i in range(1, 5):
        proposal = await post_and_wait(bot, f"P-{i}", billing_text(bot, i))
        assert actions(proposal) == ["triage_approve", "triage_reassign", "triage_not_sure"]
        assert "billing is paused" in str(proposal.params["blocks"])
        stored = bot.runtime.store.latest_proposal(f"P-{i}")
        assert stored.decision == "review" and "paused" in stored.guardrails
        assert bot.runtime.store.get_ticket(f"P-{i}").status == TicketStatus.REVIEW
    # Nothing reached the route channel without a human.
    assert len(bot.posts_to("C0BILLING")) == 1

    # A human still routes a paused ticket.
    await bot.click("triage_approve", "P-1", AGENT, await bot.proposal_ts("P-1"))
    await bot.slack.wait_for(lambda s: len(bot.posts_to("C0BILLING")) == 2)


async def test_timed_pause_resumes_itself_with_an_announcement(bot: BotUnderTest):
    reply = await answer(bot, "/triage-pause", "billing 30m deploying a fix", BILLING_OWNER)
    assert "until" in reply["text"]
    pause = bot.runtime.store.active_pauses()[0]
    assert pause.reason == "deploying a fix"
    assert timedelta(minutes=29) < pause.until - pause.paused_at <= timedelta(minutes=30)

    # Not yet due: nothing happens.
    early = await asyncio.to_thread(
        bot.runtime.control.expire, pause.paused_at + timedelta(minutes=10)
    )
    assert early == [] and bot.runtime.store.paused_names() == {"billing"}

    later = pause.paused_at + timedelta(minutes=31)
    assert await asyncio.to_thread(bot.runtime.control.expire, later) == ["billing"]
    # Exactly once, even if another process (or tick) runs the job again.
    assert await asyncio.to_thread(bot.runtime.control.expire, later) == []
    announced = await wait_notice(bot, "timed pause of policy `billing`")
    assert f"<@{BILLING_OWNER}>" in announced and "resumed" in announced
    auto = [e for e in bot.runtime.store.audit_events() if e.action == "auto_resume"]
    assert [(e.actor, e.policy) for e in auto] == [("bot", "billing")]
    assert auto[0].at == later
    assert bot.runtime.store.paused_names() == set()


async def test_expired_pause_no_longer_holds_tickets_before_the_job_runs(bot: BotUnderTest):
    """Between `until` and the expiry job, the pause is already over for triage."""
    now = utcnow()
    await asyncio.to_thread(
        bot.runtime.control.pause, BILLING_OWNER, "billing 1m", now - timedelta(minutes=5)
    )
    assert bot.runtime.store.paused_names() == set()
    await post_and_wait(bot, "E-1", billing_text(bot, 2))
    await wait_status(bot, "E-1", TicketStatus.AUTO_ROUTED)


async def test_status_shows_pauses_owners_modes_thresholds_and_precision(bot: BotUnderTest):
    await answer(bot, "/triage-pause", "billing 2h checking refunds", BILLING_BACKUP)
    reply = await answer(bot, "/triage-status", "", AGENT)
    text = reply["text"]
    assert f"`billing` paused by <@{BILLING_BACKUP}> since <!date^" in text
    assert "until <!date^" in text and "checking refunds" in text
    for name, policy in bot.runtime.policies.policies.items():
        line = next(ln for ln in text.splitlines() if ln.startswith(f"• `{name}`"))
        assert f"owner <@{policy.owner}>" in line
        assert "mode *auto*" in line and "threshold calibrated" in line
    billing_line = next(ln for ln in text.splitlines() if ln.startswith("• `billing`"))
    assert "*paused*" in billing_line
    assert "no decisions in 30 days" in text  # recent precision, nothing decided yet
    assert "waiting for a human" in text


async def test_unknown_policy_and_bad_input_change_nothing(bot: BotUnderTest):
    reply = await answer(bot, "/triage-pause", "<!channel> now", GLOBAL_OWNER)
    assert "is not a policy" in reply["text"] and "<!channel>" not in reply["text"]
    reply = await answer(bot, "/triage-pause", "billing 0m", BILLING_OWNER)
    # `0m` is not a duration: it becomes part of the reason, and the pause has no end.
    assert bot.runtime.store.active_pauses()[0].until is None
    assert "0m" in bot.runtime.store.active_pauses()[0].reason
    await wait_notice(bot, "paused policy `billing`")
    assert all(c.params["channel"] == TRIAGE_CHANNEL for c in bot.slack.of("chat.postMessage"))
