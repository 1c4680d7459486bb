"""`POST /tickets/<helpdesk>`: a helpdesk's own webhook, verified, translated, stored.

The order is the same as for `POST /tickets`: the signature (or shared token) is checked
on the raw bytes before the body is parsed, and a request is all-or-nothing.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bot.intake.helpdesks import ADAPTERS, PayloadError
from bot.intake.webhook import store_items

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)
ROUTE = "/tickets/{helpdesk}"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def make_handler(runtime: Runtime):
    async def receive(request: web.Request) -> web.Response:
        name = request.match_info["helpdesk"].lower()
        adapter = ADAPTERS.get(name)
        if adapter is None:
            known = ", ".join(sorted(ADAPTERS))
            return _error(404, f"no helpdesk called {name!r}; known: {known}")
        secret = getattr(runtime.settings, adapter.setting.lower(), None)
        if not secret:
            return _error(
                503, f"{adapter.setting} is not set on the bot; {adapter.title} intake is disabled"
            )
        body = await request.read()  # read by bot.http_guard: 413 past MAX_BODY_BYTES, 408 if slow
        if not adapter.verify(request.headers, body, secret):
            log.info("%s webhook refused: bad or missing signature", name)
            return _error(401, f"missing or invalid {adapter.title} signature")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _error(400, "the body is not valid UTF-8 JSON")
        try:
            items = adapter.tickets(payload)
        except PayloadError as exc:
            return _error(422, str(exc))
        if not items:
            return web.json_response({"stored": [], "duplicates": [], "ignored": True}, status=200)
        return await store_items(runtime, list(items), source=f"{name} webhook")

    return receive
