"""Tickets crafted to crash intake or to fool an agent: absurd creation times, ids that only
look like another ticket's (zero-width, bidi, full-width characters), and bidi overrides
in the text shown in Slack. Through the real webhook, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.store import Store
from bot.text import escape_mrkdwn, plain_bounded
from bot.tickets import TicketIn, id_key, parse_timestamp
from tests.conftest import BotUnderTest


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        "9999-12-31T23:59:59.999999-00:01",
        10**20,
        -(10**20),
        "1900-01-01T00:00:00Z",
    ],
)
def test_out_of_range_times_are_no_time(value):
    assert parse_timestamp(value) is None
    assert TicketIn.from_raw({"id": "T", "created_at": value}).created_at is None


def test_ordinary_times_still_parse():
    assert parse_timestamp("2026-11-20T09:15:00+01:00") == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)


async def test_a_batch_with_absurd_times_is_accepted_and_every_ticket_stored(bot: BotUnderTest):
    batch = [
        {"id": "OOR-1", "subject": "year one", "created_at": "0001-01-01T00:00:00+05:00"},
        {"id": "OOR-2", "subject": "year 9999", "created_at": "9999-12-31T23:59:59-05:00"},
        {"id": "OOR-3", "subject": "ordinary", "created_at": "2026-11-20T08:15:00Z"},
    ]
    response = await bot.post_tickets(batch)
    assert response.status == 202, await response.text()
    assert sorted((await response.json())["stored"]) == ["OOR-1", "OOR-2", "OOR-3"]
    store = bot.runtime.store
    assert store.get_ticket("OOR-1").created_at is None
    assert store.get_ticket("OOR-2").created_at is None
    assert store.get_ticket("OOR-3").created_at == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)


def test_the_lookalike_key_strips_format_characters_and_folds_compatibility_forms():
    for lookalike in (
        "ZW-1\u200b",
        "\u200bZW-1",
        "ZW\u2060-1",
        "ZW-1\u202e",
        "\uff3a\uff37-\uff11",
    ):
        assert id_key(lookalike) == "ZW-1"
    assert id_key("zw-1") != id_key("ZW-1")  # case is a real difference


async def test_an_id_that_only_looks_like_a_stored_one_is_refused(bot: BotUnderTest):
    first = await bot.post_tickets({"id": "ZW-1", "subject": "Refund please"})
    assert first.status == 202
    for lookalike in ("ZW-1\u200b", "ZW-1\u202e", "\uff3a\uff37-1"):
        response = await bot.post_tickets({"id": lookalike, "subject": "Refund please"})
        assert response.status == 422, await response.text()
        problem = (await response.json())["problems"][0]
        assert problem["index"] == 0 and "'ZW-1'" in problem["error"]
        assert bot.runtime.store.get_ticket(lookalike) is None
    # Re-sending the real ticket is still an ordinary repeat.
    again = await bot.post_tickets({"id": "ZW-1", "subject": "Refund please"})
    assert again.status == 200 and (await again.json())["duplicates"] == ["ZW-1"]
    # Two look-alikes in one body: the whole body is refused, naming the second.
    pair = await bot.post_tickets([{"id": "LA-7"}, {"id": "LA-7\u200d"}])
    assert pair.status == 422
    assert [p["index"] for p in (await pair.json())["problems"]] == [1]
    assert bot.runtime.store.get_ticket("LA-7") is None


def test_the_store_refuses_a_lookalike_even_when_both_arrive_together(database_url: str):
    """The unique key holds where the webhook's pre-check cannot: one transaction, any path."""
    from bot.db import make_engine

    engine = make_engine(database_url)
    try:
        store = Store(engine)
        result = store.add_tickets(
            [TicketIn(id="RACE-1"), TicketIn(id="RACE-1\u200b"), TicketIn(id="RACE-2")], "test"
        )
        assert result.new_ids == ["RACE-1", "RACE-2"]
        assert result.lookalikes == {"RACE-1\u200b": "RACE-1"} and result.duplicate_ids == []
        assert store.lookalikes(["RACE-1\u2060", "RACE-1", "OTHER"]) == {"RACE-1\u2060": "RACE-1"}
    finally:
        engine.dispose()


def test_bidi_controls_are_neutralised_in_displayed_text():
    spoof = "invoice\u202egpj.exe\u202c and \u2066isolate\u2069 \u200fmark"
    assert escape_mrkdwn(spoof) == "invoicegpj.exe and isolate mark"
    assert plain_bounded(spoof, 100) == "invoicegpj.exe and isolate mark"


async def test_a_proposal_in_slack_carries_no_bidi_override(bot: BotUnderTest):
    response = await bot.post_tickets(
        {
            "id": "BIDI-1",
            "subject": "Refund for \u202eslirpa\u202c please",
            "body": "My card was charged twice \u202etnuocca\u202c",
            "requester": "ana\u202e@example.com",
        }
    )
    assert response.status == 202
    await bot.slack.wait_for(lambda s: bot.proposal_for("BIDI-1") is not None)
    shown = json.dumps(bot.proposal_for("BIDI-1").params, ensure_ascii=False)
    assert "\u202e" not in shown and "\u202c" not in shown
    assert "slirpa" in shown  # the text itself is kept, only the override is gone
    assert bot.runtime.store.get_ticket("BIDI-1").subject == "Refund for \u202eslirpa\u202c please"
