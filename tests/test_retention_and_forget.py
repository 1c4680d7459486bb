"""Retention (`RETENTION_DAYS`) and erasure (`triage-bot forget`): ticket text and personal data
go, the append-only audit trail keeps its metadata, and it never held the text to begin
with. The running bot, Slack over real HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.cli import main
from bot.db import make_engine
from bot.models import AuditEvent, OutboxMessage, Ticket, TicketStatus, utcnow
from bot.retention import apply_retention, retention_once
from bot.store import Store
from bot.tickets import TicketIn
from tests.conftest import GLOBAL_OWNER, TRIAGE_CHANNEL, BotUnderTest

AGENT = "U0AGENT01"
review_only = pytest.mark.policies(mode="suggest")

SECRET_SUBJECT = "Zanzibar refund for Mrs Quillfeather"
SECRET_BODY = "My card 4929-1111-2222-3333 was charged twice; call me on +44 20 7946 0991"
SECRET_REQUESTER = "Olga Quillfeather <olga.quillfeather@example.com>"
SECRETS = ("Zanzibar", "Quillfeather", "4929-1111", "7946 0991", "olga.quillfeather")


def _audit_text(store: Store) -> str:
    with store.session() as session:
        rows = session.exec(select(AuditEvent)).all()
    return json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False)


def _outbox_text(store: Store, ticket_id: str) -> str:
    rows = store.outbox_messages(ticket_id)
    return json.dumps([r.payload for r in rows], ensure_ascii=False)


async def _post_and_wait(bot: BotUnderTest, ticket_id: str, requester: str = SECRET_REQUESTER):
    response = await bot.post_tickets(
        {"id": ticket_id, "subject": SECRET_SUBJECT, "body": SECRET_BODY, "requester": requester}
    )
    assert response.status == 202
    await bot.slack.wait_for(lambda s: bot.proposal_for(ticket_id) is not None)
    return bot.proposal_for(ticket_id)


def _cli_env(monkeypatch, tmp_path: Path, database_url: str) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env
    monkeypatch.setenv("DATABASE_URL", database_url)


@review_only
async def test_the_audit_trail_never_holds_ticket_text_or_personal_data(bot: BotUnderTest):
    """Every kind of event the ticket's life writes: received, proposed, clicks, handoff."""
    await _post_and_wait(bot, "PD-1")
    await bot.click("triage_approve", "PD-1", AGENT, await bot.proposal_ts("PD-1"))
    await _post_and_wait(bot, "PD-2")
    await bot.click("triage_not_sure", "PD-2", AGENT, await bot.proposal_ts("PD-2"))
    await bot.command("/triage-pause", "all Quillfeather", GLOBAL_OWNER)  # owner's own words
    store = bot.runtime.store

    def settled() -> bool:
        actions = [e.action for e in store.audit_events()]
        return "approve" in actions and "not_sure" in actions and "pause" in actions

    await bot.slack.wait_for(lambda s: settled())
    pause_reason = next(e for e in store.audit_events() if e.action == "pause").detail["reason"]
    assert pause_reason == "Quillfeather"  # typed by the owner, not taken from a ticket
    trail = _audit_text(store).replace('"reason": "Quillfeather"', "")
    for secret in SECRETS:
        assert secret not in trail, f"audit rows carry {secret!r}"


@review_only
async def test_forget_a_ticket_erases_its_text_everywhere_and_keeps_the_audit_metadata(
    bot: BotUnderTest, monkeypatch, tmp_path, capsys
):
    await _post_and_wait(bot, "FG-1")
    store = bot.runtime.store
    await bot.slack.wait_for(lambda s: store.outbox_messages("FG-1")[0].result_ts is not None)
    posted_ts = store.outbox_messages("FG-1")[0].result_ts
    before = [(e.id, e.action) for e in store.audit_events(ticket_id="FG-1")]
    assert SECRET_SUBJECT in _outbox_text(store, "FG-1")

    _cli_env(monkeypatch, tmp_path, str(store.engine.url.render_as_string(hide_password=False)))
    assert await asyncio.to_thread(main, ["forget", "--ticket", "FG-1"]) == 0
    assert capsys.readouterr().out.strip() == "erased 1 ticket(s): FG-1"

    ticket = store.get_ticket("FG-1")
    assert (ticket.subject, ticket.body, ticket.requester) == ("", "", "")
    assert ticket.erased_at is not None and ticket.status == TicketStatus.REVIEW
    after = [(e.id, e.action) for e in store.audit_events(ticket_id="FG-1")]
    assert after[: len(before)] == before and after[-1][1] == "erased"
    erased_row = store.audit_events(ticket_id="FG-1")[-1]
    assert erased_row.actor == "cli:forget" and erased_row.detail == {"reason": "erasure request"}

    # The posted proposal is replaced by a notice that keeps the buttons (still undecided).
    def replaced(slack) -> bool:
        return any(
            c.params.get("ts") == posted_ts and "erased" in c.params.get("text", "")
            for c in slack.of("chat.update")
        )

    await bot.slack.wait_for(replaced)
    update_call = next(c for c in bot.slack.of("chat.update") if "erased" in c.params["text"])
    assert any(b["type"] == "actions" for b in update_call.params["blocks"])
    outbox = _outbox_text(store, "FG-1")
    for secret in SECRETS:
        assert secret not in outbox and secret not in json.dumps(
            update_call.params, ensure_ascii=False
        )
    # Known by id still: the same ticket sent again is not stored again.
    again = await bot.post_tickets({"id": "FG-1", "subject": SECRET_SUBJECT})
    assert (await again.json())["duplicates"] == ["FG-1"]
    assert store.get_ticket("FG-1").subject == ""


