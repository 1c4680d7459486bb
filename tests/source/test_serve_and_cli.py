"""The source inside `serve` (scheduled polls, /healthz) and `triage-bot ingest --once`,
end to end: a real legacy database, the real bot, Slack over real HTTP (local fake)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from bot.app import build_runtime, running
from bot.cli import main
from bot.db import upgrade
from tests.conftest import TRIAGE_CHANNEL
from tests.fakes.slack_api import FakeSlack
from tests.source.conftest import source_settings
from tests.source.legacy import TICKET_QUERY, LegacyHelpdesk


def proposal_for(slack: FakeSlack, ticket_id: str):
    for call in slack.of("chat.postMessage"):
        if call.params.get("channel") != TRIAGE_CHANNEL:
            continue
        if any(b.get("block_id") == f"triage:{ticket_id}" for b in call.params.get("blocks", [])):
            return call
    return None


async def health(http: aiohttp.ClientSession, base: str) -> dict:
    async with http.get(f"{base}/healthz") as response:
        return await response.json()


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_serve_polls_the_source_posts_new_tickets_and_reports_health(
    helpdesk: LegacyHelpdesk, fake_slack: FakeSlack, policies_dir: Path, tmp_path: Path
):
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(database_url)
    settings = source_settings(
        helpdesk,
        database_url,
        slack_api_url=fake_slack.api_url,
        policies_dir=policies_dir,
        source_poll_seconds=0.3,
    )
    runtime = build_runtime(settings)
    helpdesk.add_tickets(
        {"ref": "S1", "title": "Refund please", "descr": "<p>I was charged twice</p>"}
    )
    async with running(runtime, "127.0.0.1", 0) as port, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{port}"
        await fake_slack.wait_for(lambda s: proposal_for(s, "S1") is not None)
        shown = str(proposal_for(fake_slack, "S1").params["blocks"])
        assert "I was charged twice" in shown and "<p>" not in shown

        async def source_ok() -> bool:
            return (await health(http, base))["source"]["status"] == "ok"

        await until(source_ok)

        # The vendor's upgrade renames a column: the source is unhealthy, the bot keeps going.
        helpdesk.execute("ALTER TABLE hd_ticket RENAME COLUMN title TO headline")

        async def source_failing() -> bool:
            return (await health(http, base))["source"]["status"].startswith("error:")

        await until(source_failing)
        report = await health(http, base)
        assert "query error" in report["source"]["status"]
        assert report["database"] == "ok"
        if helpdesk.kind != "sqlite":
            assert helpdesk.password not in str(report)

        helpdesk.execute("ALTER TABLE hd_ticket RENAME COLUMN headline TO title")
        helpdesk.add_tickets({"ref": "S2", "title": "Cannot log in"})
        await fake_slack.wait_for(lambda s: proposal_for(s, "S2") is not None)
        await until(source_ok)
    proposals = [
        c for c in fake_slack.of("chat.postMessage") if c.params.get("channel") == TRIAGE_CHANNEL
    ]
    assert len(proposals) == 2  # each ticket posted once, however many polls ran


async def test_healthz_says_when_no_source_is_configured(bot):
    async with bot.http.get(f"{bot.base_url}/healthz") as response:
        assert (await response.json())["source"] == "not configured"


def _env(monkeypatch, tmp_path: Path, **values: str | None) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env
    for name in ("SLACK_BOT_TOKEN", "TRIAGE_CHANNEL", "SLACK_APP_TOKEN", "SOURCE_START"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


async def test_ingest_once_stores_and_posts_then_skips_known_tickets(
    helpdesk, fake_slack, policies_dir, tmp_path, monkeypatch, capsys
):
    _env(
        monkeypatch,
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        POLICIES_DIR=str(policies_dir),
        SOURCE_DATABASE_URL=helpdesk.url,
        SOURCE_QUERY=TICKET_QUERY,
        SOURCE_CURSOR_COLUMN="seq",
        SOURCE_START="all",
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake_slack.api_url,
        TRIAGE_CHANNEL=TRIAGE_CHANNEL,
    )
    helpdesk.add_tickets({"ref": "I1", "title": "Invoice wrong"}, {"ref": "I2", "title": "Bug"})
    assert await asyncio.to_thread(main, ["ingest", "--once"]) == 0
    out = capsys.readouterr().out
    assert "2 rows read: 2 new, 0 already known" in out and "2 classified" in out
    assert proposal_for(fake_slack, "I1") and proposal_for(fake_slack, "I2")

    assert await asyncio.to_thread(main, ["ingest", "--once"]) == 0
    again = capsys.readouterr().out
    assert "0 new" in again and "0 classified" in again
    assert len(fake_slack.of("chat.postMessage")) == 2


async def test_ingest_once_without_slack_settings_stores_and_says_serve_posts(
    helpdesk, policies_dir, tmp_path, monkeypatch, capsys
):
    _env(
        monkeypatch,
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        POLICIES_DIR=str(policies_dir),
        SOURCE_DATABASE_URL=helpdesk.url,
        SOURCE_QUERY=TICKET_QUERY,
        SOURCE_CURSOR_COLUMN="seq",
        SOURCE_START="all",
    )
    helpdesk.add_tickets({"ref": "W1", "title": "Waiting"})
    assert await asyncio.to_thread(main, ["ingest", "--once"]) == 0
    out = capsys.readouterr().out
    assert "1 new" in out
    assert "not posted (SLACK_BOT_TOKEN and TRIAGE_CHANNEL not set)" in out
    assert "`triage-bot serve` posts them" in out


async def test_ingest_once_reports_an_unreachable_source_in_one_line(
    policies_dir, tmp_path, monkeypatch, capsys
):
    _env(
        monkeypatch,
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        POLICIES_DIR=str(policies_dir),
        SOURCE_DATABASE_URL="postgresql+psycopg://reader:s3cret-pw@127.0.0.1:9/helpdesk",
        SOURCE_QUERY="SELECT id, title AS subject, created_at FROM tickets",
    )
    assert await asyncio.to_thread(main, ["ingest", "--once"]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "source unreachable" in lines[0]
    assert "s3cret-pw" not in err and "reader:***@127.0.0.1:9" in lines[0]


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM tickets",
        "SELECT id FROM tickets; DROP TABLE tickets",
        "SELECT id INTO backup FROM tickets",
        "SELECT id FROM tickets FOR UPDATE",
    ],
)
async def test_a_query_that_is_not_one_select_is_refused_at_start(
    query, policies_dir, tmp_path, monkeypatch, capsys
):
    _env(
        monkeypatch,
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        POLICIES_DIR=str(policies_dir),
        SOURCE_DATABASE_URL=f"sqlite:///{tmp_path / 'helpdesk.db'}",
        SOURCE_QUERY=query,
    )
    assert await asyncio.to_thread(main, ["ingest", "--once"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: SOURCE_QUERY ")
    assert not (tmp_path / "helpdesk.db").exists()  # nothing was run against the source


async def test_serve_refuses_to_start_with_a_query_that_writes(
    policies_dir, tmp_path, monkeypatch, capsys
):
    _env(
        monkeypatch,
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        POLICIES_DIR=str(policies_dir),
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="secret",
        TRIAGE_CHANNEL=TRIAGE_CHANNEL,
        SOURCE_DATABASE_URL=f"sqlite:///{tmp_path / 'helpdesk.db'}",
        SOURCE_QUERY="UPDATE tickets SET status = 'seen'",
    )
    assert await asyncio.to_thread(main, ["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: SOURCE_QUERY must be a SELECT (or WITH … SELECT); nothing else is run"


async def test_ingest_prints_progress_on_long_syncs(
    helpdesk, policies_dir, tmp_path, monkeypatch, capsys
):
    import bot.commands.ingest as ingest

    monkeypatch.setattr(ingest, "PROGRESS_EVERY", 10)
    _env(
        monkeypatch,
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        POLICIES_DIR=str(policies_dir),
        SOURCE_DATABASE_URL=helpdesk.url,
        SOURCE_QUERY=TICKET_QUERY,
        SOURCE_CURSOR_COLUMN="seq",
        SOURCE_START="all",
        SOURCE_BATCH_SIZE="10",
    )
    helpdesk.add_tickets(*({"ref": f"L{i}"} for i in range(35)))
    assert await asyncio.to_thread(main, ["ingest", "--once", "--no-post"]) == 0
    captured = capsys.readouterr()
    progress = [line for line in captured.err.splitlines() if line.startswith("ingest: …")]
    assert [line.split(" rows read")[0] for line in progress] == [
        "ingest: … 10",
        "ingest: … 20",
        "ingest: … 30",
    ]
    assert "35 rows read: 35 new" in captured.out and "--no-post" in captured.out
