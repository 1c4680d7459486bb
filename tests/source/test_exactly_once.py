"""Exactly once: across repeated polls, restarts and concurrent pollers; no full re-read;
late-committed rows inside the lookback window are still read."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.models import AuditEvent, Ticket, utcnow
from bot.source.models import SourceBaseline
from tests.source.conftest import make_poller
from tests.source.legacy import EVENT_QUERY


def received(store) -> list[str]:
    with store.session() as session:
        rows = session.exec(
            select(AuditEvent.ticket_id).where(AuditEvent.action == "ticket_received")
        ).all()
    return sorted(rows)


def test_repeated_polls_and_a_restart_store_each_ticket_once(helpdesk, store):
    helpdesk.add_tickets(*({"ref": f"R{i}", "title": f"t{i}"} for i in range(7)))
    first = make_poller(helpdesk, store, source_batch_size=3)
    assert first.poll_once().new == 7
    again = first.poll_once()
    assert (again.new, again.error) == (0, None)
    first.close()

    helpdesk.add_tickets({"ref": "R7", "title": "after restart"})
    restarted = make_poller(helpdesk, store, source_batch_size=3)  # a new process
    result = restarted.poll_once()
    restarted.close()
    assert result.new == 1 and result.new_ids == ["R7"]
    assert store.count_tickets() == 8
    assert received(store) == sorted(f"R{i}" for i in range(8))


def test_a_quiet_poll_does_not_reread_the_table(helpdesk, store):
    helpdesk.add_tickets(*({"ref": f"Q{i}"} for i in range(40)))
    poller = make_poller(helpdesk, store, source_batch_size=10, source_lookback_seconds=0)
    assert poller.poll_once().rows_read == 40
    quiet = poller.poll_once()
    # Only the boundary row (cursor >= the watermark) is read again, not the 40.
    assert quiet.rows_read == 1 and quiet.new == 0
    helpdesk.add_tickets({"ref": "Q40"})
    assert poller.poll_once().new_ids == ["Q40"]
    poller.close()


def test_two_processes_polling_at_once_store_each_ticket_once(helpdesk, store):
    helpdesk.add_tickets(*({"ref": f"P{i}"} for i in range(60)))
    pollers = [make_poller(helpdesk, store, source_batch_size=7) for _ in range(3)]
    results = []

    def run(poller):
        for _ in range(3):
            results.append(poller.poll_once())

    threads = [threading.Thread(target=run, args=(p,)) for p in pollers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in pollers:
        p.close()
    assert sum(r.new for r in results) == 60
    assert all(r.error is None for r in results)
    assert store.count_tickets() == 60
    assert received(store) == sorted(f"P{i}" for i in range(60))


def test_a_row_committed_late_with_an_older_timestamp_is_read_within_the_lookback(helpdesk, store):
    now = datetime.now(UTC).replace(microsecond=0)
    helpdesk.add_events(
        {"id": str(uuid.uuid4()), "created": now - timedelta(minutes=1), "subject": "a"},
        {"id": str(uuid.uuid4()), "created": now, "subject": "b"},
    )
    poller = make_poller(
        helpdesk,
        store,
        source_query=EVENT_QUERY,
        source_cursor_column="created_at",
        source_lookback_seconds=600,
    )
    assert poller.poll_once().new == 2
    # A transaction that began 5 minutes ago commits now: its created_at is behind the watermark.
    late = str(uuid.uuid4())
    helpdesk.add_events({"id": late, "created": now - timedelta(minutes=5), "subject": "late"})
    result = poller.poll_once()
    assert result.new_ids == [late]
    # Outside the window it would not be: that is the documented limit.
    too_late = str(uuid.uuid4())
    helpdesk.add_events({"id": too_late, "created": now - timedelta(hours=2), "subject": "old"})
    assert poller.poll_once().new == 0
    poller.close()


def test_rows_without_a_cursor_value_are_found_by_id(helpdesk, store):
    poller = make_poller(
        helpdesk, store, source_query=EVENT_QUERY, source_cursor_column="created_at"
    )
    helpdesk.add_events({"id": "00000000-0000-4000-8000-000000000001", "created": None})
    assert poller.poll_once().new == 1
    helpdesk.add_events({"id": "00000000-0000-4000-8000-000000000002", "created": None})
    second = poller.poll_once()
    assert second.new_ids == ["00000000-0000-4000-8000-000000000002"]
    assert second.rows_read == 1  # the first null row is not read again
    poller.close()


def test_pre_launch_history_is_the_baseline_and_is_not_posted(helpdesk, store):
    helpdesk.add_tickets(
        {
            "ref": "OLD1",
            "opened": "2020-01-01 10:00",
            "first_reply": "2020-01-01 12:00",
            "closed": "2020-01-02 10:00",
        },
        {"ref": "OLD2", "opened": "2020-02-01 10:00", "first_reply": "2020-02-01 10:30"},
        {"ref": "NODATE"},  # already there at launch, no date: history too
    )
    poller = make_poller(helpdesk, store, source_start=None)  # launch = the first poll
    first = poller.poll_once()
    assert (first.baseline, first.new) == (3, 0)
    helpdesk.add_tickets(
        {"ref": "NEW1", "opened": (utcnow() + timedelta(seconds=1)).isoformat()}, {"ref": "NEW2"}
    )
    second = poller.poll_once()
    poller.close()
    assert sorted(second.new_ids) == ["NEW1", "NEW2"]
    with store.session() as session:
        baseline = {b.ticket_id: b for b in session.exec(select(SourceBaseline)).all()}
        tickets = {t.id for t in session.exec(select(Ticket)).all()}
    assert set(baseline) == {"OLD1", "OLD2", "NODATE"} and tickets == {"NEW1", "NEW2"}
    assert baseline["OLD1"].resolved_at == datetime(2020, 1, 2, 10, tzinfo=UTC)
    from bot.source.outcomes import baseline_summary

    summary = baseline_summary(store)
    assert summary.tickets == 3 and summary.responded == 2 and summary.resolved == 1
    assert summary.median_first_response_seconds == (2 * 3600 + 1800) / 2
    assert summary.median_resolution_seconds == 86400
