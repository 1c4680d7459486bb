"""The handoff watchdog with a controlled clock: breach → page owner → page backup and
escalation; a claim or a decision stops the pages; two processes page once."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import build_runtime
from bot.models import Ticket, TicketStatus
from bot.scheduler import build_scheduler
from bot.tickets import TicketIn
from bot.watchdog import MAX_PAGES_PER_TICK, Watchdog
from tests.conftest import TRIAGE_CHANNEL, BotUnderTest, make_settings
from tests.fakes.slack_api import WAIT_SECONDS, FakeSlack

AGENT = "U0AGENT01"
BILL_OWNER, BILL_BACKUP, ESCALATION = "U0BILLOWNR", "U0BILLBKUP", "U0SUPPLEAD"
# A billing ticket that always needs a human (sarcasm), whatever the length rules are.
INVOICE = {
    "subject": "Question",
    "body": "Could someone look at my invoice? Great job charging me twice, you geniuses.",
}


def pages_for(slack: FakeSlack, ticket_id: str) -> list:
    """chat.postMessage calls that are watchdog pages for this ticket."""
    return [
        c
        for c in slack.of("chat.postMessage")
        if c.params.get("channel") == TRIAGE_CHANNEL
        and "has waited" in c.params.get("text", "")
        and f"#{ticket_id} " in c.params.get("text", "")
    ]


async def eventually(bot: BotUnderTest, predicate, timeout: float = WAIT_SECONDS) -> None:
    """Poll: some predicates depend on the store, which the fake Slack is not told about."""
    deadline = time.monotonic() + timeout
    while not predicate(bot.slack):
        if time.monotonic() > deadline:
            recorded = [(c.method, c.params.get("channel")) for c in bot.slack.calls]
            raise AssertionError(f"timed out waiting; Slack calls so far: {recorded}")
        await asyncio.sleep(0.05)


def block_of(call, kind: str) -> dict:
    return next(b for b in call.params["blocks"] if b["type"] == kind)


def _sent(bot: BotUnderTest, ticket_id: str, purpose: str) -> list:
    return [
        m
        for m in bot.runtime.store.outbox_messages(ticket_id)
        if m.purpose == purpose and m.result_ts
    ]


async def sent_ts(bot: BotUnderTest, ticket_id: str, purpose: str) -> str:
    """The ts Slack gave the latest message of this purpose, once the outbox recorded it."""
    await eventually(bot, lambda s: _sent(bot, ticket_id, purpose))
    return _sent(bot, ticket_id, purpose)[-1].result_ts


async def review_ticket(bot: BotUnderTest, ticket_id: str) -> None:
    response = await bot.post_tickets({"id": ticket_id, **INVOICE})
    assert response.status == 202
    await eventually(bot, lambda s: bot.proposal_for(ticket_id) is not None)
    assert bot.runtime.store.get_ticket(ticket_id).status == TicketStatus.REVIEW


async def handed_off_ticket(bot: BotUnderTest, ticket_id: str) -> None:
    await review_ticket(bot, ticket_id)
    await bot.click("triage_not_sure", ticket_id, AGENT, await sent_ts(bot, ticket_id, "proposal"))
    await eventually(
        bot,
        lambda s: (
            bot.runtime.store.get_ticket(ticket_id).status == TicketStatus.HANDED_OFF
            and any(
                b.get("block_id") == f"handoff:{ticket_id}"
                for c in s.of("chat.postMessage")
                for b in c.params.get("blocks", [])
            )
        ),
    )


def watchdog_of(bot: BotUnderTest) -> Watchdog:
    return Watchdog(bot.runtime.store, bot.runtime.policies, TRIAGE_CHANNEL)


async def test_sla_breach_pages_owner_then_backup_and_escalation_and_claim_stops_it(
    bot: BotUnderTest,
):
    await handed_off_ticket(bot, "W-1")
    t0 = bot.runtime.store.get_ticket("W-1").handed_off_at
    sla = timedelta(minutes=bot.runtime.policies.policies["billing"].handoff_sla_minutes)
    watchdog = watchdog_of(bot)

    assert watchdog.tick(now=t0 + sla - timedelta(seconds=1)) == []

    first = watchdog.tick(now=t0 + sla + timedelta(seconds=1))
    assert [(p.ticket_id, p.level, p.mentioned) for p in first] == [("W-1", 1, [BILL_OWNER])]
    assert watchdog.tick(now=t0 + sla + timedelta(minutes=5)) == []  # once per level
    bot.runtime.worker.kick()
    await eventually(bot, lambda s: len(pages_for(s, "W-1")) == 1)
    page = pages_for(bot.slack, "W-1")[0]
    assert f"<@{BILL_OWNER}>" in page.params["text"]
    assert f"<@{BILL_BACKUP}>" not in page.params["text"]
    actions = block_of(page, "actions")
    assert actions["block_id"] == "handoff:W-1"
    assert [e["action_id"] for e in actions["elements"]] == ["triage_claim"]
    ticket = bot.runtime.store.get_ticket("W-1")
    assert (ticket.page_level, ticket.last_paged_at) == (1, t0 + sla + timedelta(seconds=1))

    second = watchdog.tick(now=t0 + 2 * sla + timedelta(seconds=1))
    assert [(p.level, p.mentioned) for p in second] == [(2, [BILL_OWNER, BILL_BACKUP, ESCALATION])]
    bot.runtime.worker.kick()
    await eventually(bot, lambda s: len(pages_for(s, "W-1")) == 2)
    escalated = pages_for(bot.slack, "W-1")[1]
    shown = block_of(escalated, "section")["text"]["text"]
    for user in (BILL_OWNER, BILL_BACKUP, ESCALATION):
        assert f"<@{user}>" in shown
    assert watchdog.tick(now=t0 + 10 * sla) == []  # two levels, then the ticket stays listed

    await bot.click(
        "triage_claim",
        "W-1",
        BILL_BACKUP,
        await sent_ts(bot, "W-1", "handoff"),
        block_prefix="handoff:",
    )
    await eventually(
        bot, lambda s: bot.runtime.store.get_ticket("W-1").status == TicketStatus.CLAIMED
    )
    assert watchdog.tick(now=t0 + 20 * sla) == []
    actions = [e.action for e in bot.runtime.store.audit_events(ticket_id="W-1")]
    assert actions == ["ticket_received", "proposed", "not_sure", "page", "page", "claim"]
    pages = [e for e in bot.runtime.store.audit_events(ticket_id="W-1") if e.action == "page"]
    assert [e.detail["level"] for e in pages] == [1, 2]
    assert pages[1].detail["mentioned"] == [BILL_OWNER, BILL_BACKUP, ESCALATION]
    assert pages[0].actor == "bot" and pages[0].policy == "billing"


async def test_claim_before_the_second_breach_means_no_backup_is_ever_paged(bot: BotUnderTest):
    await handed_off_ticket(bot, "W-2")
    t0 = bot.runtime.store.get_ticket("W-2").handed_off_at
    watchdog = watchdog_of(bot)
    assert [p.level for p in watchdog.tick(now=t0 + timedelta(minutes=31))] == [1]
    bot.runtime.worker.kick()
    await eventually(bot, lambda s: len(pages_for(s, "W-2")) == 1)

    await bot.click(
        "triage_claim",
        "W-2",
        BILL_OWNER,
        await sent_ts(bot, "W-2", "handoff"),
        block_prefix="handoff:",
    )
    await eventually(
        bot, lambda s: bot.runtime.store.get_ticket("W-2").status == TicketStatus.CLAIMED
    )
    assert watchdog.tick(now=t0 + timedelta(minutes=61)) == []
    assert watchdog.tick(now=t0 + timedelta(days=3)) == []
    # A page is audited and queued in the tick's own transaction: once nothing is left to
    # send, a page the ticks had queued after all would have reached Slack.
    actions = [e.action for e in bot.runtime.store.audit_events(ticket_id="W-2")]
    assert actions.count("page") == 1
    bot.runtime.worker.kick()
    await eventually(bot, lambda s: not bot.runtime.store.outbox_counts(("pending",)))
    assert len(pages_for(bot.slack, "W-2")) == 1
    everything = " ".join(str(c.params) for c in bot.slack.of("chat.postMessage"))
    assert f"<@{BILL_BACKUP}>" not in everything


async def test_unreviewed_ticket_is_paged_with_the_triage_controls_and_a_decision_stops_it(
    bot: BotUnderTest,
):
    await review_ticket(bot, "W-3")
    received = bot.runtime.store.get_ticket("W-3").received_at
    watchdog = watchdog_of(bot)
    assert watchdog.tick(now=received + timedelta(minutes=29)) == []
    assert [p.level for p in watchdog.tick(now=received + timedelta(minutes=30, seconds=5))] == [1]
    bot.runtime.worker.kick()
    await eventually(bot, lambda s: len(pages_for(s, "W-3")) == 1)
    page = pages_for(bot.slack, "W-3")[0]
    assert "Nobody has reviewed it" in str(page.params["blocks"])
    controls = block_of(page, "actions")
    assert controls["block_id"] == "triage:W-3"
    assert [e["action_id"] for e in controls["elements"]] == [
        "triage_approve",
        "triage_reassign",
        "triage_not_sure",
    ]

    # Approving from the page decides the ticket; no more pages.
    await bot.click("triage_approve", "W-3", BILL_OWNER, await sent_ts(bot, "W-3", "handoff"))
    await eventually(
        bot, lambda s: bot.runtime.store.get_ticket("W-3").status == TicketStatus.ROUTED
    )
    assert watchdog.tick(now=received + timedelta(hours=5)) == []
    assert len(pages_for(bot.slack, "W-3")) == 1


class ExplodingClassifier:
    """A classifier that fails, as a broken model or endpoint would."""

    version = "broken-1"
    tags = ("billing", "bug")

    def predict(self, _text: str):
        raise RuntimeError("model crashed")


async def test_failed_classification_is_paged_and_says_so(bot: BotUnderTest):
    bot.runtime.service.classifier = ExplodingClassifier()  # type: ignore[assignment]
    await bot.post_tickets({"id": "W-4", "subject": "???", "body": "help"})
    await eventually(bot, lambda s: bot.proposal_for("W-4") is not None)
    ticket = bot.runtime.store.get_ticket("W-4")
    assert "classifier_error" in bot.runtime.store.latest_proposal("W-4").guardrails
    sla = bot.runtime.policies.policies[ticket.policy].handoff_sla_minutes
    owner = bot.runtime.policies.policies[ticket.policy].owner
    pages = watchdog_of(bot).tick(now=ticket.received_at + timedelta(minutes=sla, seconds=1))
    assert [(p.ticket_id, p.mentioned) for p in pages] == [("W-4", [owner])]
    bot.runtime.worker.kick()
    await eventually(bot, lambda s: len(pages_for(s, "W-4")) == 1)
    assert "Classification failed" in str(pages_for(bot.slack, "W-4")[0].params["blocks"])
    audit = [e for e in bot.runtime.store.audit_events(ticket_id="W-4") if e.action == "page"]
    assert audit[0].detail["failed_classification"] is True


async def test_status_lists_what_is_waiting_with_ages_and_page_levels(bot: BotUnderTest):
    await handed_off_ticket(bot, "W-5")
    await review_ticket(bot, "W-6")
    t0 = bot.runtime.store.get_ticket("W-5").handed_off_at
    early = bot.runtime.control.status(now=t0 + timedelta(minutes=10))
    assert "2 ticket(s) waiting for a human" in early
    assert all("not paged yet" in line for line in early.splitlines() if "• #W-" in line)
    watchdog_of(bot).tick(now=t0 + timedelta(minutes=31))

    text = bot.runtime.control.status(now=t0 + timedelta(minutes=45))
    assert "2 ticket(s) waiting for a human" in text
    line_5 = next(line for line in text.splitlines() if "#W-5" in line)
    assert "handed off" in line_5 and "45 min" in line_5 and "paged owner" in line_5
    line_6 = next(line for line in text.splitlines() if "#W-6" in line)
    assert "in review" in line_6 and "paged owner" in line_6

    # The slash command answers with the same list.
    response = await bot.command("/triage-status", "", AGENT)
    assert response.status == 200
    await eventually(bot, lambda s: s.responses)
    answer = bot.slack.responses[-1]["text"]
    assert "#W-5" in answer and "#W-6" in answer and "paged owner" in answer


def test_two_processes_ticking_at_once_page_a_ticket_once(database_url: str, policies_dir: Path):
    settings = make_settings(database_url=database_url, policies_dir=policies_dir)
    first, second = build_runtime(settings), build_runtime(settings)
    try:
        first.service.intake([_ticket("W-7")], source="test")
        first.service.process_new()
        assert first.service.hand_off("W-7", AGENT, (TRIAGE_CHANNEL, "1.1")).applied
        t0 = first.store.get_ticket("W-7").handed_off_at
        watchdogs = [Watchdog(rt.store, rt.policies, TRIAGE_CHANNEL) for rt in (first, second)]
        for minutes, level in ((31, 1), (61, 2)):
            pages_queued = race([wd.tick for wd in watchdogs], t0 + timedelta(minutes=minutes))
            assert [p.level for p in pages_queued] == [level]
        pages = [m for m in first.store.outbox_messages("W-7") if m.purpose == "handoff"]
        assert len(pages) == 3  # the "Not sure" handoff and one page per level
        audit = [e for e in second.store.audit_events(ticket_id="W-7") if e.action == "page"]
        assert [e.detail["level"] for e in audit] == [1, 2]
    finally:
        first.engine.dispose()
        second.engine.dispose()


def _ticket(ticket_id: str) -> TicketIn:
    return TicketIn(id=ticket_id, **INVOICE)


def race(ticks: list, now) -> list:
    """Run the ticks in threads released at the same moment; all pages they queued."""
    results: list[list] = [[] for _ in ticks]
    barrier = threading.Barrier(len(ticks))

    def run(index: int) -> None:
        barrier.wait()
        results[index] = ticks[index](now=now)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(ticks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [page for result in results for page in result]


def test_a_backlog_is_paged_oldest_first_a_bounded_number_per_tick(
    database_url: str, policies_dir: Path
):
    runtime = build_runtime(make_settings(database_url=database_url, policies_dir=policies_dir))
    try:
        start = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
        with runtime.store.session() as session:
            for n in range(MAX_PAGES_PER_TICK + 5):
                session.add(
                    Ticket(
                        id=f"B-{n:03d}",
                        subject="backlog",
                        received_at=start + timedelta(seconds=n),
                        status=TicketStatus.REVIEW.value,
                        policy="billing",
                    )
                )
            session.commit()
        watchdog = Watchdog(runtime.store, runtime.policies, TRIAGE_CHANNEL)
        now = start + timedelta(minutes=40)
        first = watchdog.tick(now=now)
        assert [p.ticket_id for p in first] == [f"B-{n:03d}" for n in range(MAX_PAGES_PER_TICK)]
        rest = watchdog.tick(now=now + timedelta(minutes=1))
        assert [p.ticket_id for p in rest] == [
            f"B-{n:03d}" for n in range(MAX_PAGES_PER_TICK, MAX_PAGES_PER_TICK + 5)
        ]
        assert watchdog.tick(now=now + timedelta(minutes=2)) == []
        queued = [m for m in runtime.store.outbox_messages() if m.purpose == "handoff"]
        assert len(queued) == MAX_PAGES_PER_TICK + 5
        assert {m.payload["channel"] for m in queued} == {TRIAGE_CHANNEL}
    finally:
        runtime.engine.dispose()


async def test_the_scheduled_job_inside_serve_pages_and_delivers(
    database_url: str, fake_slack: FakeSlack, policies_dir: Path
):
    """The registrar in JOB_REGISTRARS: the real scheduler fires it, the worker posts the page."""
    settings = make_settings(
        database_url=database_url, slack_api_url=fake_slack.api_url, policies_dir=policies_dir
    )
    runtime = build_runtime(settings)
    scheduler = build_scheduler(runtime)
    with runtime.store.session() as session:
        session.add(
            Ticket(
                id="W-9",
                subject="old",
                received_at=datetime.now(UTC) - timedelta(minutes=45),
                status=TicketStatus.REVIEW.value,
                policy="billing",
            )
        )
        session.commit()
    try:
        runtime.worker.start()
        scheduler.start()
        scheduler.modify_job("handoff_watchdog", next_run_time=datetime.now(UTC))
        deadline = time.monotonic() + 10
        while not pages_for(fake_slack, "W-9"):
            assert time.monotonic() < deadline, "the watchdog job never paged"
            await asyncio.sleep(0.05)
    finally:
        scheduler.shutdown(wait=False)
        await runtime.close()
    assert f"<@{BILL_OWNER}>" in pages_for(fake_slack, "W-9")[0].params["text"]
    assert runtime.store.get_ticket("W-9").page_level == 1
