"""Request bodies are capped (1 MB accepted at a 1 MB cap, one byte more is 413), and no
token, secret or ticket text reaches the logs at the default level, even on failures."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest

from bot.intake.webhook import sign
from tests.conftest import INTAKE_SECRET, SIGNING_SECRET, TRIAGE_CHANNEL
from tests.fakes.slack_requests import signed_headers
from tests.reliability.conftest import StartBot
from tests.reliability.helpers import eventually, post_signed

ONE_MB = 1024 * 1024


def ticket_of_size(size: int, ticket_id: str) -> bytes:
    """A signed-intake JSON body of exactly `size` bytes."""
    skeleton = json.dumps({"id": ticket_id, "subject": "Big", "body": ""}).encode()
    body = json.dumps({"id": ticket_id, "subject": "Big", "body": "x" * (size - len(skeleton))})
    raw = body.encode()
    assert len(raw) == size
    return raw


async def post_raw(bot, raw: bytes):
    headers = {"Content-Type": "application/json", "X-Triage-Signature": sign(INTAKE_SECRET, raw)}
    response = await bot.http.post(f"{bot.base_url}/tickets", data=raw, headers=headers)
    await response.read()
    return response


async def test_body_at_the_cap_is_accepted_and_one_byte_more_is_413(start_bot: StartBot):
    bot = await start_bot(max_body_bytes=ONE_MB)
    accepted = await post_raw(bot, ticket_of_size(ONE_MB, "CAP-1"))
    assert accepted.status == 202
    refused = await post_raw(bot, ticket_of_size(ONE_MB + 1, "CAP-2"))
    assert refused.status == 413
    assert bot.runtime.store.get_ticket("CAP-1") is not None
    assert bot.runtime.store.get_ticket("CAP-2") is None

    # Slack's route has its own cap (SLACK_MAX_BODY_BYTES, above the largest Slack request).
    slack_cap = bot.runtime.settings.slack_max_body_bytes
    slack_body = "payload=" + "x" * (slack_cap - len("payload=") + 1)
    response = await bot.slack_post(slack_body, signed_headers(SIGNING_SECRET, slack_body))
    assert response.status == 413


def test_the_cap_cannot_be_configured_below_one_megabyte():
    from pydantic import ValidationError

    from tests.conftest import make_settings

    with pytest.raises(ValidationError):
        make_settings(max_body_bytes=ONE_MB - 1)
    assert make_settings().max_body_bytes >= ONE_MB


@pytest.mark.policies(mode="suggest")
async def test_no_secret_token_or_ticket_text_in_logs_through_failures(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)  # the default level
    caplog.set_level(logging.DEBUG, logger="bot")  # our own code even at DEBUG
    caplog.set_level(logging.DEBUG, logger="handlers")
    bot = await start_bot()
    subject = "SUBJ-5ec2e7-marker"
    body = "BODY-5ec2e7-marker my password is hunter2 card 4111 1111 1111 1111"
    requester = "REQ-5ec2e7@example.com"

    bot.slack.outage()  # delivery fails first: warnings are logged
    response = await post_signed(
        bot.http,
        bot.base_url,
        {"id": "LOG-1", "subject": subject, "body": body, "requester": requester},
    )
    assert response.status == 202
    assert (
        await post_signed(bot.http, bot.base_url, {"id": "LOG-2"}, secret="wrong")
    ).status == 401
    await bot.slack.wait_for(lambda s: any(not c.ok for c in s.of("chat.postMessage")))
    await eventually(lambda: "slack chat.postMessage failed" in caplog.text)
    bot.slack.recover()
    await bot.slack.wait_for(lambda s: bot.proposal_for("LOG-1") is not None, timeout=15)
    await eventually(lambda: bot.runtime.store.get_ticket("LOG-1").message_ts is not None)

    # A forged click carrying the ticket text (as a replayed Slack payload would): Bolt logs
    # rejected requests at INFO; the body must not be in that line.
    payload = {
        "type": "block_actions",
        "user": {"id": "U0X"},
        "actions": [{"action_id": "triage_approve", "block_id": "triage:LOG-1"}],
        "message": {
            "text": body,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": subject}}],
        },
    }
    forged = urlencode({"payload": json.dumps(payload)})
    assert (await bot.slack_post(forged, signed_headers("not-the-secret", forged))).status == 401

    ts = bot.runtime.store.get_ticket("LOG-1").message_ts
    assert (await bot.click("triage_approve", "LOG-1", "U0AGENT01", ts)).status == 200
    await bot.slack.wait_for(lambda s: len(s.accepted("chat.update")) == 1, timeout=15)
    await bot.click("triage_approve", "LOG-1", "U0AGENT01", ts)  # a no-op click, answered
    await bot.slack.wait_for(lambda s: len(s.responses) == 1, timeout=15)

    logged = caplog.text
    assert "refused a Slack request: wrong signature" in logged  # the rejection was logged …
    assert "slack chat.postMessage failed" in logged  # … and so was the Slack outage
    for secret in (
        "xoxb-test-token",
        SIGNING_SECRET,
        INTAKE_SECRET,
        subject,
        "BODY-5ec2e7",
        "hunter2",
        "4111 1111",
        requester,
    ):
        assert secret not in logged, f"{secret!r} leaked into the logs"
    assert TRIAGE_CHANNEL  # channel ids and ticket ids may be logged; they are not secret
