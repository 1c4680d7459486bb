"""Source faults: unreachable, query error, permission denied. One clear log line, nothing
already read is lost, and polling resumes by itself when the source is back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.source.errors import PERMISSION, QUERY, UNREACHABLE
from bot.source.reader import make_source_engine
from tests.source.conftest import make_poller
from tests.source.proxy import TcpProxy


def error_lines(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith("bot.source")
    ]


def _through_proxy(url: str, proxy: TcpProxy) -> str:
    return (
        make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )


def test_unreachable_source_is_one_log_line_and_polling_resumes(helpdesk, store, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="bot.source")
    helpdesk.add_tickets({"ref": "U1", "title": "before the outage"})
    proxy = None
    if helpdesk.kind == "sqlite":
        url = helpdesk.url
        db_file = Path(make_url(url).database.split("file:", 1)[1])
        moved = tmp_path / "moved-away.db"
    else:
        real = make_url(helpdesk.url)
        proxy = TcpProxy(real.host, real.port).start()
        url = _through_proxy(helpdesk.url, proxy)
    poller = make_poller(helpdesk, store, source_database_url=url)
    assert poller.poll_once().new_ids == ["U1"]

    if proxy is not None:
        proxy.cut()
    else:
        helpdesk.admin.dispose()
        db_file.rename(moved)
        poller.reader.engine.dispose()  # an open SQLite handle would keep the moved file
    caplog.clear()
    failures = [poller.poll_once() for _ in range(3)]
    assert all(f.error is not None and f.error.kind == UNREACHABLE for f in failures), failures
    lines = error_lines(caplog)
    assert len(lines) == 1, lines  # one line per outage, not one per poll
    assert "unreachable" in lines[0] and "nothing stored is lost" in lines[0]
    if helpdesk.kind != "sqlite":
        assert helpdesk.password not in lines[0] and "***" in lines[0]
    assert store.get_ticket("U1") is not None  # nothing already read is lost

    if proxy is not None:
        helpdesk.add_tickets({"ref": "U2", "title": "written during the outage"})
        proxy.restore()
    else:
        moved.rename(db_file)
        helpdesk.add_tickets({"ref": "U2", "title": "written during the outage"})
    back = poller.poll_once()
    assert back.error is None and back.new_ids == ["U2"]
    assert any("source is back" in r.getMessage() for r in caplog.records)
    poller.close()
    if proxy is not None:
        proxy.cut()


def test_query_error_is_reported_and_polling_resumes_when_fixed(helpdesk, store, caplog):
    helpdesk.add_tickets({"ref": "E1"})
    poller = make_poller(helpdesk, store)
    assert poller.poll_once().new == 1
    # The helpdesk vendor renames a column in an upgrade: the operator's query breaks.
    helpdesk.execute("ALTER TABLE hd_ticket RENAME COLUMN title TO headline")
    caplog.clear()
    failed = [poller.poll_once() for _ in range(2)]
    assert all(f.error is not None and f.error.kind == QUERY for f in failed), failed
    assert len(error_lines(caplog)) == 1
    helpdesk.execute("ALTER TABLE hd_ticket RENAME COLUMN headline TO title")
    helpdesk.add_tickets({"ref": "E2"})
    back = poller.poll_once()
    assert back.error is None and back.new_ids == ["E2"]
    assert store.count_tickets() == 2
    poller.close()


def test_permission_denied_is_reported_and_polling_resumes_when_granted(helpdesk, store, caplog):
    if helpdesk.kind == "sqlite":
        pytest.skip("SQLite has no roles or grants")
    helpdesk.add_tickets({"ref": "G1"})
    poller = make_poller(helpdesk, store)
    assert poller.poll_once().new == 1
    helpdesk.revoke("hd_ticket")
    poller.reader.engine.dispose()  # MariaDB checks grants per connection
    caplog.clear()
    failed = [poller.poll_once() for _ in range(2)]
    assert all(f.error is not None and f.error.kind == PERMISSION for f in failed), failed
    lines = error_lines(caplog)
    assert len(lines) == 1 and "permission denied" in lines[0]
    helpdesk.add_tickets({"ref": "G2"})
    helpdesk.grant("hd_ticket")
    poller.reader.engine.dispose()
    back = poller.poll_once()
    assert back.error is None and back.new_ids == ["G2"]
    poller.close()


def test_the_bot_only_reads_a_table_the_role_may_not_read(helpdesk, store):
    if helpdesk.kind == "sqlite":
        pytest.skip("SQLite has no roles or grants")
    poller = make_poller(helpdesk, store, source_query="SELECT id, note AS subject FROM hd_secret")
    result = poller.poll_once()
    poller.close()
    assert result.error is not None and result.error.kind == PERMISSION


def test_source_sessions_are_read_only_even_for_a_privileged_login(helpdesk):
    """Belt and braces: with the admin's own URL, our engine still cannot write."""
    admin_url = helpdesk.admin.url.render_as_string(hide_password=False)
    if helpdesk.kind == "sqlite":
        admin_url = helpdesk.url.replace("mode=ro", "mode=rw")
    engine = make_source_engine(admin_url)
    try:
        with pytest.raises(Exception) as caught, engine.begin() as connection:
            connection.execute(text("INSERT INTO hd_ticket (ref) VALUES ('BOTWRITE')"))
        message = str(caught.value).lower()
        assert ("read" in message and "only" in message) or "readonly" in message, message
    finally:
        engine.dispose()
    with helpdesk.admin.connect() as connection:
        count = connection.execute(
            text("SELECT COUNT(*) FROM hd_ticket WHERE ref = 'BOTWRITE'")
        ).scalar()
    assert count == 0


def test_the_select_only_role_cannot_write(helpdesk):
    if helpdesk.kind == "sqlite":
        pytest.skip("SQLite has no roles or grants")
    from sqlalchemy import create_engine

    engine = create_engine(helpdesk.url)
    try:
        with pytest.raises(Exception) as caught, engine.begin() as connection:
            connection.execute(text("DELETE FROM hd_ticket"))
        assert "denied" in str(caught.value).lower()
    finally:
        engine.dispose()


def test_a_query_that_stops_returning_id_is_a_query_error_not_a_crash(helpdesk, store, caplog):
    poller = make_poller(
        helpdesk, store, source_query="SELECT title AS subject, seq FROM hd_ticket"
    )
    result = poller.poll_once()
    poller.close()
    assert result.error is not None and result.error.kind == QUERY
    assert "returns no `id` column" in result.error.detail
    assert len(error_lines(caplog)) == 1
