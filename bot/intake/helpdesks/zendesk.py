"""Zendesk: trigger/automation webhooks with a JSON body, and event-subscription webhooks.

Signature: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, timestamp + body))
with `X-Zendesk-Webhook-Signature-Timestamp`, the webhook's signing secret as the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bot.intake.helpdesks.base import (
    PayloadError,
    equal,
    field,
    first,
    hmac_base64,
    readable,
    requester,
    require_object,
    shared_token,
)

SIGNATURE = "X-Zendesk-Webhook-Signature"
TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
CREATED_EVENT = "zen:event-type:ticket.created"


class Zendesk:
    name: ClassVar[str] = "zendesk"
    title: ClassVar[str] = "Zendesk"
    setting: ClassVar[str] = "ZENDESK_WEBHOOK_SECRET"

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        signature, timestamp = headers.get(SIGNATURE), headers.get(TIMESTAMP)
        if signature and timestamp:
            return equal(signature, hmac_base64(secret, timestamp.encode() + body))
        return shared_token(headers, secret)

    def tickets(self, payload: Any) -> list[dict[str, Any]]:
        data = require_object(payload, self.title)
        if "detail" in data and "type" in data:  # an event subscription
            if data.get("type") != CREATED_EVENT:
                return []
            detail = data["detail"]
            return [
                {
                    "id": field(detail, "id"),
                    "subject": field(detail, "subject"),
                    "body": readable(field(detail, "description")),
                    "created_at": field(detail, "created_at"),
                    "requester": field(detail, "requester_id") or "",
                }
            ]
        ticket = data.get("ticket", data)
        if not isinstance(ticket, Mapping) or first(ticket.get("id")) is None:
            raise PayloadError(
                "a Zendesk webhook body needs a ticket id: use the body template in "
                "docs/helpdesk-webhooks.md"
            )
        who = ticket.get("requester")
        return [
            {
                "id": ticket.get("id"),
                "subject": first(ticket.get("subject"), ticket.get("title")),
                "body": readable(first(ticket.get("description"), ticket.get("body"))),
                "created_at": ticket.get("created_at"),
                "requester": requester(field(who, "name"), field(who, "email"))
                if isinstance(who, Mapping)
                else (who or ""),
                "url": first(ticket.get("url"), ticket.get("link")),
            }
        ]
