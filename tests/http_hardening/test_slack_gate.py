"""`/slack/events`: the signature is checked on raw bytes before anything is parsed; the
largest request Slack sends still passes; malformed requests get 401/400 and no traceback;
a captured signed request cannot be replayed."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

import pytest

import bot.slack_gate as gate_module
from bot.models import TicketStatus
from bot.settings import SLACK_BLOCK_CHARS, SLACK_MESSAGE_BLOCKS
from tests.conftest import SIGNING_SECRET, TRIAGE_CHANNEL, BotUnderTest
from tests.fakes.slack_requests import signed_headers, slash_command
from tests.reliability.conftest import StartBot

OWNER = "U0SUPPLEAD"
AGENT = "U0AGENT01"


def sign_bytes(body: bytes, secret: str = SIGNING_SECRET, timestamp: str | None = None) -> dict:
    """Slack's signature over raw bytes (which need not be UTF-8)."""
    ts = timestamp or str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def post_raw(bot: BotUnderTest, body: bytes, headers: dict[str, str]):
    async with bot.http.post(f"{bot.base_url}/slack/events", data=body, headers=headers) as r:
        await r.read()
        return r


def click_on_big_message(
    ticket_id: str, ts: str, response_url: str, char: str, ensure_ascii: bool
) -> bytes:
    """A click on a message of 50 sections of 3,000 `char`s, encoded as Slack sends it."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "block_id": f"b{i}",
            "text": {"type": "mrkdwn", "text": char * SLACK_BLOCK_CHARS, "verbatim": False},
        }
        for i in range(SLACK_MESSAGE_BLOCKS - 1)
    ]
    blocks.append({"type": "actions", "block_id": f"triage:{ticket_id}", "elements": []})
    payload = {
        "type": "block_actions",
        "user": {"id": AGENT, "username": "agent", "team_id": "T0TEST"},
        "api_app_id": "A0TEST",
        "team": {"id": "T0TEST", "domain": "test"},
        "container": {"type": "message", "message_ts": ts, "channel_id": TRIAGE_CHANNEL},
        "channel": {"id": TRIAGE_CHANNEL, "name": "triage"},
        "message": {"ts": ts, "type": "message", "text": char * 1000, "blocks": blocks},
        "response_url": response_url,
        "trigger_id": "1.2.3",
        "actions": [
            {
                "action_id": "triage_approve",
                "block_id": f"triage:{ticket_id}",
                "type": "button",
                "value": ticket_id,
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload, ensure_ascii=ensure_ascii)}).encode()


@pytest.mark.policies(mode="suggest")
@pytest.mark.parametrize(
    ("char", "ensure_ascii"),
    [
        ("😀", True),  # \ud83d\ude00, percent-encoded: 16 bytes a character (the worst case)
        ("漢", False),  # raw UTF-8, percent-encoded: 9 bytes a character
        ("é", True),  # \u00e9, percent-encoded: 8 bytes a character
    ],
    ids=["astral-escaped", "cjk-utf8", "accent-escaped"],
)
async def test_a_click_on_a_maximum_size_message_passes(
    start_bot: StartBot, char: str, ensure_ascii: bool
):
    bot = await start_bot()
    await bot.post_tickets({"id": "BIG-1", "subject": "Invoice", "body": "Wrong amount"})
    ts = await bot.proposal_ts("BIG-1")
    assert bot.runtime.store.get_ticket("BIG-1").status == TicketStatus.REVIEW
    body = click_on_big_message("BIG-1", ts, bot.slack.response_url, char, ensure_ascii)
    assert len(body) <= bot.runtime.settings.slack_max_body_bytes
    if char == "😀":
        assert len(body) > 2 * 1024 * 1024  # larger than any cap shared with the intake route
    await bot.wait_shown(TRIAGE_CHANNEL, ts, "triage:BIG-1", "BIG-1")
    response = await post_raw(bot, body, sign_bytes(body))
    assert response.status == 200
    await bot.slack.wait_for(lambda s: bot.runtime.store.get_ticket("BIG-1").status == "routed")


async def test_a_body_over_the_slack_cap_is_refused_unread(bot: BotUnderTest):
    cap = bot.runtime.settings.slack_max_body_bytes
    body = b"payload=" + b"x" * cap
    response = await post_raw(bot, body, sign_bytes(body))
    assert response.status == 413


def _deep_json(depth: int = 100_000) -> bytes:
    return b'{"type":"block_actions","x":' + b"[" * depth + b"]" * depth + b"}"


MALFORMED: dict[str, tuple[bytes, dict[str, str]]] = {
    "invalid-utf8": (b"payload=\xff\xfe\xfd", {}),
    "deep-json": (_deep_json(), {"Content-Type": "application/json"}),
    "payload-notjson": (b"payload=notjson", {}),
    "payload-not-an-object": (b"payload=%5B1%2C2%5D", {}),
    "huge-form": (b"&".join(b"f%d=v" % i for i in range(50_000)), {}),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
async def test_malformed_requests_get_401_or_400_and_no_traceback(
    bot: BotUnderTest,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    signed: bool,
):
    caplog.set_level(logging.DEBUG)
    built: list[object] = []
    real = gate_module.AsyncBoltRequest

    class CountingBoltRequest(real):  # counts how often Bolt gets to parse a body
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built.append(kwargs.get("body"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(gate_module, "AsyncBoltRequest", CountingBoltRequest)
    body, extra = MALFORMED[case]
    if signed:
        headers = {**sign_bytes(body), **extra}
    else:
        headers = {
            "X-Slack-Request-Timestamp": str(int(time.time())),
            "X-Slack-Signature": "v0=" + "0" * 64,
            "Content-Type": "application/x-www-form-urlencoded",
            **extra,
        }
    response = await post_raw(bot, body, headers)
    if not signed:
        assert response.status == 401
        assert built == []  # nothing was parsed before the signature was checked
    elif case == "huge-form":
        assert response.status == 404  # signed, well-formed, handled by no listener
    else:
        assert response.status == 400
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert bot.runtime.store.paused_names() == set()


@pytest.mark.parametrize("timestamp", ["abc", "", "1e9", "-1", "１２３", "99999999999999999999"])
async def test_bad_timestamps_get_401_and_no_traceback(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture, timestamp: str
):
    caplog.set_level(logging.DEBUG)
    body = slash_command("/triage-pause", "all", OWNER, bot.slack.response_url)
    headers = signed_headers(SIGNING_SECRET, body)
    headers["X-Slack-Request-Timestamp"] = timestamp
    # aiohttp refuses non-Latin-1 header values client-side; send UTF-8 bytes as Slack would not.
    headers = {k: v.encode().decode("latin-1") for k, v in headers.items()}
    response = await post_raw(bot, body.encode(), headers)
    assert response.status == 401
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]
    assert bot.runtime.store.paused_names() == set()


async def test_a_replayed_signed_command_runs_once(bot: BotUnderTest):
    body = slash_command("/triage-pause", "all maintenance", OWNER, bot.slack.response_url)
    headers = signed_headers(SIGNING_SECRET, body)
    first = await bot.slack_post(body, headers)
    replays = [await bot.slack_post(body, headers) for _ in range(2)]
    assert first.status == 200 and "X-Slack-No-Retry" not in first.headers
    for replay in replays:
        assert replay.status == 200 and replay.headers.get("X-Slack-No-Retry") == "1"
    await bot.slack.wait_for(lambda s: s.responses)
    assert len(bot.slack.responses) == 1
    pauses = [e for e in bot.runtime.store.audit_events() if e.action == "pause"]
    assert len(pauses) == 1, [e.action for e in bot.runtime.store.audit_events()]
    # A fresh request (new timestamp, so a new signature) is a new command, not a replay.
    later = signed_headers(SIGNING_SECRET, body, timestamp=int(time.time()) + 1)
    assert "X-Slack-No-Retry" not in (await bot.slack_post(body, later)).headers


async def test_a_replay_to_another_process_on_the_same_store_is_refused(start_bot: StartBot):
    first_bot = await start_bot()
    second_bot = await start_bot()
    body = slash_command("/triage-resume", "all", OWNER, first_bot.slack.response_url)
    headers = signed_headers(SIGNING_SECRET, body)
    assert "X-Slack-No-Retry" not in (await first_bot.slack_post(body, headers)).headers
    replay = await second_bot.slack_post(body, headers)
    assert replay.status == 200 and replay.headers.get("X-Slack-No-Retry") == "1"


def test_seen_signatures_are_pruned_after_the_window(database_url: str):
    from bot.db import make_engine
    from bot.store import Store

    engine = make_engine(database_url)
    try:
        store = Store(engine)
        now = int(time.time())
        assert store.first_slack_request("v0=" + "a" * 64, now - 1000)
        assert store.first_slack_request("v0=" + "b" * 64, now)
        assert not store.first_slack_request("v0=" + "a" * 64, now - 1000)
        assert store.prune_slack_requests(now - 2 * gate_module.MAX_AGE_SECONDS) == 1
        assert not store.first_slack_request("v0=" + "b" * 64, now)  # inside: still known
    finally:
        engine.dispose()
