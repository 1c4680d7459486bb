"""Web-server guards for floods and outages, and keeping request bodies out of logs.

- (Request slots, body caps and read timeouts live in bot.http_guard.)
- `store_unavailable_is_503`: when the database cannot be reached, senders get an honest
  503 with Retry-After instead of a 500 and a traceback; nothing was stored.
- `keep_bodies_out_of_bolt_logs`: Bolt logs the whole body of a request with a bad
  signature at INFO; a click payload carries the ticket excerpt, so that line is cut.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import DBAPIError, IntegrityError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STORE_RETRY_AFTER_SECONDS = 5


@web.middleware
async def store_unavailable_is_503(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The store is down or unreachable: say so (503, Retry-After), store nothing."""
    try:
        return await handler(request)
    except IntegrityError:
        raise
    except DBAPIError as exc:
        log.warning(
            "store unavailable for %s %s: %s", request.method, request.path, type(exc.orig).__name__
        )
        return web.json_response(
            {"error": "the ticket store is unavailable; nothing was stored, retry later"},
            status=503,
            headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
        )


class _NoBodies(logging.Filter):
    """Rewrites Bolt's "Invalid request signature detected (… body: …)" without the body."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "body:" in message or "body=" in message:
            record.msg = message.split("(", 1)[0].strip() + " (request body withheld)"
            record.args = ()
        return True


_FILTER = _NoBodies()
BOLT_LOGGERS = ("slack_bolt.RequestVerification", "slack_bolt.AsyncRequestVerification")


def keep_bodies_out_of_bolt_logs() -> None:
    for name in BOLT_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
