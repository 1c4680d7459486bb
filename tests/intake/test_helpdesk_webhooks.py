"""Native helpdesk webhooks, end to end: a signed vendor payload becomes a Slack proposal.

Each payload under helpdesk_payloads/ follows the shape in that vendor's public webhook
documentation; signatures are computed here the way each vendor documents them, not with
the bot's own code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import BotUnderTest

PAYLOADS = Path(__file__).parent / "helpdesk_payloads"
SECRETS = {
    "zendesk": "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3RpbmdfcHVycG9zZXNfb25seQ==",
    "freshdesk": "fd-shared-token",
    "intercom": "intercom-client-secret",
    "jsm": "jira-admin-webhook-secret",
    "chatwoot": "chatwoot-webhook-secret",
}
TIMESTAMP = "1793606400"


def payload(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def zendesk_headers(body: bytes, secret: str = SECRETS["zendesk"]) -> dict[str, str]:
    digest = hmac.new(secret.encode(), TIMESTAMP.encode() + body, hashlib.sha256).digest()
    return {
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": TIMESTAMP,
    }


def freshdesk_headers(_body: bytes, secret: str = SECRETS["freshdesk"]) -> dict[str, str]:
    credentials = base64.b64encode(f"triage:{secret}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def intercom_headers(body: bytes, secret: str = SECRETS["intercom"]) -> dict[str, str]:
    return {"X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


def jsm_headers(body: bytes, secret: str = SECRETS["jsm"]) -> dict[str, str]:
    return {
        "X-Hub-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    }


def chatwoot_headers(body: bytes, secret: str = SECRETS["chatwoot"]) -> dict[str, str]:
    message = TIMESTAMP.encode() + b"." + body
    return {
        "X-Chatwoot-Timestamp": TIMESTAMP,
        "X-Chatwoot-Signature": "sha256="
        + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest(),
    }


SIGNERS = {
    "zendesk": zendesk_headers,
    "freshdesk": freshdesk_headers,
    "intercom": intercom_headers,
    "jsm": jsm_headers,
    "chatwoot": chatwoot_headers,
}

# (helpdesk, payload file, ticket id, words of the text that must reach Slack, requester)
CASES = [
    ("zendesk", "zendesk_trigger", "35436", "charged twice", "Ana Lima"),
    ("zendesk", "zendesk_event", "35437", "password reset", None),
    ("freshdesk", "freshdesk", "1021", "download all my invoices", "Ben Ito"),
    ("intercom", "intercom", "148", "app crashes", "Chen Wu"),
    ("jsm", "jsm", "SUP-42", "dark theme", "Dana Park"),
    ("chatwoot", "chatwoot", "1187", "cancel my subscription", "Eve Moreau"),
]


@pytest.fixture
async def helpdesk_bot(bot_starter) -> AsyncIterator[BotUnderTest]:
    async with bot_starter(
        **{f"{name}_webhook_secret": secret for name, secret in SECRETS.items()}
    ) as running_bot:
        yield running_bot


async def deliver(
    bot: BotUnderTest, helpdesk: str, body: bytes, headers: dict[str, str]
) -> aiohttp.ClientResponse:
    return await bot.http.post(
        f"{bot.base_url}/tickets/{helpdesk}",
        data=body,
        headers={"Content-Type": "application/json", **headers},
    )


@pytest.mark.policies(mode="suggest")
@pytest.mark.parametrize(("helpdesk", "name", "ticket_id", "words", "who"), CASES)
async def test_signed_native_payload_becomes_a_proposal(
    helpdesk_bot: BotUnderTest, helpdesk: str, name: str, ticket_id: str, words: str, who
):
    body = payload(name)
    response = await deliver(helpdesk_bot, helpdesk, body, SIGNERS[helpdesk](body))
    assert response.status == 202, await response.text()
    assert (await response.json())["stored"] == [ticket_id]

    await helpdesk_bot.slack.wait_for(lambda s: helpdesk_bot.proposal_for(ticket_id) is not None)
    stored = helpdesk_bot.runtime.store.get_ticket(ticket_id)
    assert words in f"{stored.subject}\n{stored.body}".lower()
    assert "<" not in stored.body  # HTML bodies arrive as their text
    if who is not None:
        assert who in stored.requester

    # The helpdesk retries a delivery it thinks failed: the ticket is stored and posted once.
    again = await deliver(helpdesk_bot, helpdesk, body, SIGNERS[helpdesk](body))
    assert again.status == 200
    assert (await again.json())["duplicates"] == [ticket_id]


@pytest.mark.parametrize("helpdesk", sorted(SIGNERS))
async def test_wrong_secret_or_tampered_body_is_refused_and_nothing_is_stored(
    helpdesk_bot: BotUnderTest, helpdesk: str
):
    name = next(case[1] for case in CASES if case[0] == helpdesk)
    ticket_id = next(case[2] for case in CASES if case[1] == name)
    body = payload(name)
    wrong = await deliver(helpdesk_bot, helpdesk, body, SIGNERS[helpdesk](body, "not-the-secret"))
    assert wrong.status == 401
    tampered = body.replace(b"}", b" }", 1)
    forged = await deliver(helpdesk_bot, helpdesk, tampered, SIGNERS[helpdesk](body))
    if helpdesk != "freshdesk":  # a shared token does not cover the body; a signature does
        assert forged.status == 401
    unsigned = await deliver(helpdesk_bot, helpdesk, body, {})
    assert unsigned.status == 401
    if helpdesk != "freshdesk":
        assert helpdesk_bot.runtime.store.get_ticket(ticket_id) is None


@pytest.mark.parametrize(
    ("helpdesk", "name"), [("intercom", "intercom_ping"), ("chatwoot", "chatwoot_outgoing")]
)
async def test_events_that_are_not_new_tickets_are_acknowledged_and_ignored(
    helpdesk_bot: BotUnderTest, helpdesk: str, name: str
):
    body = payload(name)
    response = await deliver(helpdesk_bot, helpdesk, body, SIGNERS[helpdesk](body))
    assert response.status == 200
    assert await response.json() == {"stored": [], "duplicates": [], "ignored": True}
    assert helpdesk_bot.runtime.store.get_ticket("1187") is None


async def test_unknown_helpdesk_and_unconfigured_secret(bot: BotUnderTest):
    body = payload("zendesk_trigger")
    unknown = await deliver(bot, "helpscout", body, {})
    assert unknown.status == 404
    assert "zendesk" in (await unknown.json())["error"]
    # The default test bot configures no helpdesk secrets: the endpoint is off, and says why.
    off = await deliver(bot, "zendesk", body, zendesk_headers(body))
    assert off.status == 503
    assert "ZENDESK_WEBHOOK_SECRET" in (await off.json())["error"]


async def test_malformed_payloads_get_a_clear_4xx(helpdesk_bot: BotUnderTest):
    not_json = b"{not json"
    response = await deliver(helpdesk_bot, "jsm", not_json, jsm_headers(not_json))
    assert response.status == 400
    no_issue = json.dumps({"webhookEvent": "jira:issue_created"}).encode()
    response = await deliver(helpdesk_bot, "jsm", no_issue, jsm_headers(no_issue))
    assert response.status == 422
    assert "issue" in (await response.json())["error"]
    deep = b"[" * 100_000 + b"]" * 100_000
    response = await deliver(helpdesk_bot, "jsm", deep, jsm_headers(deep))
    assert response.status in (400, 422)
    no_id = json.dumps({"ticket": {"subject": "hello"}}).encode()
    response = await deliver(helpdesk_bot, "zendesk", no_id, zendesk_headers(no_id))
    assert response.status == 422
    assert "ticket id" in (await response.json())["error"]