def test_forget_a_requester_erases_only_their_tickets(database_url, monkeypatch, tmp_path, capsys):
    engine = make_engine(database_url)
    store = Store(engine)
    store.add_tickets(
        [
            TicketIn(id="R-1", subject="a", body=SECRET_BODY, requester=SECRET_REQUESTER),
            TicketIn(id="R-2", subject="b", requester="OLGA.QUILLFEATHER@example.com"),
            TicketIn(id="R-3", subject="c", requester="bob@example.com"),
            TicketIn(id="R-4", subject="d", requester="notolga.quillfeather@example.com"),
        ],
        "test",
    )
    _cli_env(monkeypatch, tmp_path, database_url)
    who = "olga.quillfeather@example.com"
    assert main(["forget", "--requester", who, "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == "would erase 2 ticket(s): R-1, R-2"
    assert store.get_ticket("R-1").body == SECRET_BODY  # a dry run changes nothing
    assert main(["forget", "--requester", who]) == 0
    out = capsys.readouterr().out
    assert "erased 2 ticket(s): R-1, R-2" in out and who not in out
    assert store.get_ticket("R-1").requester == "" and store.get_ticket("R-1").body == ""
    assert store.get_ticket("R-2").requester == ""
    assert store.get_ticket("R-3").requester == "bob@example.com"
    assert store.get_ticket("R-4").requester.startswith("notolga")
    assert main(["forget", "--requester", who]) == 1  # nothing left with that requester
    assert "no ticket" in capsys.readouterr().err
    engine.dispose()


def test_retention_erases_old_text_and_keeps_recent_tickets_and_the_trail(database_url):
    engine = make_engine(database_url)
    store = Store(engine)
    store.add_tickets(
        [
            TicketIn(id="OLD-1", subject=SECRET_SUBJECT, body=SECRET_BODY, requester="a@x.org"),
            TicketIn(id="OLD-2", subject=SECRET_SUBJECT, requester="b@x.org"),
            TicketIn(id="NEW-1", subject="recent", body="keep me", requester="c@x.org"),
        ],
        "test",
    )
    now = utcnow()
    with store.session() as session:
        session.execute(
            update(Ticket)
            .where(Ticket.id.in_(["OLD-1", "OLD-2"]))  # type: ignore[attr-defined]
            .values(received_at=now - timedelta(days=40))
        )
        session.commit()
    with store.session() as session:
        session.add(
            OutboxMessage(
                dedupe_key="old-summary",
                method="chat.postMessage",
                payload={"channel": TRIAGE_CHANNEL, "text": f"routed: {SECRET_SUBJECT}"},
                status="sent",
                created_at=now - timedelta(days=40),
                result_channel=TRIAGE_CHANNEL,
                result_ts="1.1",
            )
        )
        session.commit()
    trail_before = [(e.id, e.action, e.ticket_id) for e in store.audit_events()]

    result = apply_retention(store, days=30, now=now)
    assert (result.tickets, result.outbox) == (2, 1)
    assert store.get_ticket("OLD-1").body == "" and store.get_ticket("OLD-1").requester == ""
    assert store.get_ticket("OLD-2").subject == ""
    assert store.get_ticket("NEW-1").body == "keep me"
    trail = [(e.id, e.action, e.ticket_id) for e in store.audit_events()]
    assert trail[: len(trail_before)] == trail_before
    assert sorted(t for _, a, t in trail[len(trail_before) :] if a == "erased") == [
        "OLD-1",
        "OLD-2",
    ]
    with store.session() as session:
        payloads = json.dumps([m.payload for m in session.exec(select(OutboxMessage)).all()])
    assert "Zanzibar" not in payloads
    assert apply_retention(store, days=30, now=now).tickets == 0  # idempotent
    engine.dispose()


def test_the_daily_retention_runs_once_across_processes(database_url):
    from types import SimpleNamespace

    from tests.conftest import make_settings

    engine = make_engine(database_url)
    store = Store(engine)
    store.add_tickets([TicketIn(id="D-1", subject="x")], "test")
    off = SimpleNamespace(settings=make_settings(database_url=database_url), store=store)
    assert retention_once(off) is None  # RETENTION_DAYS unset: keep everything
    runtime = SimpleNamespace(
        settings=make_settings(database_url=database_url, retention_days=1), store=store
    )
    first = retention_once(runtime)
    assert first is not None and first.tickets == 0  # D-1 is recent
    assert retention_once(runtime) is None  # the day's run is taken
    engine.dispose()
