"""Bad input end to end: junk tickets are stored and posted safely; bad requests change nothing."""

from __future__ import annotations

import json

import pytest

from tests.conftest import INTAKE_SECRET, TRIAGE_CHANNEL, BotUnderTest

HOSTILE = "<!channel> <!here> <@U024BE7LH> <http://evil.example|your invoice> & <b>bold</b>"


def section_texts(call) -> list[str]:
    texts = []
    for block in call.params["blocks"]:
        if block["type"] in ("section", "context"):
            if "text" in block:
                texts.append(block["text"]["text"])
            for element in block.get("elements", []) + block.get("fields", []):
                texts.append(element.get("text", ""))
    return texts


def title_of(call) -> str:
    """The first block: the ticket's subject line (a link only when the helpdesk gave one)."""
    return call.params["blocks"][0]["text"]["text"]


@pytest.mark.parametrize(
    ("ticket_id", "subject", "body"),
    [
        ("empty", "", ""),
        ("emoji", "🎉🎉", "🙂🙂🙂🙂🔥"),
        (
            "html",
            "<b>Payment failed</b>",
            "<p>My card was declined &amp; <script>alert(1)</script></p>",
        ),
        ("binary", "\x00\x01junk\x7f", "\udcff\x00\x1b[31mred\x1b[0m ÿþ garbage \ufffe"),
        ("inject", HOSTILE, HOSTILE),
    ],
)
async def test_junk_tickets_are_stored_and_posted_safely(
    bot: BotUnderTest, ticket_id: str, subject: str, body: str
):
    response = await bot.post_tickets({"id": ticket_id, "subject": subject, "body": body})
    assert response.status == 202
    await bot.slack.wait_for(lambda s: bot.proposal_for(ticket_id) is not None)
    call = bot.proposal_for(ticket_id)
    stored = bot.runtime.store.get_ticket(ticket_id)
    assert stored is not None and "\x00" not in stored.body
    for text in section_texts(call):
        # No live pings or links: every < from the ticket arrives escaped.
        assert "<!channel>" not in text and "<!here>" not in text
        assert "<@U024BE7LH>" not in text and "<http://evil" not in text
    assert "<!channel>" not in call.params["text"]
    # The title names the ticket; no link unless the helpdesk gave a URL.
    title = title_of(call)
    assert title.startswith(f"*#{ticket_id} ") and "<http" not in title


async def test_huge_ticket_is_cut_with_a_marker_and_stays_in_slack_limits(bot: BotUnderTest):
    body = ("&<>" * 50_000) + " the end"
    response = await bot.post_tickets({"id": "huge", "subject": "S" * 5000, "body": body})
    assert response.status == 202
    await bot.slack.wait_for(lambda s: bot.proposal_for("huge") is not None)
    call = bot.proposal_for("huge")
    assert len(call.params["blocks"]) <= 50
    assert len(title_of(call)) <= 200
    for text in section_texts(call):
        assert len(text) <= 3000
    assert any("truncated" in t for t in section_texts(call))
    assert bot.runtime.store.get_ticket("huge").body == body  # nothing lost in the store


async def test_body_of_one_megabyte_is_accepted(bot: BotUnderTest):
    body = "x" * (1024 * 1024 - 200)
    response = await bot.post_tickets({"id": "big", "body": body})
    assert response.status == 202


async def test_body_over_the_cap_gets_413_and_stores_nothing(bot: BotUnderTest):
    cap = bot.runtime.settings.max_body_bytes
    response = await bot.post_tickets({"id": "too-big", "body": "x" * (cap + 10)})
    assert response.status == 413
    assert bot.runtime.store.get_ticket("too-big") is None


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b"not json at all", 400, "not valid UTF-8 JSON"),
        (b"\xff\xfe\x00binary", 400, "not valid UTF-8 JSON"),
        (b"[]", 400, "no tickets"),
        (b'{"subject": "no id"}', 422, "nothing was stored"),
        (b'[{"id": "ok-1"}, {"id": ""}]', 422, "nothing was stored"),
        (b'[{"id": "ok-2"}, 42]', 422, "nothing was stored"),
        (b'{"id": {"nested": 1}}', 422, "nothing was stored"),
    ],
)
async def test_malformed_requests_get_a_clear_4xx_and_change_nothing(
    bot: BotUnderTest, raw: bytes, status: int, message: str
):
    response = await bot.post_tickets(None, raw=raw)
    assert response.status == status
    assert message in (await response.json())["error"]
    assert bot.runtime.store.count_tickets() == 0


async def test_unsigned_or_wrongly_signed_intake_gets_401(bot: BotUnderTest):
    body = json.dumps({"id": "x1"}).encode()
    unsigned = await bot.http.post(f"{bot.base_url}/tickets", data=body)
    assert unsigned.status == 401
    wrong = await bot.post_tickets({"id": "x1"}, secret=INTAKE_SECRET + "-wrong")
    assert wrong.status == 401
    assert bot.runtime.store.count_tickets() == 0


async def test_same_ticket_twice_is_stored_and_posted_once(bot: BotUnderTest):
    ticket = {"id": 77, "subject": "Invoice", "body": "Where is my invoice?"}
    first = await bot.post_tickets(ticket)
    second = await bot.post_tickets({**ticket, "id": "77"})
    assert first.status == 202
    assert second.status == 200
    assert (await second.json())["duplicates"] == ["77"]
    await bot.slack.wait_for(lambda s: bot.proposal_for("77") is not None)
    await bot.runtime.worker.run_once()
    posts = [c for c in bot.posts_to(TRIAGE_CHANNEL) if "#77" in c.params.get("text", "")]
    assert len(posts) == 1
    assert bot.runtime.store.count_tickets() == 1
