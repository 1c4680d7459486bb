"""`POST /tickets`: the signed intake webhook.

A request is all-or-nothing: either every ticket in it is usable and stored before
202 is answered, or nothing is stored and the 4xx says which item is wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bot import jsonio
from bot.intake.batcher import Refused, lookalike_message
from bot.tickets import TicketIn, TicketRejected

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Triage-Signature"
MAX_TICKETS_PER_REQUEST = 5_000


def sign(secret: str, body: bytes) -> str:
    """The header value a sender must put in X-Triage-Signature."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _error(status: int, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status, dumps=jsonio.dumps)


async def store_items(
    runtime: Runtime, items: list[object], source: str = "intake"
) -> web.Response:
    """Validate every item, then store all of them durably before answering 202 (or none)."""
    if not items:
        return _error(400, "the body holds no tickets")
    if len(items) > MAX_TICKETS_PER_REQUEST:
        return _error(413, f"at most {MAX_TICKETS_PER_REQUEST} tickets per request")
    tickets: list[TicketIn] = []
    problems: list[dict[str, object]] = []
    for index, item in enumerate(items):
        try:
            tickets.append(TicketIn.from_raw(item))
        except TicketRejected as exc:
            problems.append({"index": index, "error": str(exc)})
    if not problems:
        try:  # look-alike ids are refused in the batch's own thread hop (bot.intake.batcher)
            result = await runtime.intake_batcher.submit(tickets)
        except Refused as refused:
            problems = refused.problems
    if problems:
        return _error(422, "some tickets cannot be used; nothing was stored", problems=problems)
    runtime.worker.intake_arrived()
    log.info("%s: %d new, %d already known", source, len(result.new_ids), len(result.duplicate_ids))
    answer: dict[str, object] = {"stored": result.new_ids, "duplicates": result.duplicate_ids}
    if result.lookalikes:  # a look-alike that arrived at the same moment as its twin
        answer["refused"] = [
            {"id": tid, "error": lookalike_message(other)}
            for tid, other in result.lookalikes.items()
        ]
    return web.json_response(answer, status=202 if result.new_ids else 200, dumps=jsonio.dumps)


def make_handler(runtime: Runtime):
    async def receive_tickets(request: web.Request) -> web.Response:
        secret = runtime.settings.intake_secret
        if not secret:
            return _error(503, "INTAKE_SECRET is not set on the bot; intake is disabled")
        body = await request.read()  # read by bot.http_guard: 413 past MAX_BODY_BYTES, 408 if slow
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature or not hmac.compare_digest(
            signature.encode(), sign(secret, body).encode()
        ):
            return _error(401, f"missing or invalid {SIGNATURE_HEADER}")
        try:
            data = jsonio.loads(body)
        except ValueError:  # UnicodeDecodeError included
            return _error(400, "the body is not valid UTF-8 JSON")
        return await store_items(runtime, data if isinstance(data, list) else [data])

    return receive_tickets
