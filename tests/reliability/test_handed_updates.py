"""A click's chat.update is handed to the sender by the transition that queued it.

The row is written leased to this process in the decision's own transaction, so sending it
needs no claim, no other process takes it, and a process that dies before sending it
leaves it to the update lane once the lease runs out. One message's updates go out in
order, even when one of them had to wait in the lane (pacing, Retry-After), and an older
update is never sent after a newer one of the same message (each replaces the whole
message, so the older one is superseded). Real databases and a local Slack Web API server.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from bot.group_commit import SerialLane
from bot.models import AuditEvent, OutboxStatus, TicketStatus
from bot.outbox import UPDATE_BUCKET, UPDATES
from bot.pacing import ChannelPacer
from bot.store import OutboxItem, Store
from tests.conftest import TRIAGE_CHANNEL, BotUnderTest
from tests.fakes.slack_api import FakeSlack
from tests.reliability.helpers import eventually, handing, store_of
from tests.reliability.helpers import review_ticket as _ticket

LEASE = timedelta(seconds=60)


def _decide(store: Store, ticket_id: str, ts: str = "1.1", text: str = "Approved"):
    """A decision as a click makes it: the message's update and a post to the route."""
    return store.transition(
        ticket_id,
        [TicketStatus.REVIEW],
        {"status": TicketStatus.ROUTED.value, "final_tag": "billing"},
        None,
        AuditEvent(actor="U1", action="approve", ticket_id=ticket_id),
        [
            OutboxItem.message_update(f"update:{ticket_id}", "C1", ts, text, [], ticket_id),
            OutboxItem(
                dedupe_key=f"route:{ticket_id}",
                method="chat.postMessage",
                payload={"channel": "C2", "text": "routed"},
                ticket_id=ticket_id,
                purpose="route",
            ),
        ],
    )


def test_a_decisions_update_is_handed_over_leased_and_its_post_left_to_the_lane(store: Store):
    _ticket(store, "T1")
    handed: list = []
    store.hand_updates_to(handed.extend, LEASE)

    assert _decide(store, "T1").applied
    assert [(r.method, r.dedupe_key, r.attempts) for r in handed] == [
        ("chat.update", "update:T1", 1)
    ]
    row = handed[0]
    assert row.id is not None and row.payload["ts"] == "1.1" and row.ticket_id == "T1"
    # Leased to this process: a claim (this one's or another's) takes only the route post.
    assert [r.method for r in store.claim_outbox(10, LEASE)] == ["chat.postMessage"]
    store.outbox_sent_many([(row.id, "C1", "1.1")])
    statuses = {m.dedupe_key: m.status for m in store.outbox_messages("T1")}
    assert statuses["update:T1"] == OutboxStatus.SENT.value


def test_a_handed_update_never_sent_is_claimed_once_its_lease_runs_out(store: Store):
    # The process died between the decision's commit and the send: nothing is lost.
    _ticket(store, "T2")
    store.hand_updates_to(lambda rows: None, timedelta(0))  # a lease that is already over

    assert _decide(store, "T2").applied
    rows = store.claim_outbox(10, LEASE, only_methods=["chat.update"])
    assert [(r.dedupe_key, r.attempts) for r in rows] == [("update:T2", 2)]


def test_a_refused_decision_hands_nothing_and_without_a_sender_the_lane_claims(store: Store):
    _ticket(store, "T3")
    handed: list = []
    store.hand_updates_to(handed.extend, LEASE)
    assert _decide(store, "T3").applied
    assert not _decide(store, "T3").applied  # a second click on a decided ticket
    assert len(handed) == 1

    _ticket(store, "T4")
    store.hand_updates_to(None)
    assert _decide(store, "T4").applied
    rows = store.claim_outbox(10, LEASE, only_methods=["chat.update"])
    assert [(r.dedupe_key, r.attempts) for r in rows] == [("update:T4", 1)]


