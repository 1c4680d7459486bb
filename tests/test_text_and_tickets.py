"""Escaping, bounding and lenient ticket parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.text import escape_mrkdwn, safe_mrkdwn
from bot.tickets import TicketIn, TicketRejected, clean_text, normalise_id, parse_timestamp


def test_escape_neutralises_pings_and_links():
    assert escape_mrkdwn("<!channel> & <@U1> <http://x|y>") == (
        "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;http://x|y&gt;"
    )


def test_safe_mrkdwn_never_cuts_an_entity_in_half_and_counts_what_is_hidden():
    text = "a" * 10 + "&" * 3000
    out = safe_mrkdwn(text, 500)
    assert len(out) <= 500
    body, marker = out.split("…", 1)
    assert not body.endswith(("&", "&a", "&am", "&amp"[:3]))
    shown = len(body.replace("&amp;", "&"))
    assert f"{len(text) - shown} more characters" in marker


@pytest.mark.parametrize(
    ("raw", "expected"), [(424242, "424242"), ("424242", "424242"), (42.0, "42"), (" x-1 ", "x-1")]
)
def test_ids_are_strings(raw, expected):
    assert normalise_id(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   ", True, 1.5, {"a": 1}, "x" * 201])
def test_unusable_ids_are_rejected(raw):
    with pytest.raises(TicketRejected):
        normalise_id(raw)


def test_junk_fields_are_normal_not_errors():
    ticket = TicketIn.from_raw(
        {"id": 7, "subject": None, "body": 12, "created_at": "garbage", "requester": ["x"]}
    )
    assert (ticket.subject, ticket.body, ticket.created_at) == ("", "12", None)


def test_control_characters_and_lone_surrogates_are_cleaned():
    assert clean_text("a\x00b\x1bc\ud800d\r\ne") == "abc\ufffdd\ne"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-20T08:15:00Z", datetime(2026, 11, 20, 8, 15, tzinfo=UTC)),
        ("2026-11-20T09:15:00+01:00", datetime(2026, 11, 20, 8, 15, tzinfo=UTC)),
        ("2026-11-20 08:15:00", datetime(2026, 11, 20, 8, 15, tzinfo=UTC)),
        (1763626500, datetime(2025, 11, 20, 8, 15, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
    ],
)
def test_timestamps_are_parsed_leniently(raw, expected):
    assert parse_timestamp(raw) == expected
