"""`POST /slack/events`: nothing from the body is parsed before its Slack signature holds.

Order, for every request:
1. the signature is checked on the raw bytes (`v0:{timestamp}:{body}`, HMAC-SHA256 with
   SLACK_SIGNING_SECRET); a missing, non-numeric or stale timestamp, or a wrong signature,
   is answered 401 (logged on one line, without the body);
2. a signature already seen is a replay: answered 200 with `X-Slack-No-Retry`, nothing
   runs (the store remembers signatures across processes for Slack's 5-minute window);
3. only then is the body decoded (strict UTF-8) and handed to Bolt, which parses it; a
   body that cannot be decoded or parsed is answered 400, without a traceback.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.group_commit import GroupCommit
from bot.http_guard import raw_body

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
MAX_AGE_SECONDS = 300  # Slack's window; older (or further ahead) requests are refused
PRUNE_EVERY_SECONDS = 60.0
# Clicks queued for their decision before a new Slack request waits (see handle).
LANE_ROOM = 8
ADMIT_WAIT_SECONDS = 1.0
# Hash bodies larger than this off the event loop (hashlib releases the GIL).
THREAD_HASH_BYTES = 256 * 1024


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""
    timestamp: int = 0
    signature: str = ""


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":", hashlib.sha256)
    mac.update(body)
    return "v0=" + mac.hexdigest()


def check_headers(headers: Mapping[str, str], now: float) -> Verdict:
    """The cheap part: a present, numeric, fresh timestamp and a well-formed signature."""
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not (timestamp.isascii() and timestamp.isdigit() and 0 < len(timestamp) <= 12):
        return Verdict(False, "missing or non-numeric timestamp")
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return Verdict(False, "timestamp outside the 5-minute window")
    if not (signature.isascii() and signature.startswith("v0=") and len(signature) == 67):
        return Verdict(False, "missing or malformed signature")
    return Verdict(True, timestamp=int(timestamp), signature=signature)


async def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> Verdict:
    """Check a Slack request's signature on its raw bytes; nothing is parsed."""
    verdict = check_headers(headers, now)
    if not verdict.ok:
        return verdict
    timestamp = headers[TIMESTAMP_HEADER]
    if len(body) > THREAD_HASH_BYTES:
        expected = await asyncio.to_thread(expected_signature, secret, timestamp, body)
    else:
        expected = expected_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), verdict.signature.encode()):
        return Verdict(False, "wrong signature")
    return verdict


@dataclass
class SlackGate:
    """The `/slack/events` handler: verify, refuse replays, then parse and dispatch."""

    runtime: Runtime
    clock: Callable[[], float] = time.time
    rejected: int = 0
    replays: int = 0
    malformed: int = 0
    _pruned_at: float = field(default=0.0)
    # A burst of clicks records its signatures in a few shared transactions, not one each.
    _seen: GroupCommit[tuple[str, int], bool] = field(init=False)

    def __post_init__(self) -> None:
        self._seen = GroupCommit(self.runtime.store.first_slack_requests)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        runtime = self.runtime
        # First come, first served through to chat.update: while LANE_ROOM clicks wait for
        # their decision, a new request waits (at most ADMIT_WAIT_SECONDS, well inside
        # Slack's 3 s for an ack) instead of taking the process from them. Without this a
        # burst of 200 clicks is acknowledged in full before most are decided.
        await runtime.click_lane.room(LANE_ROOM, ADMIT_WAIT_SECONDS)
        body = raw_body(request)
        now = self.clock()
        verdict = await verify(
            runtime.settings.slack_signing_secret or "", request.headers, body, now
        )
        if not verdict.ok:
            self.rejected += 1
            log.info("refused a Slack request: %s", verdict.reason)
            return web.Response(status=401, text="invalid request signature")
        if not await self._seen.submit((verdict.signature, verdict.timestamp)):
            self.replays += 1
            log.warning("ignored a repeated Slack request (same signature and timestamp)")
            return web.Response(status=200, text="", headers={"X-Slack-No-Retry": "1"})
        await self._prune(now)
        bolt_request = self._parse(request, body)
        if bolt_request is None:
            self.malformed += 1
            return web.Response(status=400, text="the request body cannot be read")
        try:
            bolt_response = await runtime.bolt.async_dispatch(bolt_request)
        except Exception as exc:  # a listener bug: say so without the payload or a traceback
            log.error("a Slack request failed in dispatch: %s", type(exc).__name__)
            return web.Response(status=500, text="")
        return await to_aiohttp_response(bolt_response)

    @staticmethod
    def _parse(request: web.Request, body: bytes) -> AsyncBoltRequest | None:
        try:
            text = body.decode("utf-8")
            bolt_request = AsyncBoltRequest(
                body=text,
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
        except Exception as exc:  # bad UTF-8, `payload=notjson`, deep JSON, odd shapes
            log.info("refused a signed Slack request that cannot be parsed: %s", type(exc).__name__)
            return None
        if not isinstance(bolt_request.body, dict):
            log.info("refused a signed Slack request whose payload is not an object")
            return None
        return bolt_request

    async def _prune(self, now: float) -> None:
        """Forget seen signatures older than the window, at most once a minute per process."""
        if now - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = now
        try:
            await asyncio.to_thread(
                self.runtime.store.prune_slack_requests, int(now) - 2 * MAX_AGE_SECONDS
            )
        except Exception as exc:  # pruning is housekeeping; the request still goes on
            log.warning("could not prune seen Slack requests: %s", type(exc).__name__)
