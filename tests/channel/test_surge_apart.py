"""Guarded surge members end to end: similar tickets that carry a guardrail (here a no-go
topic) are listed in the group's thread in batches, each with its own `triage:<id>`
controls; a click on one updates that batch message and routes that ticket once; Approve
all leaves them alone; and a restart in the middle of the surge changes none of that."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import select

from bot.channel.models import GroupMember, MemberKind
from bot.models import TicketStatus
from tests.channel.test_surge import (  # noqa: F401 (lists_without_delay: autouse)
    SURGE,
    lists_without_delay,
    outage,
    sent_ts,
)
from tests.conftest import TRIAGE_CHANNEL, BotUnderTest

AGENT = "U0AGENT01"
NAMES = ["Ana", "Bo", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana"]


def guarded(start: int, count: int) -> list[dict]:
    """The same outage, from customers who also threaten a chargeback (a no-go topic)."""
    return [
        {
            "id": f"G-{i}",
            "subject": f"Cannot log in since 10:{5 + i % 20:02d}",
            "body": f"Since 10:{5 + i % 20:02d} the login page just spins and I cannot log in "
            f"to my account. I will file a chargeback. {NAMES[i % len(NAMES)]}",
        }
        for i in range(start, start + count)
    ]


def batches(bot: BotUnderTest) -> list:
    """Thread replies that carry per-ticket controls (the guarded members' batches)."""
    return [
        c
        for c in bot.posts_to(TRIAGE_CHANNEL)
        if c.params.get("thread_ts")
        and any(
            b["type"] == "actions" and str(b.get("block_id", "")).startswith("triage:")
            for b in c.params.get("blocks", [])
        )
    ]


def controls_in(blocks: list[dict]) -> dict[str, list[str]]:
    """ticket id -> the action ids of its `triage:<id>` actions block."""
    return {
        b["block_id"].split(":", 1)[1]: [e["action_id"] for e in b["elements"]]
        for b in blocks
        if b["type"] == "actions" and str(b.get("block_id", "")).startswith("triage:")
    }


def standalone(bot: BotUnderTest, ticket_id: str) -> list:
    """Top-level posts of the ticket's own proposal (never expected for a group member)."""
    return [
        c
        for c in bot.posts_to(TRIAGE_CHANNEL)
        if not c.params.get("thread_ts")
        and any(b.get("block_id") == f"triage:{ticket_id}" for b in c.params.get("blocks", []))
    ]


def apart_members(bot: BotUnderTest) -> list[str]:
    with bot.runtime.store.session() as session:
        rows = session.exec(
            select(GroupMember).where(GroupMember.kind == MemberKind.APART.value)
        ).all()
    return sorted(m.ticket_id for m in rows)


def listed(bot: BotUnderTest) -> Counter:
    found: Counter = Counter()
    for call in batches(bot):
        found.update(controls_in(call.params["blocks"]).keys())
    return found


def _batch_ts(bot: BotUnderTest, ticket_id: str) -> str | None:
    for message in bot.runtime.store.outbox_messages():
        if message.purpose != "group_list" or not message.result_ts:
            continue
        if ticket_id in controls_in(message.payload.get("blocks", [])):
            return message.result_ts
    return None


async def batch_ts_of(bot: BotUnderTest, ticket_id: str) -> str:
    """The ts of the batch showing the ticket's controls, once the bot recorded it as sent."""
    await bot.slack.wait_for(lambda s: _batch_ts(bot, ticket_id) is not None, timeout=20)
    return _batch_ts(bot, ticket_id) or ""


def latest_update(bot: BotUnderTest, ts: str):
    updates = [u for u in bot.slack.of("chat.update") if u.params.get("ts") == ts]
    return updates[-1] if updates else None


def routed_posts(bot: BotUnderTest, channel: str, ticket_id: str) -> int:
    """Route-channel posts naming the ticket (`Routed to billing #G-1: Cannot log in…`)."""
    return sum(f"#{ticket_id}:" in c.params.get("text", "") for c in bot.posts_to(channel))


@pytest.mark.policies(threshold=0.05)
@pytest.mark.global_policy(ambiguity_margin=0, min_words=0)
async def test_guarded_members_are_proposed_on_their_own_in_one_batch(start_bot):
    async with start_bot(**SURGE) as bot:
        await bot.post_tickets([*outage(0, 8), *guarded(0, 6)])
        await bot.slack.wait_for(lambda s: sent_ts(bot, "group"), timeout=30)
        apart = apart_members(bot)
        assert len(apart) >= 4 and all(t.startswith("G-") for t in apart)
        await bot.slack.wait_for(lambda s: set(listed(bot)) == set(apart), timeout=30)
        # One batch lists them all, each once, each with the controls of a single proposal;
        # none is posted on its own, none is in the group's member lists.
        assert len(batches(bot)) == 1 and max(listed(bot).values()) == 1
        batch = batches(bot)[0]
        assert batch.params["thread_ts"] == sent_ts(bot, "group")[0]
        assert len(batch.params["blocks"]) <= 50
        for ticket_id, actions in controls_in(batch.params["blocks"]).items():
            assert actions == ["triage_approve", "triage_reassign", "triage_not_sure"], ticket_id
            assert not standalone(bot, ticket_id)
        shown = str(batch.params["blocks"])
        assert "Approve all" in shown and "chargeback" in shown.lower()

        # Approve one of them, in the batch: that ticket is routed once, and the batch message
        # is updated in place, that line decided, the others still with their controls.
        first, *others = apart
        ts = await batch_ts_of(bot, first)
        tag = bot.runtime.store.get_ticket(first).proposed_tag
        await bot.click("triage_approve", first, AGENT, ts)
        await bot.slack.wait_for(lambda s: latest_update(bot, ts) is not None, timeout=20)
        update = latest_update(bot, ts)
        assert update.params["channel"] == TRIAGE_CHANNEL
        still = controls_in(update.params["blocks"])
        assert first not in still and set(still) == set(others)
        assert "Approved" in str(update.params["blocks"]) and f"<@{AGENT}>" in str(
            update.params["blocks"]
        )
        route = bot.runtime.policies.for_tag(tag).route_channel
        await bot.slack.wait_for(lambda s: routed_posts(bot, route, first) == 1, timeout=20)
        assert [d.action for d in bot.runtime.store.decisions(first)] == ["approve"]

        # A control of the batch clicked from another message (the group post) is refused.
        head_ts = sent_ts(bot, "group")[0]
        await bot.click("triage_approve", others[0], AGENT, head_ts, wait_shown=False)
        await bot.slack.wait_for(lambda s: s.responses, timeout=10)
        assert "does not belong" in bot.slack.responses[-1]["text"]
        assert bot.runtime.store.get_ticket(others[0]).status == TicketStatus.REVIEW

        # Approve all routes the plain members and leaves every guarded one to its own click.
        await bot.click("triage_approve_all", "1", AGENT, head_ts, block_prefix="triage-group:")
        members = [t for t in (f"S-{i}" for i in range(8)) if t not in apart]
        grouped = [
            t
            for t in members
            if not standalone(bot, t) and bot.runtime.store.get_ticket(t).status != "auto_routed"
        ]
        await bot.slack.wait_for(
            lambda s: all(
                bot.runtime.store.get_ticket(t).status == TicketStatus.ROUTED for t in grouped
            ),
            timeout=30,
        )
        for ticket_id in others:
            assert bot.runtime.store.get_ticket(ticket_id).status == TicketStatus.REVIEW
            assert bot.runtime.store.decisions(ticket_id) == []
        # ... and those keep their controls: the next one is decided from the same batch.
        await bot.click("triage_reassign", others[0], AGENT, ts, selected="bug")
        await bot.slack.wait_for(
            lambda s: bot.runtime.store.get_ticket(others[0]).final_tag == "bug", timeout=20
        )
        await bot.slack.wait_for(
            lambda s: others[0] not in controls_in(latest_update(bot, ts).params["blocks"]),
            timeout=20,
        )
        after = controls_in(latest_update(bot, ts).params["blocks"])
        assert first not in after and set(after) == set(others[1:])  # the first stays decided

        # A second click on the decided ticket changes nothing and says so.
        responses = len(bot.slack.responses)
        await bot.click("triage_approve", first, AGENT, ts)
        await bot.slack.wait_for(lambda s: len(s.responses) > responses, timeout=10)
        assert "already routed" in bot.slack.responses[-1]["text"]
        assert len(bot.runtime.store.decisions(first)) == 1
        audit = [e.action for e in bot.runtime.store.audit_events(ticket_id=first)]
        assert audit.count("approve") == 1


@pytest.mark.policies(threshold=0.05)
@pytest.mark.global_policy(ambiguity_margin=0, min_words=0)
async def test_not_sure_on_a_guarded_member_keeps_the_batch(start_bot):
    async with start_bot(**SURGE) as bot:
        await bot.post_tickets([*outage(0, 8), *guarded(0, 3)])
        await bot.slack.wait_for(lambda s: len(listed(bot)) >= 2, timeout=30)
        apart = sorted(listed(bot))
        ts = await batch_ts_of(bot, apart[0])
        await bot.click("triage_not_sure", apart[0], AGENT, ts)
        await bot.slack.wait_for(
            lambda s: any(
                f"#{apart[0]}" in c.params.get("text", "") and "needs you" in c.params["text"]
                for c in s.of("chat.postMessage")
            ),
            timeout=20,
        )
        await bot.slack.wait_for(lambda s: latest_update(bot, ts) is not None, timeout=20)
        update = latest_update(bot, ts)
        assert set(controls_in(update.params["blocks"])) == set(apart[1:])
        assert "handed to" in str(update.params["blocks"]).lower()
        assert bot.runtime.store.get_ticket(apart[0]).status == TicketStatus.HANDED_OFF


@pytest.mark.policies(threshold=0.05)
@pytest.mark.global_policy(ambiguity_margin=0, min_words=0)
async def test_guarded_members_survive_a_restart_mid_surge(start_bot):
    restartable = {**SURGE, "outbox_lease_seconds": 2}
    async with start_bot(**restartable) as bot:
        await bot.post_tickets([*outage(0, 8), *guarded(0, 3)])
        await bot.slack.wait_for(lambda s: sent_ts(bot, "group"), timeout=30)
        before = apart_members(bot)
    # A new process on the same store: more guarded tickets join the open group.
    async with start_bot(**restartable) as bot:
        await bot.post_tickets(guarded(3, 3))
        await bot.slack.wait_for(
            lambda s: (
                len(apart_members(bot)) >= len(before) + 3
                and set(listed(bot)) == set(apart_members(bot))
            ),
            timeout=40,
        )
        apart = apart_members(bot)
        assert max(listed(bot).values()) == 1  # each listed once, across both processes
        assert all(not standalone(bot, t) for t in apart)
        head_ts = sent_ts(bot, "group")[0]
        await bot.click("triage_approve_all", "1", AGENT, head_ts, block_prefix="triage-group:")
        for ticket_id in apart:
            await bot.click("triage_approve", ticket_id, AGENT, await batch_ts_of(bot, ticket_id))
        await bot.slack.wait_for(
            lambda s: all(
                bot.runtime.store.get_ticket(t).status == TicketStatus.ROUTED for t in apart
            ),
            timeout=30,
        )
        for ticket_id in apart:
            assert [d.action for d in bot.runtime.store.decisions(ticket_id)] == ["approve"]
            tag = bot.runtime.store.get_ticket(ticket_id).final_tag
            route = bot.runtime.policies.for_tag(tag).route_channel
            await bot.slack.wait_for(
                lambda s, t=ticket_id, r=route: routed_posts(bot, r, t) >= 1, timeout=20
            )
            assert routed_posts(bot, route, ticket_id) == 1
        # Every batch message ends with no live control left.
        for ts in {_batch_ts(bot, t) for t in apart}:
            await bot.slack.wait_for(
                lambda s, ts=ts: (
                    latest_update(bot, ts) is not None
                    and not controls_in(latest_update(bot, ts).params["blocks"])
                ),
                timeout=20,
            )
