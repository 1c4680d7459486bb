"""Freshdesk: an automation rule's "Trigger webhook" action, which Freshdesk does not sign.

Authenticate with a fixed header (`X-Triage-Token: <secret>`) or Basic auth whose
password is the secret. The body is the JSON the rule builds from placeholders; both
the recommended template and the classic `freshdesk_webhook` shape are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bot.intake.helpdesks.base import (
    PayloadError,
    first,
    readable,
    requester,
    require_object,
    shared_token,
)


class Freshdesk:
    name: ClassVar[str] = "freshdesk"
    title: ClassVar[str] = "Freshdesk"
    setting: ClassVar[str] = "FRESHDESK_WEBHOOK_SECRET"

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        return shared_token(headers, secret)

    def tickets(self, payload: Any) -> list[dict[str, Any]]:
        data = require_object(payload, self.title)
        ticket = data.get("freshdesk_webhook", data.get("ticket", data))
        if not isinstance(ticket, Mapping):
            raise PayloadError("a Freshdesk webhook body holds the ticket as an object")

        def get(name: str) -> Any:
            return first(ticket.get(f"ticket_{name}"), ticket.get(name))

        ticket_id = get("id")
        if ticket_id is None:
            raise PayloadError(
                "a Freshdesk webhook body needs ticket_id: use the body template in "
                "docs/helpdesk-webhooks.md"
            )
        return [
            {
                "id": ticket_id,
                "subject": get("subject"),
                "body": readable(first(get("description_text"), get("description"))),
                "created_at": get("created_at"),
                "requester": requester(
                    first(get("contact_name"), get("requester_name")),
                    first(get("contact_email"), get("requester_email")),
                ),
                "url": first(get("url"), get("portal_url")),
            }
        ]
