"""Clicks queued together are decided together: one transaction and one commit per hop of
the click lane, yet each click stands alone in what it changes and what its clicker hears.

A refused click (its ticket was already decided) refuses only itself; a click that fails
in the batch makes the lane roll the batch back and run each click alone, so the others
still land, each decision once. What a decision does after its commit (hand its
chat.update over, settle) runs only once that commit is made. Real databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from bot.group_commit import SerialLane
from bot.models import AuditEvent, OutboxMessage, TicketStatus
from bot.store import OutboxItem, Store, Transition
from tests.conftest import BotUnderTest
from tests.reliability.helpers import eventually
from tests.reliability.helpers import review_ticket as _ticket
from tests.reliability.test_retries_and_double_clicks import AGENT, posted_review, review_only

LEASE = timedelta(seconds=60)


def _decide(store: Store, ticket_id: str, update_key: str | None = None) -> Transition:
    """A decision as a click makes it: the clicked message's update and an audit row."""
    key = update_key or f"update:{ticket_id}"
    return store.transition(
        ticket_id,
        [TicketStatus.REVIEW],
        {"status": TicketStatus.ROUTED.value, "final_tag": "billing", "decided_by": "U1"},
        None,
        AuditEvent(actor="U1", action="approve", ticket_id=ticket_id),
        [OutboxItem.message_update(key, "C1", f"1.{ticket_id[-1]}", "Approved", [], ticket_id)],
    )


def _commits(store: Store) -> list[int]:
    """A counter of the commits made on the store's engine from now on."""
    counted = [0]

    @event.listens_for(store.engine, "commit")
    def _count(_connection) -> None:
        counted[0] += 1

    return counted


def _status(store: Store, ticket_id: str) -> str:
    return str(store.get_ticket(ticket_id).status)


def _approvals(store: Store, ticket_id: str) -> int:
    return [e.action for e in store.audit_events(ticket_id=ticket_id)].count("approve")


async def _in_one_hop(lane: SerialLane, calls: list[Callable[[], object]]) -> list[object]:
    """Queue every call before the lane starts its hop; each caller's answer or error."""
    return await asyncio.gather(*(lane.run(call) for call in calls), return_exceptions=True)


async def test_a_hops_decisions_commit_together_and_a_refused_one_refuses_only_itself(
    store: Store,
):
    for ticket_id in ("B1", "B2", "B3"):
        _ticket(store, ticket_id)
    assert _decide(store, "B2").applied  # decided before the burst: its click is refused
    committed_when_handed: list[tuple[str, bool]] = []

    def take(rows: list[OutboxMessage]) -> None:
        # Handed over only once committed: another connection already sees the row.
        for row in rows:
            with store.engine.connect() as other:
                seen = other.execute(
                    select(OutboxMessage.__table__.c.id).where(
                        OutboxMessage.__table__.c.id == row.id
                    )
                ).first()
            committed_when_handed.append((row.ticket_id, seen is not None))

    store.hand_updates_to(take, LEASE)
    commits = _commits(store)
    lane = SerialLane(together=store.batched)

    first, refused, third = await _in_one_hop(
        lane,
        [lambda: _decide(store, "B1"), lambda: _decide(store, "B2"), lambda: _decide(store, "B3")],
    )

    assert (first.applied, refused.applied, third.applied) == (True, False, True)
    assert str(refused.ticket.status) == TicketStatus.ROUTED.value  # as it is, for its clicker
    assert commits[0] == 1  # one transaction for the hop
    assert [_status(store, t) for t in ("B1", "B2", "B3")] == [TicketStatus.ROUTED.value] * 3
    assert [_approvals(store, t) for t in ("B1", "B2", "B3")] == [1, 1, 1]
    assert committed_when_handed == [("B1", True), ("B3", True)]
    lane.executor.shutdown(wait=True)


async def test_a_click_that_fails_in_a_batch_fails_alone_and_the_others_land_once(
    store: Store,
):
    for ticket_id in ("F1", "F2", "F3"):
        _ticket(store, ticket_id)
    handed: list[str] = []
    store.hand_updates_to(lambda rows: handed.extend(r.ticket_id for r in rows), LEASE)
    after: list[str] = []
    lane = SerialLane(together=store.batched)

    def failing() -> Transition:
        # Its update reuses F1's outbox key: the insert breaks the transaction it is in.
        result = _decide(store, "F2", update_key="update:F1")
        store.after_commit(lambda: after.append("F2"))
        return result

    def decide_with_hook(ticket_id: str) -> Callable[[], Transition]:
        def call() -> Transition:
            result = _decide(store, ticket_id)
            store.after_commit(lambda: after.append(ticket_id))
            return result

        return call

    one, broken, three = await _in_one_hop(
        lane, [decide_with_hook("F1"), failing, decide_with_hook("F3")]
    )

    assert one.applied and three.applied
    assert isinstance(broken, IntegrityError)  # its clicker is told it failed
    assert _status(store, "F2") == TicketStatus.REVIEW.value  # nothing of it was kept
    assert [_approvals(store, t) for t in ("F1", "F2", "F3")] == [1, 0, 1]
    # The rolled-back batch handed nothing over and ran no hook: each happened once.
    assert handed == ["F1", "F3"]
    assert after == ["F1", "F3"]
    lane.executor.shutdown(wait=True)


async def test_outside_a_batch_a_hook_runs_at_once(store: Store):
    ran: list[str] = []
    store.after_commit(lambda: ran.append("now"))
    assert ran == ["now"]
    with store.batched():
        store.after_commit(lambda: ran.append("later"))
        assert ran == ["now"]
    assert ran == ["now", "later"]


@review_only
async def test_a_burst_of_clicks_where_one_ticket_was_already_decided(bot: BotUnderTest):
    stamps = {t: await posted_review(bot, t) for t in ("BB-1", "BB-2", "BB-3")}
    first = await bot.click("triage_approve", "BB-2", AGENT, stamps["BB-2"])
    assert first.status == 200
    await bot.slack.wait_for(lambda s: len(s.of("chat.update")) == 1)

    answers = await asyncio.gather(
        *(bot.click("triage_approve", t, f"U0OTHER0{i}", stamps[t]) for i, t in enumerate(stamps))
    )

    assert {a.status for a in answers} == {200}
    # The two undecided tickets are updated; the late clicker on BB-2 alone hears why not.
    await bot.slack.wait_for(lambda s: len(s.of("chat.update")) == 3 and len(s.responses) == 1)
    assert {c.params["ts"] for c in bot.slack.of("chat.update")} == set(stamps.values())
    assert "already routed" in bot.slack.responses[0]["text"]
    assert "BB-2" in bot.slack.responses[0]["text"]
    store = bot.runtime.store
    await eventually(lambda: not store.outbox_counts().get("pending"))
    assert [[d.actor for d in store.decisions(t)] for t in stamps] == [
        ["U0OTHER00"],
        [AGENT],
        ["U0OTHER02"],
    ]
