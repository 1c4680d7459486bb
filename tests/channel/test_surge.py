"""Surge mode end to end: a burst of near-duplicates becomes one grouped proposal with its
members listed in thread replies; a member is pulled out; Approve all routes every other
member exactly once; and all of it survives a restart in the middle of the surge."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import select

import bot.channel.surge as surge_module
from bot.channel.models import GroupMember
from bot.models import TicketStatus
from tests.conftest import TRIAGE_CHANNEL, BotUnderTest

AGENT = "U0AGENT01"
NAMES = ["Ana", "Bo", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lu"]


def outage(start: int, count: int) -> list[dict]:
    return [
        {
            "id": f"S-{i}",
            "subject": f"Cannot log in since 10:{5 + i % 20:02d}",
            "body": f"Since 10:{5 + i % 20:02d} the login page just spins and I cannot log in "
            f"to my account. {NAMES[i % len(NAMES)]}",
        }
        for i in range(start, start + count)
    ]


VARIED = {
    "id": "V-1",
    "subject": "Export to CSV",
    "body": "How do I export my monthly reports to a CSV file from the dashboard?",
}


def group_posts(bot: BotUnderTest) -> list:
    return [
        c
        for c in bot.posts_to(TRIAGE_CHANNEL)
        if any(
            str(b.get("block_id", "")).startswith("triage-group:") and b["type"] == "actions"
            for b in c.params.get("blocks", [])
        )
    ]


def sent_ts(bot: BotUnderTest, purpose: str) -> list[str]:
    return [
        m.result_ts
        for m in bot.runtime.store.outbox_messages()
        if m.purpose == purpose and m.result_ts
    ]


def grouped(bot: BotUnderTest) -> list[str]:
    with bot.runtime.store.session() as session:
        rows = session.exec(select(GroupMember).order_by(GroupMember.joined_at)).all()
    return [m.ticket_id for m in rows]


def replies(bot: BotUnderTest) -> list:
    return [c for c in bot.posts_to(TRIAGE_CHANNEL) if c.params.get("thread_ts")]


def listed_ids(bot: BotUnderTest) -> Counter:
    found: Counter = Counter()
    for call in replies(bot):
        for block in call.params["blocks"]:
            accessory = block.get("accessory") or {}
            if accessory.get("action_id") == "triage_ungroup":
                found[accessory["value"]] += 1
    return found


@pytest.fixture(autouse=True)
def lists_without_delay(monkeypatch):
    """Member lists normally wait up to 20 s to fill a reply; tests need not wait."""
    monkeypatch.setattr(surge_module, "LIST_WAIT", surge_module.timedelta(0))


SURGE = {"surge_min_tickets": 5, "routed_summary_seconds": 0}


@pytest.mark.policies(threshold=0.05)
@pytest.mark.global_policy(ambiguity_margin=0, min_words=0)
async def test_burst_becomes_one_group_that_approve_all_routes_once(start_bot):
    async with start_bot(**SURGE) as bot:
        await bot.post_tickets([*outage(0, 12), VARIED])
        await bot.slack.wait_for(lambda s: group_posts(bot), timeout=30)
        head = group_posts(bot)[0]
        actions = next(b for b in head.params["blocks"] if b["type"] == "actions")
        group_id = actions["block_id"].split(":", 1)[1]
        assert [e["action_id"] for e in actions["elements"]] == [
            "triage_approve_all",
            "triage_reassign_all",
            "triage_group_not_sure",
        ]
        assert actions["elements"][1]["type"] == "static_select"
        shown = str(head.params["blocks"])
        assert "tickets like" in shown and "Possible incident" in shown
        owner = bot.runtime.policies.for_tag(bot.runtime.store.get_ticket("S-0").proposed_tag).owner
        assert f"<@{owner}>" in shown  # the group pages the owner
        members = grouped(bot)
        # Tickets before the group formed may have been posted alone; the rest are members.
        assert len(members) >= 5 and "V-1" not in members
        await bot.slack.wait_for(
            lambda s: bot.proposal_for("V-1") is not None or sent_ts(bot, "route")
        )
        assert all(bot.proposal_for(m) is None for m in members)
        # Members are listed in the group's thread, each once.
        await bot.slack.wait_for(lambda s: set(listed_ids(bot)) == set(members), timeout=30)
        assert max(listed_ids(bot).values()) == 1
        head_ts = sent_ts(bot, "group")[0]
        assert all(c.params["thread_ts"] == head_ts for c in replies(bot))

        # Pull one member out: it is proposed on its own.
        await bot.slack.wait_for(lambda s: sent_ts(bot, "group_list"), timeout=30)
        reply_ts = sent_ts(bot, "group_list")[0]
        pulled = members[-1]
        await bot.click(
            "triage_ungroup", pulled, AGENT, reply_ts, block_prefix=f"triage-group:{group_id}:"
        )
        await bot.slack.wait_for(lambda s: bot.proposal_for(pulled) is not None)
        await bot.slack.wait_for(
            lambda s: any(u.params.get("ts") == reply_ts for u in s.of("chat.update"))
        )

        # Approve all: every remaining member routed once, decided and audited once.
        await bot.click(
            "triage_approve_all", group_id, AGENT, head_ts, block_prefix="triage-group:"
        )
        rest = [m for m in members if m != pulled]
        await bot.slack.wait_for(
            lambda s: all(
                bot.runtime.store.get_ticket(m).status == TicketStatus.ROUTED for m in rest
            ),
            timeout=30,
        )
        tag = bot.runtime.store.get_ticket(rest[0]).final_tag
        channel = bot.runtime.policies.for_tag(tag).route_channel
        await bot.slack.wait_for(
            lambda s: (
                sum(m in c.params["text"] for c in bot.posts_to(channel) for m in rest) >= len(rest)
            )
        )
        routed = Counter(
            token.lstrip("#")
            for c in bot.posts_to(channel)
            for token in c.params["text"].split(": ", 1)[1].split(", ")
        )
        assert all(routed[m] == 1 for m in rest) and routed[pulled] == 0
        assert len(bot.posts_to(channel)) == 1  # grouped in the route channel too
        for member in rest:
            decisions = bot.runtime.store.decisions(member)
            assert [d.action for d in decisions] == ["approve"]
            audit = [e.action for e in bot.runtime.store.audit_events(ticket_id=member)]
            assert audit.count("approve") == 1
        assert bot.runtime.store.get_ticket(pulled).status == TicketStatus.REVIEW

        # A second Approve all changes nothing and says so.
        await bot.click(
            "triage_approve_all", group_id, AGENT, head_ts, block_prefix="triage-group:"
        )
        await bot.slack.wait_for(lambda s: s.responses)
        assert "already decided" in bot.slack.responses[-1]["text"]
        for ticket_id in [f"S-{i}" for i in range(12)]:
            if ticket_id != pulled:
                assert len(bot.runtime.store.decisions(ticket_id)) == 1, ticket_id


@pytest.mark.policies(threshold=0.05)
@pytest.mark.global_policy(ambiguity_margin=0, min_words=0)
async def test_surge_survives_a_restart(start_bot):
    # A call a stopped process had claimed is sent by the next one when its lease runs out.
    restartable = {**SURGE, "outbox_lease_seconds": 2}
    async with start_bot(**restartable) as bot:
        await bot.post_tickets(outage(0, 8))
        await bot.slack.wait_for(lambda s: group_posts(bot), timeout=30)
        await bot.slack.wait_for(lambda s: sent_ts(bot, "group"), timeout=30)
        before = grouped(bot)
    # A new process on the same store: later arrivals join the open group.
    async with start_bot(**restartable) as bot:
        await bot.post_tickets(outage(8, 8))
        members = before + [f"S-{i}" for i in range(8, 16)]
        await bot.slack.wait_for(lambda s: set(listed_ids(bot)) == set(members), timeout=40)
        assert len(group_posts(bot)) == 1 and max(listed_ids(bot).values()) == 1
        head_ts = sent_ts(bot, "group")[0]
        with bot.runtime.store.session() as session:
            assert {m.group_id for m in session.exec(select(GroupMember)).all()} == {1}
        await bot.click("triage_approve_all", "1", AGENT, head_ts, block_prefix="triage-group:")
        await bot.slack.wait_for(
            lambda s: all(
                bot.runtime.store.get_ticket(m).status == TicketStatus.ROUTED for m in members
            ),
            timeout=30,
        )
        assert sorted(grouped(bot)) == sorted(members)
        everyone = [f"S-{i}" for i in range(16)]
        assert all(len(bot.runtime.store.decisions(m)) == 1 for m in everyone)
