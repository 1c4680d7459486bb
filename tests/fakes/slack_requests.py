"""Build Slack-signed requests (slash commands, block_actions) as Slack would send them."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

_TRIGGERS = itertools.count(1)


def _trigger_id() -> str:
    """Unique per request, as Slack's are: two identical commands in the same second are
    two requests, not a replay of one (the bot refuses replayed signatures)."""
    return f"{time.time_ns()}.{next(_TRIGGERS)}"


def signed_headers(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def slash_command(
    command: str, text: str, user_id: str, response_url: str, channel_id: str = "C0TRIAGE"
) -> str:
    return urlencode(
        {
            "command": command,
            "text": text,
            "user_id": user_id,
            "user_name": user_id.lower(),
            "channel_id": channel_id,
            "team_id": "T0TEST",
            "api_app_id": "A0TEST",
            "response_url": response_url,
            "trigger_id": _trigger_id(),
            "token": "legacy",
        }
    )


def block_action(
    *,
    action_id: str,
    block_id: str,
    user_id: str,
    channel: str,
    message_ts: str,
    response_url: str,
    value: str | None = None,
    selected: str | None = None,
) -> str:
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": "button" if selected is None else "static_select",
        "action_ts": str(time.time()),
    }
    if value is not None:
        action["value"] = value
    if selected is not None:
        action["selected_option"] = {
            "text": {"type": "plain_text", "text": selected},
            "value": selected,
        }
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0TEST"},
        "api_app_id": "A0TEST",
        "team": {"id": "T0TEST", "domain": "test"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "channel": {"id": channel, "name": "triage"},
        "message": {"ts": message_ts, "type": "message", "blocks": []},
        "response_url": response_url,
        "trigger_id": _trigger_id(),
        "actions": [action],
    }
    return urlencode({"payload": json.dumps(payload)})
