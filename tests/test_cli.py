"""The command line as an operator uses it: subprocesses, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TRIAGE_", "DATABASE_"))
    }
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=clean,
        cwd=cwd,
        timeout=120,
    )


def test_classify_jsonl_prints_one_object_per_ticket_in_input_order():
    result = run_cli("classify", "examples/tickets.csv", "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    ids = [r["ticket_id"] for r in records]
    expected_ids = [
        line.split(",", 1)[0]
        for line in (ROOT / "examples/tickets.csv").read_text().splitlines()[1:]
        if line[:1].isdigit() and line.split(",", 1)[0].isdigit()
    ]
    assert ids == expected_ids
    for record in records:
        assert set(record) == {
            "ticket_id",
            "tag",
            "confidence",
            "sentiment",
            "decision",
            "policy",
            "reasons",
        }
        assert 0.0 <= record["confidence"] <= 1.0
        assert record["sentiment"] in {"negative", "neutral", "positive"}
        assert record["decision"] in {"auto", "review"}
        assert (record["decision"] == "review") == bool(record["reasons"])
    sarcasm = next(r for r in records if r["ticket_id"] == "1003")
    assert sarcasm["decision"] == "review" and sarcasm["sentiment"] != "positive"
    # The row without an id is reported with its line number, not dropped silently.
    assert ("line 33" in result.stderr and "no id" in result.stderr) or "empty id" in result.stderr


def test_classify_table_is_readable_and_summarises(tmp_path: Path):
    result = run_cli("classify", "examples/tickets.csv")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].split()[:3] == ["ticket", "tag", "conf"]
    assert "ticket(s):" in result.stderr and "automated" in result.stderr


def test_classify_reads_jsonl_and_reports_bad_lines(tmp_path: Path):
    source = tmp_path / "t.jsonl"
    source.write_text(
        '{"id": 1, "body": "How do I export CSV?"}\nnot json\n\n{"body": "no id"}\n[1]\n'
    )
    result = run_cli("classify", str(source), "--format", "jsonl")
    assert result.returncode == 0
    assert [json.loads(x)["ticket_id"] for x in result.stdout.splitlines()] == ["1"]
    assert "line 2: not valid JSON" in result.stderr
    assert "line 4" in result.stderr and "line 5" in result.stderr


def test_classify_missing_file_is_one_clear_line(tmp_path: Path):
    result = run_cli("classify", str(tmp_path / "nope.csv"))
    assert result.returncode == 1
    assert result.stderr.strip().endswith("no such file")
    assert "Traceback" not in result.stderr


def test_classify_csv_without_id_column(tmp_path: Path):
    source = tmp_path / "t.csv"
    source.write_text("subject,body\nhello,world\n")
    result = run_cli("classify", str(source))
    assert result.returncode == 1
    assert "no 'id' column" in result.stderr


def test_serve_names_every_missing_setting_at_once_one_line_each(tmp_path: Path):
    result = run_cli("serve", env={"DATABASE_URL": f"sqlite:///{tmp_path}/t.db"}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    for name in ("SLACK_BOT_TOKEN", "TRIAGE_CHANNEL", "SLACK_SIGNING_SECRET"):
        assert sum(f"{name} is not set" in line for line in lines) == 1, lines
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "t.db").exists()  # refused before touching the database


def test_serve_in_http_mode_needs_the_signing_secret(tmp_path: Path):
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "TRIAGE_CHANNEL": "C1",
        "DATABASE_URL": f"sqlite:///{tmp_path}/t.db",
    }
    result = run_cli("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET is not set" in result.stderr


def test_invalid_setting_value_is_reported_by_name(tmp_path: Path):
    result = run_cli(
        "check-policies", str(ROOT / "policies"), env={"DIGEST_TIME": "25:99"}, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "DIGEST_TIME" in result.stderr and "Traceback" not in result.stderr


def test_check_policies_ok_on_bundled_policies():
    result = run_cli("check-policies")
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("ok:")


def test_db_upgrade_then_serve_schema_check(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/store.db"
    result = run_cli("db", "upgrade", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {
        "tickets",
        "proposals",
        "decisions",
        "audit_events",
        "outbox",
        "alembic_version",
    } <= tables


def test_serve_refuses_out_of_date_schema_with_no_migrate(tmp_path: Path):
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "TRIAGE_CHANNEL": "C1",
        "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db",
        "POLICIES_DIR": str(ROOT / "policies"),
    }
    result = run_cli("serve", "--no-migrate", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "run: triage-bot db upgrade" in result.stderr
