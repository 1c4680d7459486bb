"""Outcome times re-read for open tickets, stored on the ticket rows for before/after metrics."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.source.outcomes import launch_summary, refresh_outcomes
from tests.source.conftest import make_poller


def test_open_tickets_get_their_response_and_resolution_times(helpdesk, store):
    helpdesk.add_tickets(
        {"ref": "O1", "opened": "2026-11-20 08:00:00"},
        {"ref": "O2", "opened": "2026-11-20 09:00:00", "first_reply": "2026-11-20 09:05:00"},
        {
            "ref": "O3",
            "opened": "2026-11-20 10:00:00",
            "first_reply": "2026-11-20 10:30:00",
            "closed": "2026-11-20 12:00:00",
        },
    )
    poller = make_poller(helpdesk, store, source_outcome_batch=2)
    assert poller.poll_once().new == 3
    assert store.get_ticket("O3").resolved_at == datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert store.get_ticket("O2").first_response_at == datetime(2026, 11, 20, 9, 5, tzinfo=UTC)

    # Agents answer O1 and close O2 in the helpdesk.
    helpdesk.execute("UPDATE hd_ticket SET first_reply = '2026-11-20 08:20:00' WHERE ref = 'O1'")
    helpdesk.execute("UPDATE hd_ticket SET closed = 'Nov 20, 2026 11:00 AM' WHERE ref = 'O2'")
    # Bounded: two open tickets per call, rotating through them.
    first = refresh_outcomes(poller)
    second = refresh_outcomes(poller)
    assert (first.checked, first.updated, first.closed) == (2, 2, 1)  # O1 and O2; O3 was closed
    assert (second.checked, second.updated) == (0, 0)  # end of the rotation
    assert store.get_ticket("O1").first_response_at == datetime(2026, 11, 20, 8, 20, tzinfo=UTC)
    assert store.get_ticket("O1").resolved_at is None
    assert store.get_ticket("O2").resolved_at == datetime(2026, 11, 20, 11, tzinfo=UTC)
    # A closed ticket is not asked about again; O1 still is.
    again = refresh_outcomes(poller)
    assert again.checked == 1 and again.updated == 0
    poller.close()

    summary = launch_summary(store)
    assert summary.tickets == 3 and summary.responded == 3 and summary.resolved == 2
    assert summary.median_first_response_seconds == 20 * 60
    assert summary.median_resolution_seconds == (2 * 3600 + 2 * 3600) / 2


def test_a_query_without_outcome_columns_skips_the_re_read(helpdesk, store):
    helpdesk.add_tickets({"ref": "X1"})
    poller = make_poller(helpdesk, store, source_query="SELECT ref AS id, seq FROM hd_ticket")
    poller.poll_once()
    result = refresh_outcomes(poller)
    poller.close()
    assert (result.checked, result.updated) == (0, 0)
