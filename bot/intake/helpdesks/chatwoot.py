"""Chatwoot: account webhooks for `conversation_created` and `message_created`.

Signed releases send `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret,
"{timestamp}.{body}")>` with `X-Chatwoot-Timestamp`; older releases cannot sign, so a
reverse proxy adds `X-Triage-Token` (docs/helpdesk-webhooks.md). The conversation is the
ticket: its first incoming message is the body; later messages are the same ticket id,
so they are stored once and ignored after.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bot.intake.helpdesks.base import (
    equal,
    field,
    first,
    hmac_hex,
    readable,
    requester,
    require_object,
    shared_token,
)

SIGNATURE = "X-Chatwoot-Signature"
TIMESTAMP = "X-Chatwoot-Timestamp"


class Chatwoot:
    name: ClassVar[str] = "chatwoot"
    title: ClassVar[str] = "Chatwoot"
    setting: ClassVar[str] = "CHATWOOT_WEBHOOK_SECRET"

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        signature, timestamp = headers.get(SIGNATURE), headers.get(TIMESTAMP)
        if signature and timestamp:
            expected = "sha256=" + hmac_hex(secret, timestamp.encode() + b"." + body)
            return equal(signature, expected)
        return shared_token(headers, secret)

    def tickets(self, payload: Any) -> list[dict[str, Any]]:
        data = require_object(payload, self.title)
        event = data.get("event")
        if event == "conversation_created":
            messages = data.get("messages") if isinstance(data.get("messages"), list) else []
            text = next(
                (m.get("content") for m in messages if isinstance(m, Mapping) and m.get("content")),
                "",
            )
            sender = field(data, "meta", "sender") or {}
            return [self._ticket(data.get("id"), data, text, sender, data.get("created_at"))]
        if event == "message_created" and data.get("message_type") in ("incoming", 0):
            conversation = data.get("conversation") or {}
            sender = data.get("sender") or field(conversation, "meta", "sender") or {}
            return [
                self._ticket(
                    field(conversation, "id"),
                    data,
                    data.get("content"),
                    sender,
                    first(
                        conversation.get("created_at")
                        if isinstance(conversation, Mapping)
                        else None,
                        data.get("created_at"),
                    ),
                )
            ]
        return []

    @staticmethod
    def _ticket(
        conversation_id: Any, data: Mapping[str, Any], text: Any, sender: Any, created: Any
    ) -> dict[str, Any]:
        sender = sender if isinstance(sender, Mapping) else {}
        body = readable(text)
        subject = first(
            field(data, "additional_attributes", "mail_subject"), body.split("\n", 1)[0][:120]
        )
        return {
            "id": conversation_id,
            "subject": subject,
            "body": body,
            "created_at": created,
            "requester": requester(sender.get("name"), sender.get("email")),
        }
