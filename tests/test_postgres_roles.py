"""The two-role PostgreSQL setup of docs/postgres-roles.md, on a real server.

An owner role runs `triage-bot db upgrade --runtime-role …`; the bot runs as the runtime
role, which can do its work but can neither disable the audit trail's triggers nor
rewrite or erase the trail. Roles get unique names and are dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.audit_guard import audit_guard
from bot.cli import main
from bot.db import make_engine
from bot.doctor import database_findings
from bot.models import AuditEvent, Pause
from bot.store import Store
from bot.tickets import TicketIn
from tests.conftest import make_settings


@dataclass
class TwoRoles:
    owner: str
    runtime: str
    owner_url: str
    runtime_url: str
    schema: str


def _url(base: str, user: str, password: str, schema: str) -> str:
    url = make_url(base).set(username=user, password=password)
    rendered = url.render_as_string(hide_password=False)
    sep = "&" if "?" in rendered else "?"
    return f"{rendered}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def roles() -> Iterator[TwoRoles]:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(
            "the two-role tests need TEST_DATABASE_URL "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    suffix = uuid.uuid4().hex[:10]
    owner, runtime, schema = f"tb_owner_{suffix}", f"tb_bot_{suffix}", f"tb_{suffix}"
    admin = create_engine(base)
    with admin.begin() as c:
        c.execute(text(f"CREATE ROLE {owner} LOGIN PASSWORD 'owner-{suffix}'"))
        c.execute(text(f"CREATE ROLE {runtime} LOGIN PASSWORD 'bot-{suffix}'"))
        c.execute(text(f'CREATE SCHEMA "{schema}" AUTHORIZATION {owner}'))
    try:
        yield TwoRoles(
            owner,
            runtime,
            _url(base, owner, f"owner-{suffix}", schema),
            _url(base, runtime, f"bot-{suffix}", schema),
            schema,
        )
    finally:
        with admin.begin() as c:
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE usename IN (:a, :b) AND pid <> pg_backend_pid()"
                ),
                {"a": owner, "b": runtime},
            )
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            for role in (runtime, owner):
                c.execute(text(f"DROP OWNED BY {role} CASCADE"))
                c.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def _cli(monkeypatch, tmp_path, url: str, *argv: str) -> int:
    monkeypatch.chdir(tmp_path)  # no developer .env
    monkeypatch.setenv("DATABASE_URL", url)
    return main(list(argv))


def _refused(engine, statement: str) -> str:
    with pytest.raises(DBAPIError) as caught, engine.begin() as c:
        c.execute(text(statement))
    return str(caught.value.orig)


def test_the_runtime_role_works_but_cannot_touch_the_trail(roles, monkeypatch, tmp_path, capsys):
    assert (
        _cli(
            monkeypatch, tmp_path, roles.owner_url, "db", "upgrade", "--runtime-role", roles.runtime
        )
        == 0
    )
    assert f"runtime role {roles.runtime} granted" in capsys.readouterr().out

    engine = make_engine(roles.runtime_url)
    try:
        store = Store(engine)
        # The bot's everyday work: tickets with their audit rows, erasure, pauses.
        assert store.add_tickets([TicketIn(id="RR-1", subject="hello")], "test").new_ids == ["RR-1"]
        assert store.erase_tickets(["RR-1"], actor="test", reason="test") == ["RR-1"]
        store.set_pause(
            Pause(policy="billing", paused_by="U1"), AuditEvent(actor="U1", action="pause")
        )
        assert store.clear_pause("billing", AuditEvent(actor="U1", action="resume"))
        assert [e.action for e in store.audit_events()][-1] == "resume"

        # What the table's owner could do, the runtime role cannot.
        assert "must be owner" in _refused(engine, "ALTER TABLE audit_events DISABLE TRIGGER USER")
        for statement in (
            "UPDATE audit_events SET actor = 'someone else'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
        ):
            assert "permission denied" in _refused(engine, statement)
        assert "must be owner" in _refused(engine, "DROP TABLE audit_events")
        assert "permission denied" in _refused(engine, "CREATE TABLE sneaky (id int)")
        assert audit_guard(engine).warnings == []
        assert audit_guard(engine).role == roles.runtime
        # The operator's check command: silent for the runtime role, warns for the owner.
        assert database_findings(make_settings(database_url=roles.runtime_url)) == []
        owner_findings = database_findings(make_settings(database_url=roles.owner_url))
        assert [f.level for f in owner_findings] == ["warning"]
        assert "owns audit_events" in owner_findings[0].message
    finally:
        engine.dispose()


def test_the_check_warns_when_the_bot_could_alter_the_audit_table(roles, monkeypatch, tmp_path):
    assert _cli(monkeypatch, tmp_path, roles.owner_url, "db", "upgrade") == 0
    owner = make_engine(roles.owner_url)
    try:
        report = audit_guard(owner)
        assert not report.ok
        assert any(f"{roles.owner} owns audit_events" in w for w in report.warnings)
        # A runtime role handed UPDATE by hand (or a member of the owner) is caught too.
        with owner.begin() as c:
            c.execute(text(f'GRANT USAGE ON SCHEMA "{roles.schema}" TO {roles.runtime}'))
            c.execute(text(f"GRANT SELECT, INSERT, UPDATE ON audit_events TO {roles.runtime}"))
        runtime = make_engine(roles.runtime_url)
        try:
            warnings = audit_guard(runtime).warnings
            assert len(warnings) == 1 and "has UPDATE on audit_events" in warnings[0]
            assert f"triage-bot db upgrade --runtime-role {roles.runtime}" in warnings[0]
            admin = create_engine(os.environ["TEST_DATABASE_URL"])
            with admin.begin() as c:
                c.execute(text(f"GRANT {roles.owner} TO {roles.runtime}"))
            admin.dispose()
            assert "is a member of" in audit_guard(runtime).warnings[0]
        finally:
            runtime.dispose()
        with owner.begin() as c:
            c.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        assert any("triggers" in w for w in audit_guard(owner).warnings)
    finally:
        owner.dispose()


def test_serve_on_the_runtime_role_says_what_to_run_as_the_owner(
    roles, monkeypatch, tmp_path, capsys, policies_dir
):
    assert (
        _cli(
            monkeypatch, tmp_path, roles.owner_url, "db", "upgrade", "--runtime-role", roles.runtime
        )
        == 0
    )
    # A newer release brings a migration the running bot's role may not apply.
    owner = create_engine(roles.owner_url)
    with owner.begin() as c:
        # As if 0007 were new: forget it was applied (its parents stay applied).
        c.execute(text("DELETE FROM alembic_version WHERE version_num = '0007_slack_guard'"))
    owner.dispose()
    capsys.readouterr()
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "TRIAGE_CHANNEL": "C0TRIAGE",
        "POLICIES_DIR": str(policies_dir),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    code = _cli(monkeypatch, tmp_path, roles.runtime_url, "serve", "--port", "0")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith("error: the database schema is out of date (pending: ")
    assert (
        f"as the owner role run: DATABASE_URL=<owner's URL> triage-bot db upgrade "
        f"--runtime-role {roles.runtime}" in err[-1]
    )
    assert "Traceback" not in "\n".join(err)


def test_db_upgrade_refuses_a_runtime_role_that_does_not_exist(
    roles, monkeypatch, tmp_path, capsys
):
    assert (
        _cli(
            monkeypatch,
            tmp_path,
            roles.owner_url,
            "db",
            "upgrade",
            "--runtime-role",
            "tb_nobody_here",
        )
        == 1
    )
    assert "role 'tb_nobody_here' does not exist" in capsys.readouterr().err


def test_serve_on_a_role_without_any_grant_says_what_to_run(
    roles, monkeypatch, tmp_path, capsys, policies_dir
):
    assert _cli(monkeypatch, tmp_path, roles.owner_url, "db", "upgrade") == 0  # no grants
    capsys.readouterr()
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "TRIAGE_CHANNEL": "C0TRIAGE",
        "POLICIES_DIR": str(policies_dir),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    code = _cli(monkeypatch, tmp_path, roles.runtime_url, "serve", "--port", "0")
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert f"triage-bot db upgrade --runtime-role {roles.runtime}" in err.strip().splitlines()[-1]
