"""`triage-bot doctor` and `serve`'s start: every problem of a broken configuration in one
run, one line each with its fix, no tracebacks, nothing created before the checks pass."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.dbcheck import check_connection
from bot.settings import Settings
from tests.conftest import ROOT
from tests.operations.helpers import copy_policies, real_looking_ids, run_bot

BROKEN_ENV = """\
# A deliberately broken .env: six different mistakes.
DATABASE_URL=notaurl
DIGEST_TIME=25:99
TIMEZONE=Mars/Olympus
TRIAGE_CHANNEL=#support
SLACK_BOT_TOKEN=xapp-1-not-a-bot-token
MODEL_PATH=models/missing.npz
"""


def test_a_broken_env_reports_all_its_problems_in_one_run(tmp_path: Path):
    (tmp_path / ".env").write_text(BROKEN_ENV)
    copy_policies(tmp_path / "policies")
    result = run_bot("doctor", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stdout.splitlines()
    expected = {
        "DATABASE_URL": "not a database URL",
        "DIGEST_TIME": "HH:MM",
        "TIMEZONE": "Mars/Olympus",
        "TRIAGE_CHANNEL": "not a channel ID",
        "SLACK_BOT_TOKEN": "app-level token",
        "SLACK_SIGNING_SECRET": "is not set",
        "MODEL_PATH": "missing.npz",
    }
    for name, fragment in expected.items():
        hits = [ln for ln in lines if ln.startswith(f"error: {name}") and fragment in ln]
        assert len(hits) == 1, (name, lines)
    # The bundled example IDs are warned about with file and line numbers.
    billing = [ln for ln in lines if "billing.yml:" in ln]
    assert billing and billing[0].startswith("warning: ")
    assert "billing.yml:4,5,6,9" in billing[0] and "U0BILLOWNR" in billing[0]
    assert lines[-1].startswith("doctor: 7 error(s)")
    assert not (tmp_path / "triage.db").exists()


def test_serve_names_the_same_problems_and_creates_nothing(tmp_path: Path):
    (tmp_path / ".env").write_text(BROKEN_ENV)
    copy_policies(tmp_path / "policies")
    result = run_bot("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for name in ("DATABASE_URL", "DIGEST_TIME", "TRIAGE_CHANNEL", "SLACK_SIGNING_SECRET"):
        assert sum(ln.startswith(f"error: {name}") for ln in result.stderr.splitlines()) == 1
    assert list(tmp_path.glob("*.db")) == []


def good_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "TRIAGE_CHANNEL": "C0TRIAGE",
        "INTAKE_SECRET": "a-long-enough-intake-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'triage.db'}",
    }
    env.update(extra)
    return env


def test_serve_refuses_a_missing_policies_directory_before_creating_the_database(
    tmp_path: Path,
):
    result = run_bot("serve", cwd=tmp_path, env=good_env(tmp_path, POLICIES_DIR="nowhere"))
    assert result.returncode == 1
    assert "nowhere: policies directory does not exist" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "triage.db").exists()


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:1/triage", "connection refused"),
        ("notaurl", "not a database URL"),
        ("mysql://root@127.0.0.1/test", "not supported for the bot's own store"),
        ("postgresql+psycopg2://u@127.0.0.1/db", "write postgresql+psycopg://"),
        ("sqlite:////no/such/folder/triage.db", "does not exist"),
    ],
)
def test_database_problems_are_one_line_each(tmp_path: Path, url: str, fragment: str):
    policies = copy_policies(tmp_path / "policies")
    commands = [("doctor",)]
    if "connection refused" in fragment:  # the same line from every command that connects
        commands += [("serve",), ("db", "upgrade")]
    for args in commands:
        result = run_bot(
            *args,
            cwd=tmp_path,
            env=good_env(tmp_path, DATABASE_URL=url, POLICIES_DIR=str(policies)),
        )
        assert result.returncode != 0, args
        output = result.stdout + result.stderr
        assert "Traceback" not in output, (args, output)
        hits = [ln for ln in output.splitlines() if fragment in ln]
        assert len(hits) == 1, (args, output)


def test_a_missing_postgres_database_is_one_line(tmp_path: Path):
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("needs TEST_DATABASE_URL (a reachable PostgreSQL)")
    url = base.rsplit("/", 1)[0] + "/triage_no_such_database"
    problem = check_connection(url)
    assert problem is not None and "'triage_no_such_database' does not exist" in problem
    result = run_bot("db", "upgrade", cwd=tmp_path, env=good_env(tmp_path, DATABASE_URL=url))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "does not exist" in result.stderr


def test_postgres_url_forms_are_accepted_as_aliases():
    for given in ("postgres://u:p@db:5432/triage", "postgresql://u:p@db:5432/triage"):
        settings = Settings(_env_file=None, database_url=given)
        assert settings.database_url == "postgresql+psycopg://u:p@db:5432/triage"
    source = Settings(_env_file=None, source_database_url="mysql://ro@helpdesk/hd")
    assert source.source_database_url == "mysql+pymysql://ro@helpdesk/hd"


def test_postgres_alias_reaches_the_database(tmp_path: Path):
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("needs TEST_DATABASE_URL (a reachable PostgreSQL)")
    alias = base.replace("postgresql+psycopg://", "postgres://", 1)
    assert check_connection(Settings(_env_file=None, database_url=alias).database_url) is None


def test_check_policies_warns_about_placeholders_with_file_and_line_but_passes(tmp_path: Path):
    policies = copy_policies(tmp_path / "policies")
    result = run_bot("check-policies", str(policies), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok:")
    warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("warning: ")]
    billing = next(ln for ln in warnings if "billing.yml" in ln)
    assert f"{policies / 'billing.yml'}:4,5,6,9:" in billing
    assert "owner U0BILLOWNR" in billing and "route_channel C0BILLING" in billing
    assert "Copy member ID" in result.stderr


def test_real_looking_ids_pass_check_policies_without_warnings(tmp_path: Path):
    policies = copy_policies(tmp_path / "policies")
    real_looking_ids(policies)
    result = run_bot("check-policies", str(policies), cwd=tmp_path)
    assert result.returncode == 0
    assert "warning" not in result.stderr


def test_serve_warns_about_placeholders_at_start(tmp_path: Path):
    """serve logs the placeholder warning (with file:line) before it binds; here it then
    stops at the unreachable database, so the run ends by itself."""
    policies = copy_policies(tmp_path / "policies")
    env = good_env(
        tmp_path,
        POLICIES_DIR=str(policies),
        DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/triage",
    )
    result = run_bot("serve", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert f"{policies / 'billing.yml'}:4,5,6,9: placeholder IDs" in result.stderr
    assert "WARNING" in result.stderr and "connection refused" in result.stderr


def test_doctor_is_clean_on_a_good_configuration(tmp_path: Path):
    policies = copy_policies(tmp_path / "policies")
    real_looking_ids(policies)
    result = run_bot("doctor", cwd=tmp_path, env=good_env(tmp_path, POLICIES_DIR=str(policies)))
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().splitlines()[-1] == "doctor: ok, nothing wrong found"
    assert not (tmp_path / "triage.db").exists()  # doctor creates nothing
    # Notes are information: no intake secret just means POST /tickets is off.
    env = good_env(tmp_path, POLICIES_DIR=str(policies), INTAKE_SECRET="")
    noted = run_bot("doctor", cwd=tmp_path, env=env)
    assert noted.returncode == 0, noted.stdout
    assert "note: INTAKE_SECRET: not set" in noted.stdout


def test_doctor_fails_on_placeholder_ids_alone(tmp_path: Path):
    """Placeholders do not stop check-policies or serve, but a deployment check says so."""
    policies = copy_policies(tmp_path / "policies")
    result = run_bot("doctor", cwd=tmp_path, env=good_env(tmp_path, POLICIES_DIR=str(policies)))
    assert result.returncode == 1
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("doctor: 0 error(s), ") and "0 warning(s)" not in last


def test_offline_classify_works_outside_the_repository(tmp_path: Path):
    result = run_bot(
        "classify", str(ROOT / "examples/tickets.csv"), "--format", "jsonl", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "example policies shipped with triage-bot" in result.stderr
    assert result.stdout.count("\n") >= 20
    # An explicit POLICIES_DIR that is missing is an error, never silently replaced.
    missing = run_bot(
        "classify", str(ROOT / "examples/tickets.csv"), cwd=tmp_path, env={"POLICIES_DIR": "nope"}
    )
    assert missing.returncode == 1 and "example policies" not in missing.stderr


def test_shipped_example_policies_match_the_repository_examples():
    shipped = ROOT / "bot" / "example_policies"
    repo = ROOT / "policies"
    names = sorted(p.name for p in repo.glob("*.yml"))
    assert sorted(p.name for p in shipped.glob("*.yml")) == names
    for name in names:
        assert (shipped / name).read_text() == (repo / name).read_text(), (
            f"bot/example_policies/{name} differs from policies/{name}; "
            "run: cp policies/*.yml bot/example_policies/"
        )
