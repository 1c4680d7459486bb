"""Signed outbound webhooks: every decision is told back to the helpdesk, exactly once.

A policy with `webhook_url` gets one POST per decision (auto-routed, approved,
reassigned or corrected). The call is an outbox row written in the same transaction as
the decision, so it is never lost and never made for a decision that did not happen; the
dispatcher retries it until the receiver answers 2xx (or a permanent 4xx). A crash
between the receiver's 2xx and the mark can repeat one delivery: receivers de-duplicate
on `X-Triage-Delivery`, which is the same on every retry.

Signature: `X-Triage-Signature: sha256=<hex HMAC-SHA256(OUTBOUND_WEBHOOK_SECRET,
"{X-Triage-Timestamp}.{raw body}")>`; the secret never enters the store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp

METHOD = "webhook.post"
PURPOSE = "webhook"
SIGNATURE_HEADER = "X-Triage-Signature"
TIMESTAMP_HEADER = "X-Triage-Timestamp"
DELIVERY_HEADER = "X-Triage-Delivery"
EVENT = "ticket.decided"


def lane(url: str) -> str:
    """The outbox lane of a receiver: one per host, so a dead receiver holds up only itself."""
    return f"webhook:{urlsplit(url).netloc or url}"


def decision_body(
    *,
    ticket_id: str,
    ticket_url: str | None,
    tag: str,
    policy: str | None,
    action: str,
    decided_by: str,
    decided_at: datetime,
    proposed_tag: str | None,
) -> dict[str, Any]:
    """What the receiver needs to set the ticket's group or tag; no ticket text, no PII."""
    return {
        "event": EVENT,
        "ticket": {"id": ticket_id, "url": ticket_url},
        "tag": tag,
        "policy": policy,
        "action": action,
        "proposed_tag": proposed_tag,
        "decided_by": decided_by,
        "decided_at": decided_at.isoformat(),
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


@dataclass(frozen=True)
class Delivery:
    """How one POST went: `status` is the HTTP status, or None when no answer came."""

    status: int | None
    error: str | None = None
    retry_after: float | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def permanent(self) -> bool:
        """A 4xx other than 408/429: the receiver refuses this call; retrying cannot help."""
        return (
            self.status is not None and 400 <= self.status < 500 and self.status not in (408, 429)
        )


class WebhookSender:
    """POSTs outbox webhook rows; one aiohttp session, made on first use."""

    def __init__(self, secret: str | None, timeout_seconds: float = 10.0) -> None:
        self.secret = secret or ""
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def post(self, payload: dict[str, Any], delivery_id: str) -> Delivery:
        body = json.dumps(payload["body"], separators=(",", ":"), sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "triage-bot",
            TIMESTAMP_HEADER: timestamp,
            DELIVERY_HEADER: delivery_id,
        }
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, timestamp, body)
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.post(payload["url"], data=body, headers=headers) as answer:
                retry_after = _seconds(answer.headers.get("Retry-After"))
                return Delivery(answer.status, f"HTTP {answer.status}", retry_after)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return Delivery(None, type(exc).__name__)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, min(float(value), 3600.0)) if value else None
    except ValueError:
        return None
