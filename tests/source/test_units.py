"""The pure parts of the source: query checks, id and time rules, text cleaning, error lines."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.source.clean import clean_for_classification, html_to_text, repair_text, source_id
from bot.source.errors import classify, mask_url
from bot.source.query import SourceQueryError, validate_query
from bot.source.state import decode_value, encode_value, minus_lookback
from bot.source.times import parse_source_time, zone
from bot.tickets import TicketRejected


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("", "is empty"),
        ("SELECT 1 AS id; SELECT 2 AS id", "2 statements"),
        ("SELECT 1 AS id; DELETE FROM t", "2 statements"),
        ("UPDATE t SET a = 1", "must be a SELECT"),
        ("INSERT INTO t VALUES (1)", "must be a SELECT"),
        ("DROP TABLE t", "must be a SELECT"),
        ("WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone", "contains DELETE"),
        ("SELECT * INTO copy FROM t", "contains INTO"),
        ("SELECT * FROM t FOR UPDATE", "contains UPDATE"),
        ("SELECT * FROM t FOR SHARE", "contains SHARE"),
        ("SELECT * FROM t LOCK IN SHARE MODE", "contains LOCK"),
        ("CALL purge()", "must be a SELECT"),
    ],
)
def test_anything_but_one_select_is_refused(query, why):
    with pytest.raises(SourceQueryError, match=why):
        validate_query(query)


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("SELECT id FROM t;", "SELECT id FROM t"),
        (
            "with a as (select 1 as id) select * from a",
            "with a as (select 1 as id) select * from a",
        ),
        (
            "SELECT id FROM t WHERE note <> 'drop; update' AND x LIKE 'a%' -- delete me",
            "SELECT id FROM t WHERE note <> 'drop; update' AND x LIKE 'a%' -- delete me",
        ),
        ('SELECT "update" AS id FROM t', 'SELECT "update" AS id FROM t'),
    ],
)
def test_plain_selects_are_accepted(query, kept):
    assert validate_query(query) == kept


def test_ids_are_strings_with_padding_stripped_and_leading_zeros_kept():
    assert source_id(42) == "42"
    assert source_id(Decimal("42")) == "42"
    assert source_id("00042 ") == "00042"
    assert source_id(b"  T-7 ") == "T-7"
    assert source_id(uuid.UUID("8C7A3C1E-5B0D-4F0E-9A51-2F4C3B1D9E77")) == (
        "8c7a3c1e-5b0d-4f0e-9a51-2f4c3b1d9e77"
    )
    for bad in (None, "", "   ", Decimal("4.5")):
        with pytest.raises(TicketRejected):
            source_id(bad)


def test_times_in_mixed_formats_zones_and_types():
    berlin = zone("Europe/Berlin")
    expected = datetime(2026, 11, 20, 7, 15, tzinfo=UTC)
    assert parse_source_time("2026-11-20 08:15", berlin) == expected
    assert parse_source_time(datetime(2026, 11, 20, 8, 15), berlin) == expected
    assert parse_source_time("20.11.2026 08:15", berlin, dayfirst=True) == expected
    assert parse_source_time("11/20/2026 8:15 AM", berlin) == expected
    assert parse_source_time("2026-11-20 08:15 CET") == expected
    assert parse_source_time(date(2026, 11, 20)) == datetime(2026, 11, 20, tzinfo=UTC)
    assert parse_source_time(1795162500000) == datetime.fromtimestamp(1795162500, UTC)
    for junk in (None, "", "n/a", "0000-00-00", "99999999999999999999", True):
        assert parse_source_time(junk) is None
    with pytest.raises(ValueError, match="SOURCE_TIMEZONE"):
        zone("Mars/Olympus")


def test_cursor_values_round_trip_with_their_type():
    for value in (
        42,
        Decimal("42.50"),
        datetime(2026, 11, 20, 8, 15, 3, 12),
        datetime(2026, 11, 20, 8, 15, tzinfo=UTC),
        date(2026, 11, 20),
        "2026-11-20",
        uuid.uuid4(),
        b"\x00\xff",
    ):
        back = decode_value(encode_value(value))
        assert back == value and type(back) is type(value)
    assert minus_lookback(datetime(2026, 1, 1, 0, 10), 600) == datetime(2026, 1, 1)
    assert minus_lookback("2026-01-01 00:10:00", 600) == "2026-01-01 00:00:00"
    assert minus_lookback(1000, 600) == 1000  # ids have no clock: see README


def test_html_text_and_repair():
    assert html_to_text("<ul><li>one</li><li>two&nbsp;&amp; three</li></ul>") == (
        "one\n\ntwo & three"
    )
    assert repair_text("plain <3 text, a < b", 100) == "plain <3 text, a < b"  # not HTML
    assert repair_text(b"caf\xe9", 100) == "café"  # cp1252 bytes
    # Addresses in angle brackets are text, not tags, in plain and in HTML bodies alike.
    assert repair_text("Ana <ana@example.com>", 100) == "Ana <ana@example.com>"
    assert repair_text("Mail <ana@example.com> re <b>invoice</b>", 100) == (
        "Mail <ana@example.com> re invoice"
    )


def test_classification_text_drops_quotes_and_signatures_but_never_everything():
    outlook = (
        "Still broken after the fix.\n\nFrom: Support <help@example.com>\n"
        "Sent: Monday\nSubject: RE: login\n\nWe fixed it, thanks for the praise!"
    )
    assert clean_for_classification(outlook) == "Still broken after the fix."
    assert clean_for_classification("I love it\n\nSent from my iPhone") == "I love it"
    assert clean_for_classification("> only a quote") == "> only a quote"
    assert clean_for_classification("") == ""


def test_error_lines_mask_passwords_and_quoted_values():
    url = "postgresql+psycopg://reader:hunter2@db.example:5432/helpdesk"
    assert mask_url(url) == "postgresql+psycopg://reader:***@db.example:5432/helpdesk"
    error = classify(
        RuntimeError("invalid input syntax for type integer: 'my card 4111 hunter2'"), url
    )
    assert "4111" not in str(error) and "hunter2" not in str(error)
