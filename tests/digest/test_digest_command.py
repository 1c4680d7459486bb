"""`triage-bot digest`: --dry-run prints the digest and posts nothing; posting claims the day
like the scheduler does, so a hand-posted digest is not posted again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from bot.db import make_engine
from bot.store import Store
from tests.digest.seed import seed
from tests.fakes.slack_api import FakeSlack

DIGEST_CHANNEL = "C0MANAGERS"


@pytest.fixture
def cli_env(
    database_url: str,
    fake_slack: FakeSlack,
    policies_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    monkeypatch.chdir(tmp_path)  # no developer .env
    for name, value in {
        "DATABASE_URL": database_url,
        "POLICIES_DIR": str(policies_dir),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": fake_slack.api_url,
        "TRIAGE_CHANNEL": "C0TRIAGE",
        "DIGEST_CHANNEL": DIGEST_CHANNEL,
        "TIMEZONE": "UTC",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BASELINE_UNTIL", raising=False)
    store = Store(make_engine(database_url))
    seed(store)
    store.engine.dispose()
    return tmp_path


async def test_dry_run_prints_the_digest_and_posts_nothing(
    cli_env: Path, fake_slack: FakeSlack, capsys: pytest.CaptureFixture[str]
):
    chart = cli_env / "trend.png"
    code = await asyncio.to_thread(
        main, ["digest", "--dry-run", "--date", "2026-11-26", "--chart", str(chart)]
    )
    assert code == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Triage digest · Thu 26 Nov 2026 (UTC)"
    assert lines[2] == (
        "First response \u221257% vs baseline, time to route \u221240% vs previous 7 days, "
        "50% automated at 75.0% precision, 8 tickets"
    )
    assert "`billing` precision fell to 66.7% from 100.0%" in out
    billing = next(line for line in lines if line.strip().startswith("billing "))
    assert billing.split()[:4] == ["billing", "5", "60%", "66.7%"]
    assert "billing              → bug                      1" in out
    assert "95% CI" in out and "Resolution: not enough data" in out
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert fake_slack.calls == []


async def test_posting_by_hand_claims_the_day(
    cli_env: Path, fake_slack: FakeSlack, capsys: pytest.CaptureFixture[str]
):
    args = ["digest", "--date", "2026-11-26"]
    assert await asyncio.to_thread(main, args) == 0
    assert "posted to C0MANAGERS with its chart" in capsys.readouterr().out
    assert await asyncio.to_thread(main, args) == 0
    assert "already posted (digest:2026-11-27)" in capsys.readouterr().out
    assert await asyncio.to_thread(main, [*args, "--force"]) == 0
    posts = [c for c in fake_slack.of("chat.postMessage") if c.params["channel"] == DIGEST_CHANNEL]
    assert len(posts) == 2 and len(fake_slack.uploads) == 2


async def test_posting_without_a_token_is_one_clear_error(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    assert await asyncio.to_thread(main, ["digest"]) == 2
    assert "SLACK_BOT_TOKEN is not set" in capsys.readouterr().err