async def test_updates_of_one_message_keep_their_order_when_one_waited_in_the_lane(
    store: Store, fake_slack: FakeSlack
):
    async with handing(store, fake_slack.api_url) as dispatcher:
        # chat.update is held (as a Retry-After would hold it): the first update is given
        # back to the lane, not sent.
        dispatcher.update_pacer.hold(UPDATE_BUCKET, 3600)
        _ticket(store, "A")
        _ticket(store, "B")
        assert _decide(store, "A", text="first").applied
        await dispatcher.finish_handed(10)
        # The hold is over; the same message's next update must not overtake the first,
        # nor may another message's: they queue behind it, first come, first served.
        dispatcher.update_pacer = ChannelPacer(rate=0, burst=1)
        _ticket(store, "B2")
        assert _decide(store, "B", text="second").applied
        assert _decide(store, "B2", ts="2.2", text="other message").applied
        await dispatcher.finish_handed(10)
        assert fake_slack.of("chat.update") == []

        # Each update replaces the whole message: the first, older, is superseded by the
        # second and never sent after it (or at all).
        assert await dispatcher.drain(UPDATES) == 2
        sent = [(c.params["ts"], c.params["text"]) for c in fake_slack.of("chat.update")]
        assert [text for ts, text in sent if ts == "1.1"] == ["second"]
        assert [text for ts, text in sent if ts == "2.2"] == ["other message"]
        statuses = {m.dedupe_key: m.status for m in store.outbox_messages()}
        assert statuses["update:A"] == OutboxStatus.SUPERSEDED.value
        assert statuses["update:B"] == OutboxStatus.SENT.value
        # Once the lane is empty, the message's updates are handed straight over again.
        _ticket(store, "C")
        assert _decide(store, "C", text="third").applied
        await dispatcher.finish_handed(10)
        assert [c.params["text"] for c in fake_slack.of("chat.update")][-1] == "third"
        statuses = {m.dedupe_key: m.status for m in store.outbox_messages()}
        assert statuses["update:C"] == OutboxStatus.SENT.value  # marked once quiet


@pytest.mark.policies(mode="suggest")
async def test_a_click_is_answered_by_a_handed_update_and_marked_sent(bot: BotUnderTest):
    await bot.post_tickets({"id": "h1", "subject": "Invoice", "body": "charged twice"})
    ts = await bot.proposal_ts("h1")
    assert bot.runtime.dispatcher.handed_at == float("-inf")

    assert (await bot.click("triage_approve", "h1", "U0AGENT01", ts)).status == 200
    await bot.slack.wait_for(lambda s: len(s.of("chat.update")) == 1, timeout=20)
    update = bot.slack.of("chat.update")[0]
    assert update.params["channel"] == TRIAGE_CHANNEL and update.params["ts"] == ts
    assert bot.runtime.dispatcher.handed_at > float("-inf")  # it did not wait for a claim

    def marked() -> bool:
        rows = bot.runtime.store.outbox_messages("h1")
        return any(m.method == "chat.update" and m.status == "sent" for m in rows)

    await eventually(marked)


async def test_the_click_lane_has_room_again_once_its_calls_are_decided():
    lane = SerialLane(per_hop=2)
    loop = asyncio.get_running_loop()
    gate = asyncio.Event()

    def blocked() -> int:
        asyncio.run_coroutine_threadsafe(gate.wait(), loop).result(timeout=30)
        return 1

    calls = [asyncio.ensure_future(lane.run(blocked)) for _ in range(3)]
    await asyncio.sleep(0)
    assert lane.depth == 3
    assert await lane.room(3, timeout=0.05) is False  # full: the caller waited its bound
    assert await lane.room(4, timeout=0.05) is True  # below the depth asked for

    waiting = asyncio.ensure_future(lane.room(2, timeout=30))
    gate.set()
    assert await waiting is True
    assert await asyncio.gather(*calls) == [1, 1, 1]
    assert lane.depth == 0


async def test_finishing_waits_for_the_marks_a_late_write_is_writing(
    database_url: str, fake_slack: FakeSlack
):
    # Shutting down: the late-mark task has taken the marks and is writing them when the
    # process finishes its handed updates. Finishing waits for that write, so the update
    # is marked sent before the store closes (not sent again after a restart).
    class SlowMarks(Store):
        """A real store whose mark write waits at a gate (a slow commit)."""

        entered = threading.Event()
        gate = threading.Event()

        def outbox_sent_many(self, marks):
            self.entered.set()
            self.gate.wait(10)
            return super().outbox_sent_many(marks)

    with store_of(SlowMarks, database_url) as store:
        try:
            async with handing(store, fake_slack.api_url) as dispatcher:
                _ticket(store, "L1")
                assert _decide(store, "L1").applied
                await fake_slack.wait_for(lambda s: len(s.of("chat.update")) == 1)
                # The late write is under way.
                assert await asyncio.to_thread(store.entered.wait, 10)
                finishing = asyncio.ensure_future(dispatcher.finish_handed(10))
                await asyncio.sleep(0.2)
                assert not finishing.done()
                store.gate.set()
                await finishing
        finally:
            store.gate.set()
        statuses = {m.dedupe_key: m.status for m in store.outbox_messages("L1")}
        assert statuses["update:L1"] == OutboxStatus.SENT.value
