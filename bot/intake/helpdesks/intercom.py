"""Intercom: Developer Hub webhook topics, signed with the app's client secret.

Signature: `X-Hub-Signature: sha1=<hex HMAC-SHA1(client_secret, body)>`. A new
conversation (`conversation.user.created`) becomes a ticket; the `ping` sent when the
webhook is registered, and every other topic, are acknowledged and ignored.
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
)

SIGNATURE = "X-Hub-Signature"
TICKET_TOPICS = frozenset({"conversation.user.created", "ticket.created"})


class Intercom:
    name: ClassVar[str] = "intercom"
    title: ClassVar[str] = "Intercom"
    setting: ClassVar[str] = "INTERCOM_WEBHOOK_SECRET"

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        signature = headers.get(SIGNATURE, "")
        return signature.startswith("sha1=") and equal(
            signature, "sha1=" + hmac_hex(secret, body, "sha1")
        )

    def tickets(self, payload: Any) -> list[dict[str, Any]]:
        data = require_object(payload, self.title)
        if data.get("topic") not in TICKET_TOPICS:
            return []
        item = field(data, "data", "item")
        if not isinstance(item, Mapping) or item.get("id") in (None, ""):
            return []
        source = item.get("source") if isinstance(item.get("source"), Mapping) else {}
        author = source.get("author") if isinstance(source.get("author"), Mapping) else {}
        return [
            {
                "id": item.get("id"),
                "subject": readable(first(source.get("subject"), item.get("title"))),
                "body": readable(
                    first(
                        source.get("body"),
                        field(item, "ticket_attributes", "_default_description_"),
                    )
                ),
                "created_at": item.get("created_at"),
                "requester": requester(author.get("name"), author.get("email")),
                "url": first(field(item, "links", "conversation_web"), source.get("url")),
            }
        ]
