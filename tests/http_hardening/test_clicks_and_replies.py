"""Where answers go and what clicks may do: response_url stays on Slack, replies escape
ticket ids and reassign values, and a click counts only from a message showing it."""

from __future__ import annotations

import pytest

from bot.models import TicketStatus
from bot.response_urls import allowed
from bot.settings import Settings
from tests.conftest import TRIAGE_CHANNEL, BotUnderTest, make_settings
from tests.fakes.slack_requests import slash_command
from tests.http_hardening.helpers import eventually

OWNER = "U0SUPPLEAD"
AGENT = "U0AGENT01"
review = pytest.mark.policies(mode="suggest")


# --- response_url ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response_url",
    ["http://localhost:{port}/response", "https://attacker.example/response"],
    ids=["other-loopback-name", "foreign-host"],
)
async def test_a_response_url_outside_slack_is_never_posted_to(
    bot: BotUnderTest, response_url: str
):
    url = response_url.format(port=bot.slack.port)
    response = await bot.slack_post(slash_command("/triage-pause", "all", OWNER, url))
    assert response.status == 400
    assert bot.runtime.store.paused_names() == set()  # nothing ran
    # The fake serves /response on 127.0.0.1 and localhost alike: nothing came.
    ok = await bot.command("/triage-status", "", OWNER)  # an allowed one is answered
    assert ok.status == 200
    await bot.slack.wait_for(lambda s: s.responses)
    assert len(bot.slack.responses) == 1


def test_allowed_response_url_hosts():
    settings = make_settings(slack_api_url="https://slack.com/api/")
    hosts, api = settings.response_url_hosts, settings.slack_api_url
    assert allowed("https://hooks.slack.com/commands/T0/1/abc", hosts, api)
    assert allowed("https://hooks.slack-gov.com/actions/T0/1/abc", hosts, api)
    assert not allowed("http://hooks.slack.com/commands/T0/1/abc", hosts, api)  # not https
    assert not allowed("https://hooks.slack.com.attacker.example/x", hosts, api)
    assert not allowed("https://hooks.slack.com@attacker.example/x", hosts, api)
    assert not allowed("https://user:pw@hooks.slack.com/x", hosts, api)
    assert not allowed("https://[::1/x", hosts, api)  # unparsable
    assert not allowed("javascript:alert(1)", hosts, api)
    local = make_settings(slack_api_url="http://127.0.0.1:9999/api/")
    assert allowed("http://127.0.0.1:4567/response", local.response_url_hosts, local.slack_api_url)
    assert not allowed("http://localhost:4567/x", local.response_url_hosts, local.slack_api_url)
    only = Settings(_env_file=None, slack_response_url_hosts=" Hooks.Example.com , ")
    assert only.response_url_hosts == frozenset({"hooks.example.com"})


# --- escaping in ephemeral replies ----------------------------------------------------------------


@review
async def test_ticket_id_and_reassign_value_are_escaped_in_replies(bot: BotUnderTest):
    ticket_id = "<!channel>&1"
    assert (await bot.post_tickets({"id": ticket_id, "subject": "Bill", "body": "x"})).status == 202
    ts = await bot.proposal_ts(ticket_id)
    await bot.click("triage_reassign", ticket_id, AGENT, ts, selected="<!here>")
    await bot.slack.wait_for(lambda s: len(s.responses) == 1)
    assert "`&lt;!here&gt;` is not a tag" in bot.slack.responses[0]["text"]
    assert "<!here>" not in bot.slack.responses[0]["text"]

    await bot.click("triage_approve", ticket_id, AGENT, ts)
    await bot.slack.wait_for(lambda s: len(s.accepted("chat.update")) == 1)
    await bot.click("triage_approve", ticket_id, AGENT, ts)  # already routed: a reply
    await bot.slack.wait_for(lambda s: len(s.responses) == 2)
    text = bot.slack.responses[1]["text"]
    assert "#&lt;!channel&gt;&amp;1 was already routed" in text
    assert "<!channel>" not in text


