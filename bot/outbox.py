"""Delivers queued Slack Web API calls: retries, Retry-After, and never loses a proposal.

Guarantee: a call is in the store before it is sent and is marked sent only after
Slack accepted it. A crash between Slack's answer and that mark can repeat that
one call; nothing else is duplicated and nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.models import OutboxMessage
from bot.store import Store

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 300
# Errors that retrying cannot fix for this call.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "message_not_found",
        "cant_update_message",
        "msg_too_long",
        "no_text",
        "invalid_arguments",
        "edit_window_closed",
    }
)
# Posts a human must see are retried even on "permanent" errors: the operator can fix
# the channel or the token, and the ticket is delivered then.
MUST_DELIVER = frozenset({"proposal", "handoff"})


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, 2 ** min(attempts, 9)))


class OutboxDispatcher:
    """Sends due outbox rows in priority order."""

    def __init__(self, store: Store, client: AsyncWebClient, batch: int = 50) -> None:
        self.store = store
        self.client = client
        self.batch = batch
        self.last_error: str | None = None

    async def drain(self) -> int:
        """Send everything due now; returns how many calls Slack accepted."""
        sent = 0
        while True:
            rows = await asyncio.to_thread(self.store.claim_outbox, self.batch, LEASE)
            if not rows:
                return sent
            for index, row in enumerate(rows):
                outcome = await self._send(row)
                if outcome == "sent":
                    sent += 1
                elif outcome == "rate_limited":
                    # Leave the rest of the batch to their lease; pick them up after the wait.
                    for later in rows[index + 1 :]:
                        await asyncio.to_thread(
                            self.store.outbox_retry, later.id, "deferred", timedelta(0)
                        )
                    return sent

    async def _send(self, row: OutboxMessage) -> str:
        assert row.id is not None
        try:
            response = await self.client.api_call(row.method, json=row.payload)
        except SlackApiError as exc:
            return await self._slack_error(row, exc)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self.last_error = f"{type(exc).__name__}"
            log.warning("slack %s unreachable (%s); will retry", row.method, type(exc).__name__)
            await asyncio.to_thread(
                self.store.outbox_retry, row.id, type(exc).__name__, _backoff(row.attempts)
            )
            return "retry"
        data = response.data if isinstance(response.data, dict) else {}
        channel = data.get("channel") or row.payload.get("channel")
        await asyncio.to_thread(self.store.outbox_sent, row.id, channel, data.get("ts"))
        self.last_error = None
        return "sent"

    async def _slack_error(self, row: OutboxMessage, exc: SlackApiError) -> str:
        assert row.id is not None
        status = getattr(exc.response, "status_code", 0)
        error = str(exc.response.get("error", "unknown")) if exc.response else "unknown"
        if status == 429 or error == "ratelimited":
            retry_after = int(exc.response.headers.get("Retry-After", "1") or 1)
            log.info("slack rate limit on %s; waiting %ss", row.method, retry_after)
            await asyncio.to_thread(
                self.store.outbox_retry, row.id, "ratelimited", timedelta(seconds=retry_after)
            )
            return "rate_limited"
        self.last_error = error
        if error in PERMANENT_ERRORS and row.purpose not in MUST_DELIVER:
            log.error("slack %s failed permanently: %s (outbox id %s)", row.method, error, row.id)
            await asyncio.to_thread(self.store.outbox_failed, row.id, error)
            return "failed"
        log.warning("slack %s failed: %s (status %s); will retry", row.method, error, status)
        await asyncio.to_thread(self.store.outbox_retry, row.id, error, _backoff(row.attempts))
        return "retry"
