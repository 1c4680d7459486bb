"""Surge groups with several processes on one store, and the other group controls.

Two services classify one burst at once (threads, separate engines, as two processes
would): every ticket is recorded once, in at most one group, and either grouped or posted
alone, never both; Reassign all then decides each member exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from bot.channel.models import GroupMember, MemberKind
from bot.classifier import load_classifier
from bot.db import make_engine
from bot.models import Decision, OutboxMessage, TicketStatus
from bot.policies import require_policies
from bot.service import TriageService
from bot.store import Store
from bot.tickets import TicketIn
from tests.channel.test_surge import SURGE, group_posts, outage, sent_ts
from tests.conftest import make_settings

AGENT = "U0AGENT01"


def service_for(database_url: str, policies_dir: Path) -> TriageService:
    settings = make_settings(
        database_url=database_url, policies_dir=policies_dir, surge_min_tickets=5
    )
    engine = make_engine(database_url)
    classifier = load_classifier("local", settings=settings, engine=engine)
    return TriageService(
        settings, Store(engine), classifier, require_policies(policies_dir, list(classifier.tags))
    )


@pytest.mark.policies(threshold=0.05)
@pytest.mark.global_policy(ambiguity_margin=0, min_words=0)
def test_two_processes_group_a_burst_without_losing_or_doubling(
    database_url: str, policies_dir: Path
):
    first, second = (service_for(database_url, policies_dir) for _ in range(2))
    burst = outage(0, 60)
    first.intake([TicketIn.from_raw(t) for t in burst], "test")
    errors: list[BaseException] = []

    def work(service: TriageService) -> None:
        try:
            while service.process_new(limit=7, batch=7):
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    store = first.store
    ids = [t["id"] for t in burst]
    with store.session() as session:
        members = {m.ticket_id: m for m in session.exec(select(GroupMember)).all()}
        posts = Counter(
            m.ticket_id
            for m in session.exec(select(OutboxMessage)).all()
            if m.purpose == "proposal"
        )
    assert all(store.get_ticket(i).status != TicketStatus.NEW for i in ids)
    assert len(members) >= 40  # the burst is grouped (the first few may stand alone)
    for ticket_id in ids:
        # A member (plain or guarded) is listed in the group's thread, never posted alone.
        grouped = ticket_id in members
        assert (
            posts[ticket_id] + grouped == 1 or store.get_ticket(ticket_id).status == "auto_routed"
        )
        assert posts[ticket_id] <= 1
    assert all(len(store.audit_events(ticket_id=i)) >= 2 for i in ids)

    # Reassign all, twice from two processes: each member decided exactly once.
    groups = sorted({m.group_id for m in members.values()})
    for group_id in groups:
        a = first.surge.decide(group_id, AGENT, ("C0TRIAGE", "1.1"), tag="bug")
        b = second.surge.decide(group_id, AGENT, ("C0TRIAGE", "1.1"), tag="bug")
        assert a.applied and not b.applied
    with store.session() as session:
        decided = Counter(d.ticket_id for d in session.exec(select(Decision)).all())
    for ticket_id, member in members.items():
        assert decided[ticket_id] == 1
        if member.kind == MemberKind.MEMBER:
            assert store.get_ticket(ticket_id).final_tag == "bug"
    for service in (first, second):
        service.store.engine.dispose()


@pytest.mark.policies(threshold=0.05)
@pytest.mark.global_policy(ambiguity_margin=0, min_words=0)
async def test_group_not_sure_pages_the_owner_once(start_bot):
    async with start_bot(**SURGE) as bot:
        await bot.post_tickets(outage(0, 10))
        await bot.slack.wait_for(lambda s: group_posts(bot) and sent_ts(bot, "group"), timeout=30)
        head_ts = sent_ts(bot, "group")[0]
        for _ in range(2):
            await bot.click(
                "triage_group_not_sure", "1", AGENT, head_ts, block_prefix="triage-group:"
            )
        await bot.slack.wait_for(
            lambda s: any(
                "group 1 needs you" in c.params.get("text", "") for c in s.of("chat.postMessage")
            )
        )
        await bot.slack.wait_for(lambda s: s.responses)
        assert "already handed" in bot.slack.responses[-1]["text"]
        pages = [
            c for c in bot.slack.of("chat.postMessage") if "needs you" in c.params.get("text", "")
        ]
        assert len(pages) == 1
        tag = bot.runtime.store.get_ticket("S-9").proposed_tag
        owner = bot.runtime.policies.for_tag(tag).owner
        assert f"<@{owner}>" in pages[0].params["text"]
        # The group is still one: the owner decides it with Reassign all.
        await bot.click(
            "triage_reassign_all", "1", owner, head_ts, block_prefix="triage-group:", selected="bug"
        )
        await bot.slack.wait_for(lambda s: bot.runtime.store.get_ticket("S-9").final_tag == "bug")
