"""Messy legacy rows, ingested from a real database through a SELECT-only role.

Each kind of messy row has its own test; each runs on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.models import Ticket
from bot.source.clean import TRUNCATED
from bot.source.query import SourceQueryError
from bot.store import Store
from tests.source.conftest import make_poller
from tests.source.legacy import LegacyHelpdesk


def ingest(helpdesk: LegacyHelpdesk, store: Store, **overrides) -> dict[str, Ticket]:
    poller = make_poller(helpdesk, store, **overrides)
    try:
        result = poller.poll_once()
    finally:
        poller.close()
    assert result.error is None, result.error
    with store.session() as session:
        from sqlmodel import select

        return {t.id: t for t in session.exec(select(Ticket)).all()}


def test_null_and_empty_subject_and_body_are_stored_as_empty_text(helpdesk, store):
    helpdesk.add_tickets(
        {"ref": "N1", "title": None, "descr": None},
        {"ref": "N2", "title": "", "descr": ""},
        {"ref": "N3", "title": "   ", "descr": "only a body"},
    )
    tickets = ingest(helpdesk, store)
    assert sorted(tickets) == ["N1", "N2", "N3"]
    assert (tickets["N1"].subject, tickets["N1"].body) == ("", "")
    assert (tickets["N2"].subject, tickets["N2"].body) == ("", "")
    assert tickets["N3"].subject == "" and tickets["N3"].body == "only a body"
    assert all(t.source == "sql" and t.status == "new" for t in tickets.values())


def test_html_bodies_keep_their_text_without_tags_and_with_entities_decoded(helpdesk, store):
    html = (
        "<html><head><style>p {color: red}</style><script>alert(1)</script></head><body>"
        "<p>Hello&nbsp;team,</p><p>I was charged &euro;20 &amp; then <b>again</b> &lt;twice&gt;."
        "</p><br><div>Order&#160;#A-17</div></body></html>"
    )
    helpdesk.add_tickets({"ref": "H1", "title": "Double charge", "descr": html})
    body = ingest(helpdesk, store)["H1"].body
    assert "<" not in body.replace("<twice>", "") and "&nbsp;" not in body and "&amp;" not in body
    assert "alert(1)" not in body and "color: red" not in body
    assert "Hello team," in body
    assert "I was charged €20 & then again <twice>." in body
    assert "Order #A-17" in body


def test_quoted_reply_chains_and_signatures_are_kept_but_not_classified(helpdesk, store):
    from bot.source.clean import clean_for_classification

    body = (
        "The export button does nothing since the update.\n\n"
        "-- \nAna Silva | ACME Corp | +1 555 0100\n\n"
        "On Tue, 3 Nov 2026 at 10:00, Support <help@example.com> wrote:\n"
        "> Thanks for your praise, we love happy customers!\n> Great job!"
    )
    helpdesk.add_tickets({"ref": "Q1", "title": "Export broken", "descr": body})
    stored = ingest(helpdesk, store)["Q1"]
    assert stored.body == body  # the original is kept, quote and signature included
    classified = clean_for_classification(stored.body)
    assert classified == "The export button does nothing since the update."


def test_mojibake_from_cp1252_misdecoding_is_repaired(helpdesk, store):
    helpdesk.add_tickets(
        {
            "ref": "M1",
            "title": "CafÃ© order â€“ canâ€™t pay",
            "descr": "The â‚¬ sign shows wrong and SeÃ±or GarcÃ\xada is upset",
            "email": "jÃ¼rgen@example.de",
        }
    )
    stored = ingest(helpdesk, store)["M1"]
    assert stored.subject == "Café order – can’t pay"
    assert stored.body == "The € sign shows wrong and Señor García is upset"
    assert stored.requester == "jürgen@example.de"


def test_control_characters_are_dropped(helpdesk, store):
    helpdesk.add_tickets(
        {"ref": "C1", "title": "Bell\x07 and\x1b[31m escape", "descr": "tab\tkept\x0bvt\x08bs\x7f"}
    )
    stored = ingest(helpdesk, store)["C1"]
    assert stored.subject == "Bell and escape"  # ANSI escape sequences go whole
    assert stored.body == "tab\tkeptvtbs"


def test_megabyte_bodies_are_bounded(helpdesk, store):
    huge = ("Please help, the invoice is wrong. " * 100_000)[:3_000_000]  # 3 MB
    helpdesk.add_tickets({"ref": "B1", "title": "Huge", "descr": huge})
    stored = ingest(helpdesk, store, source_max_body_chars=50_000)["B1"]
    assert stored.body.startswith("Please help, the invoice is wrong.")
    assert stored.body.endswith(TRUNCATED.format(limit=50_000))
    assert len(stored.body) <= 50_000 + len(TRUNCATED) + 10


def test_text_timestamps_in_mixed_formats_and_zones_or_missing(helpdesk, store):
    helpdesk.add_tickets(
        {"ref": "T1", "opened": "2026-11-20 08:15:00"},  # naive: SOURCE_TIMEZONE
        {"ref": "T2", "opened": "2026-11-20T08:15:00+01:00"},
        {"ref": "T3", "opened": "20/11/2026 08:15"},  # day first (SOURCE_DAYFIRST)
        {"ref": "T4", "opened": "Fri, 20 Nov 2026 08:15:00 GMT"},
        {"ref": "T5", "opened": "Nov 20, 2026 3:15 AM EST"},
        {"ref": "T6", "opened": "1795162500"},  # epoch seconds
        {"ref": "T7", "opened": None},
        {"ref": "T8", "opened": "0000-00-00 00:00:00"},
        {"ref": "T9", "opened": "last tuesday-ish"},
    )
    tickets = ingest(helpdesk, store, source_timezone="Europe/Berlin", source_dayfirst=True)
    berlin_0815 = datetime(2026, 11, 20, 7, 15, tzinfo=UTC)
    assert tickets["T1"].created_at == berlin_0815
    assert tickets["T2"].created_at == berlin_0815
    assert tickets["T3"].created_at == berlin_0815
    assert tickets["T4"].created_at == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    assert tickets["T5"].created_at == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    assert tickets["T6"].created_at == datetime.fromtimestamp(1795162500, UTC)
    for missing in ("T7", "T8", "T9"):
        assert tickets[missing].created_at is None  # stored all the same


def test_numeric_uuid_and_padded_string_ids(helpdesk, store):
    import uuid

    key = uuid.UUID("8c7a3c1e-5b0d-4f0e-9a51-2f4c3b1d9e77")
    helpdesk.add_tickets({"ref": "00042 ", "title": "padded"}, {"ref": "42", "title": "plain"})
    helpdesk.add_events(
        {"id": str(key), "created": datetime(2026, 11, 20, 9, tzinfo=UTC), "subject": "uuid"}
    )
    tickets = ingest(helpdesk, store)
    # Padding is stripped, leading zeros are kept: "00042 " and "42" are two tickets.
    assert tickets["00042"].subject == "padded"
    assert tickets["42"].subject == "plain"
    # Numeric ids (the auto-increment key) become their decimal text.
    numeric = "SELECT seq AS id, title AS subject, opened AS created_at FROM hd_ticket"
    store2_ids = set(ingest(helpdesk, store, source_query=numeric, source_cursor_column="id"))
    assert {"1", "2"} <= store2_ids
    events = ingest(
        helpdesk,
        store,
        source_query="SELECT id, subject, body, created AS created_at FROM hd_event",
        source_cursor_column="created_at",
    )
    assert events[str(key)].subject == "uuid"  # canonical lower-case UUID text


def test_duplicate_rows_are_stored_once(helpdesk, store):
    helpdesk.add_tickets(
        {"ref": "D1", "title": "first copy", "descr": "a"},
        {"ref": "D1", "title": "second copy", "descr": "b"},  # no unique key in the legacy table
        {"ref": "D2", "title": "other"},
    )
    poller = make_poller(helpdesk, store)
    result = poller.poll_once()
    poller.close()
    assert result.error is None
    assert (result.rows_read, result.new, result.known) == (3, 2, 1)
    assert store.get_ticket("D1").subject == "first copy"
    assert store.count_tickets() == 2


def test_columns_the_query_does_not_return_are_empty(helpdesk, store):
    helpdesk.add_tickets({"ref": "P1", "title": "has a title", "descr": "and a body"})
    tickets = ingest(helpdesk, store, source_query="SELECT ref AS id, seq FROM hd_ticket")
    stored = tickets["P1"]
    assert (stored.subject, stored.body, stored.requester, stored.created_at) == ("", "", "", None)
    assert stored.first_response_at is None and stored.resolved_at is None


def test_a_query_without_an_id_column_is_refused_with_a_clear_error(helpdesk, store):
    poller = make_poller(
        helpdesk, store, source_query="SELECT title AS subject, seq FROM hd_ticket"
    )
    with pytest.raises(SourceQueryError, match="returns no `id` column"):
        poller.reader.columns()
    poller.close()


def test_rows_without_a_usable_id_are_skipped_and_counted(helpdesk, store, caplog):
    helpdesk.add_tickets(
        {"ref": None, "title": "private words"},
        {"ref": "  ", "title": "private words"},
        {"ref": "OK1", "title": "fine"},
    )
    poller = make_poller(helpdesk, store)
    result = poller.poll_once()
    poller.close()
    assert (result.rows_read, result.new, result.skipped) == (3, 1, 2)
    assert store.get_ticket("OK1") is not None
    skipped = [r for r in caplog.records if "source row skipped" in r.getMessage()]
    assert len(skipped) == 2 and all("private" not in r.getMessage() for r in skipped)
