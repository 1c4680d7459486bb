"""Rows that used to stall or corrupt intake from a helpdesk database: a creation time in the
far future, times outside what a datetime can hold, and NUL characters in text.

Each runs on SQLite, PostgreSQL and MariaDB through a SELECT-only role (tests/source/legacy.py).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import select

from bot.app import build_runtime, running
from bot.db import upgrade
from bot.models import Ticket
from bot.source.state import SourceStateRepo
from bot.store import Store
from tests.source.conftest import make_poller, source_settings
from tests.source.legacy import EVENT_QUERY, LegacyHelpdesk
from tests.source.test_serve_and_cli import health, until


def _tickets(store: Store) -> dict[str, Ticket]:
    with store.session() as session:
        return {t.id: t for t in session.exec(select(Ticket)).all()}


def _event_poller(helpdesk: LegacyHelpdesk, store: Store, **overrides):
    return make_poller(
        helpdesk, store, source_query=EVENT_QUERY, source_cursor_column="created_at", **overrides
    )


def test_a_row_dated_in_the_future_never_moves_the_watermark_past_real_tickets(helpdesk, store):
    now = datetime.now(UTC).replace(microsecond=0)
    first, future, later = (str(uuid.uuid4()) for _ in range(3))
    helpdesk.add_events(
        {"id": first, "created": now - timedelta(minutes=1), "subject": "real"},
        {"id": future, "created": datetime(2099, 1, 1, tzinfo=UTC), "subject": "typo'd year"},
    )
    poller = _event_poller(helpdesk, store)
    result = poller.poll_once()
    assert result.error is None and sorted(result.new_ids) == sorted([first, future])
    assert result.suspect == 1
    stored = _tickets(store)
    assert stored[future].time_suspect and stored[future].created_at.year == 2099
    assert not stored[first].time_suspect

    # A real ticket created after the 2099 row was read is still found, poll after poll.
    helpdesk.add_events({"id": later, "created": now + timedelta(seconds=5), "subject": "next"})
    second = poller.poll_once()
    assert second.error is None and second.new_ids == [later]
    assert poller.poll_once().new == 0  # the future row is read again but never stored twice
    poller.close()
    state = SourceStateRepo(store).get()
    assert state is not None and state.suspect_times == 1


def test_a_time_just_ahead_within_the_allowance_is_trusted(helpdesk, store):
    """Clock skew of a few minutes is normal: such rows are neither suspect nor held back."""
    now = datetime.now(UTC).replace(microsecond=0)
    skewed = str(uuid.uuid4())
    helpdesk.add_events({"id": skewed, "created": now + timedelta(minutes=5), "subject": "skew"})
    poller = _event_poller(helpdesk, store, source_max_future_seconds=3600)
    result = poller.poll_once()
    poller.close()
    assert result.new_ids == [skewed] and result.suspect == 0
    assert not _tickets(store)[skewed].time_suspect


def test_out_of_range_times_become_no_time_and_polling_continues(helpdesk, store):
    low, high, fine, later = (str(uuid.uuid4()) for _ in range(4))
    if helpdesk.kind == "mysql":
        # DATETIME holds no zone: the source's zone (UTC-5) pushes 9999-12-31 past year 9999.
        overrides = {"source_timezone": "Etc/GMT+5"}
        values = ("0001-01-01 00:00:00", "9999-12-31 23:59:59")
    else:
        overrides = {}
        values = ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00")
    now = datetime.now(UTC).replace(microsecond=0)
    helpdesk.add_events(
        {"id": low, "created": values[0], "subject": "year one"},
        {"id": high, "created": values[1], "subject": "year 9999"},
        {"id": fine, "created": now - timedelta(minutes=2), "subject": "ordinary"},
    )
    poller = _event_poller(helpdesk, store, **overrides)
    result = poller.poll_once()
    assert result.error is None, result.error
    assert sorted(result.new_ids) == sorted([low, high, fine])
    stored = _tickets(store)
    assert stored[low].created_at is None and stored[high].created_at is None
    assert stored[fine].created_at is not None

    helpdesk.add_events({"id": later, "created": now, "subject": "after them"})
    second = poller.poll_once()
    poller.close()
    assert second.error is None and second.new_ids == [later]


def test_nul_characters_do_not_cut_the_text(helpdesk, store):
    if helpdesk.kind == "postgresql":
        pytest.skip("PostgreSQL text cannot hold NUL characters")
    long_body = "start\x00" + "x" * 3000 + " the end"
    helpdesk.add_tickets(
        {"ref": "NUL-1", "title": "Refund\x00 please", "descr": "before\x00after the NUL"},
        {"ref": "NUL-2", "title": "long", "descr": long_body},
        {"ref": "NUL-3", "title": "café\x00 crème", "descr": "é" * 2500},
    )
    poller = make_poller(helpdesk, store, source_max_body_chars=1000)
    result = poller.poll_once()
    poller.close()
    assert result.error is None and result.new == 3
    stored = _tickets(store)
    assert stored["NUL-1"].subject == "Refund please"
    assert stored["NUL-1"].body == "beforeafter the NUL"
    assert stored["NUL-2"].body.startswith("start" + "x" * 900)
    assert "[truncated" in stored["NUL-2"].body
    assert stored["NUL-3"].subject == "café crème"
    assert stored["NUL-3"].body.startswith("é" * 1000) and "\ufffd" not in stored["NUL-3"].body


async def test_healthz_counts_rows_with_suspect_times(
    helpdesk, fake_slack, policies_dir, tmp_path: Path
):
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(database_url)
    settings = source_settings(
        helpdesk,
        database_url,
        slack_api_url=fake_slack.api_url,
        policies_dir=policies_dir,
        source_poll_seconds=0.3,
        source_query=EVENT_QUERY,
        source_cursor_column="created_at",
    )
    helpdesk.add_events(
        {"id": str(uuid.uuid4()), "created": datetime(2099, 1, 1, tzinfo=UTC), "subject": "x"}
    )
    runtime = build_runtime(settings)
    async with running(runtime, "127.0.0.1", 0) as port, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{port}"

        async def counted() -> bool:
            report = await health(http, base)
            return isinstance(report["source"], dict) and report["source"].get("suspect_times") == 1

        await until(counted, timeout=30)
        report = await health(http, base)
        assert report["database"] == "ok" and "paused" in report
