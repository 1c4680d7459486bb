"""The audit trail: a ticket's whole story and the control actions, printed by the real CLI
(`python -m bot audit`) from the store the running bot wrote; and the trail is append-only."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.db import make_engine
from bot.models import AuditEvent, TicketStatus
from tests.conftest import ROOT, BotUnderTest
from tests.ownership.conftest import (
    AGENT,
    BILLING_OWNER,
    LENIENT,
    answer,
    billing_text,
    post_and_wait,
    wait_notice,
    wait_status,
)

STAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC"


def run_cli(args: list[str], database_url: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_", "TIMEZONE"))
    }
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=database_url, TIMEZONE="UTC")
    return subprocess.run(
        [sys.executable, "-m", "bot", "audit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.policies(mode="suggest")
@pytest.mark.global_policy(**LENIENT)
async def test_audit_prints_a_tickets_story_and_the_control_actions(
    bot: BotUnderTest, tmp_path: Path
):
    await post_and_wait(bot, "A-1", billing_text(bot, 0))
    await bot.click("triage_reassign", "A-1", AGENT, "1700000000.000001", selected="bug")
    await wait_status(bot, "A-1", TicketStatus.ROUTED)
    await answer(bot, "/triage-pause", "billing 2h refund outage", BILLING_OWNER)
    await answer(bot, "/triage-resume", "billing", BILLING_OWNER)
    await answer(bot, "/triage-mode", "billing shadow measuring", BILLING_OWNER)
    await answer(bot, "/triage-mode", "billing auto override launch day", BILLING_OWNER)
    await wait_notice(bot, "overriding the launch gate")
    url = bot.runtime.settings.database_url

    story = await asyncio.to_thread(run_cli, ["A-1"], url, tmp_path)
    assert story.returncode == 0, story.stderr
    lines = story.stdout.splitlines()
    assert lines[0] == "Ticket #A-1: Charge problem"
    assert "status routed, final tag bug by U0AGENT01" in lines[1]
    events = [ln for ln in lines if re.match(STAMP, ln)]
    assert [ln.split()[4] for ln in events] == ["ticket_received", "proposed", "reassign"]
    assert "intake" in events[0] and "received via webhook" in events[0]
    assert re.search(r"proposed billing 1\.00, sentiment \w+ → review; model \S+", events[1])
    assert "guardrails: mode_suggest" in events[1]
    assert AGENT in events[2] and "reassigned to bug (proposal was billing)" in events[2]
    assert billing_text(bot, 0)[:30] not in story.stdout  # bodies are never printed

    controls = await asyncio.to_thread(run_cli, ["--since", "24h"], url, tmp_path)
    assert controls.returncode == 0, controls.stderr
    rows = [ln for ln in controls.stdout.splitlines() if re.match(STAMP, ln)]
    assert [(r.split()[3], r.split()[4]) for r in rows] == [
        (BILLING_OWNER, "pause"),
        (BILLING_OWNER, "resume"),
        (BILLING_OWNER, "mode"),
        (BILLING_OWNER, "mode_override"),
    ]
    assert "refund outage" in rows[0] and "until" in rows[0]
    assert "mode of billing: suggest → shadow; reason: measuring" in rows[2]
    assert "LAUNCH GATE OVERRIDDEN" in rows[3] and "launch day" in rows[3]
    assert "proposed" not in controls.stdout

    as_json = await asyncio.to_thread(run_cli, ["A-1", "--format", "jsonl"], url, tmp_path)
    records = [json.loads(ln) for ln in as_json.stdout.splitlines()]
    assert [r["action"] for r in records] == ["ticket_received", "proposed", "reassign"]
    assert records[1]["detail"]["model_version"] and records[1]["detail"]["confidence"] > 0.5
    assert records[2]["actor"] == AGENT and records[2]["at"].endswith("+00:00")


def cli(args: list[str], database_url: str, monkeypatch, capsys) -> tuple[int, str, str]:
    """The CLI entry point in-process (the subprocess path is covered above)."""
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TIMEZONE", "UTC")
    code = main(["audit", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_audit_cli_errors_are_one_clear_line(
    database_url: str, tmp_path: Path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    code, _, err = cli(["NOPE-1"], database_url, monkeypatch, capsys)
    assert code == 1 and "no ticket 'NOPE-1'" in err
    code, _, err = cli([], database_url, monkeypatch, capsys)
    assert code == 2 and "TICKET_ID" in err
    code, _, err = cli(["--since", "yesterday-ish"], database_url, monkeypatch, capsys)
    assert code == 2 and "--since" in err
    code, out, _ = cli(["--since", "1h"], database_url, monkeypatch, capsys)
    assert code == 0 and "(none)" in out
    code, _, err = cli(["X"], f"sqlite:///{tmp_path / 'absent.db'}", monkeypatch, capsys)
    assert code == 1 and "no database file" in err
    assert not (tmp_path / "absent.db").exists()


def test_audit_events_are_append_only_in_the_database(database_url: str):
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                AuditEvent.__table__.insert().values(  # type: ignore[attr-defined]
                    actor="U0X", action="pause", policy="billing", detail={}, at=AuditEvent().at
                )
            )
        for statement in (
            "UPDATE audit_events SET actor = 'someone else'",
            "DELETE FROM audit_events",
        ):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                connection.execute(text(statement))
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT actor FROM audit_events")).all()
        assert [r[0] for r in rows] == ["U0X"]
    finally:
        engine.dispose()