# --- clicks only from the message that shows the control --------------------------------------------


@review
async def test_a_click_is_refused_from_a_message_that_does_not_show_that_ticket(
    bot: BotUnderTest,
):
    for ticket_id in ("LOC-A", "LOC-B"):
        await bot.post_tickets({"id": ticket_id, "subject": "Invoice", "body": "Wrong amount"})
    ts_a = await bot.proposal_ts("LOC-A")
    await bot.proposal_ts("LOC-B")
    await bot.wait_shown(TRIAGE_CHANNEL, ts_a, "triage:LOC-A", "LOC-A")

    # B's block_id, clicked in A's message; then in a message that is not the bot's at all.
    await bot.click("triage_approve", "LOC-B", AGENT, ts_a, wait_shown=False)
    await bot.click("triage_approve", "LOC-B", AGENT, "1799999999.000001", wait_shown=False)
    await bot.click("triage_approve", "LOC-B", AGENT, ts_a, channel="C0ELSEWHERE", wait_shown=False)
    await bot.slack.wait_for(lambda s: len(s.responses) == 3)
    for reply in bot.slack.responses:
        assert "does not belong to the message" in reply["text"]
        assert reply.get("response_type") == "ephemeral"
    assert bot.runtime.store.get_ticket("LOC-B").status == TicketStatus.REVIEW
    assert bot.runtime.store.decisions("LOC-B") == []

    await bot.click("triage_approve", "LOC-A", AGENT, ts_a)  # its own message: applied
    await bot.slack.wait_for(
        lambda s: bot.runtime.store.get_ticket("LOC-A").status == TicketStatus.ROUTED
    )


@review
async def test_owner_pages_are_recorded_as_showing_the_ticket(bot: BotUnderTest):
    await bot.post_tickets({"id": "PAGE-1", "subject": "Invoice", "body": "Wrong amount"})
    ts = await bot.proposal_ts("PAGE-1")
    await bot.click("triage_not_sure", "PAGE-1", AGENT, ts)
    await bot.slack.wait_for(
        lambda s: any(
            c.params.get("text", "").endswith("needs you") for c in s.accepted("chat.postMessage")
        )
    )
    page = next(
        c for c in bot.slack.accepted("chat.postMessage") if c.params["text"].endswith("needs you")
    )

    def page_ts() -> str | None:
        rows = bot.runtime.store.outbox_messages("PAGE-1")
        return next((m.result_ts for m in rows if m.purpose == "handoff" and m.result_ts), None)

    await eventually(lambda: page_ts() is not None, what="the page to be marked sent")
    shown_at = page_ts() or ""
    assert page.params["channel"] == TRIAGE_CHANNEL
    assert "handoff:PAGE-1" in bot.runtime.store.controls_at(TRIAGE_CHANNEL, shown_at)
    assert "triage:PAGE-1" in bot.runtime.store.controls_at(TRIAGE_CHANNEL, ts)


def test_record_controls_api(database_url: str):
    from bot.db import make_engine
    from bot.store import Store

    engine = make_engine(database_url)
    try:
        store = Store(engine)
        store.record_controls("C1", "1.000001", ["triage-group:G7", "triage:T-1"])
        store.record_controls("C1", "1.000001", ["triage:T-1"])  # twice is fine
        assert store.controls_at("C1", "1.000001") == {"triage-group:G7", "triage:T-1"}
        assert store.controls_at("C1", "1.000002") == set()
        assert store.shows_control("C1", "1.000001", "triage-group:G7")
        assert not store.shows_control("C2", "1.000001", "triage-group:G7")
        assert not store.shows_control("C1", "1.000001", "triage:T-2", "T-2")
        with pytest.raises(TypeError):  # a lone string would be recorded letter by letter
            store.record_controls("C1", "1.000001", "triage:T-1")
    finally:
        engine.dispose()
