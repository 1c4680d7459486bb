"""`GET /healthz`: the truth about the store, pauses, Slack delivery and other parts.

Parts add themselves to HEALTH_CHECKS: a function (runtime) -> (key, value, healthy).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.classifier.llm_health import llm_health
from bot.http_guard import http_health
from bot.models import OutboxStatus, utcnow
from bot.source.health import source_check

if TYPE_CHECKING:
    from bot.runtime import Runtime


def delivery_health(runtime: Runtime) -> tuple[str, Any, bool]:
    """/healthz `delivery`: is Slack accepting our calls, which channels are held, how stale."""
    dispatcher = runtime.dispatcher
    held = {c: round(w, 1) for c, w in dispatcher.pacer.held().items()}
    oldest = runtime.store.oldest_pending_outbox()
    age = round((utcnow() - oldest).total_seconds(), 1) if oldest is not None else 0.0
    if dispatcher.failing_since is not None:
        state = "retrying"
    elif held:
        state = "rate_limited"
    else:
        state = "ok"
    report = {
        "state": state,
        "last_error": dispatcher.last_error,
        "failing_for_seconds": (
            round(time.time() - dispatcher.failing_since, 1) if dispatcher.failing_since else 0
        ),
        "held_channels": held,
        "oldest_pending_seconds": age,
    }
    return "delivery", report, state != "retrying"


HealthCheck = Callable[["Runtime"], tuple[str, Any, bool]]
HEALTH_CHECKS: list[HealthCheck] = []
HEALTH_CHECKS.append(delivery_health)  # Slack delivery state
HEALTH_CHECKS.append(source_check)  # helpdesk database source
HEALTH_CHECKS.append(llm_health)  # CLASSIFIER=openai: budget and last failure
HEALTH_CHECKS.append(http_health)  # request slots: in use, waiting, saturated


def _report(runtime: Runtime) -> tuple[int, dict[str, Any]]:
    report: dict[str, Any] = {
        "database": "ok",
        "paused": [],
        "classifier": runtime.classifier.version,
    }
    try:
        runtime.store.ping()
        report["paused"] = sorted(runtime.store.paused_names())
        counts = runtime.store.outbox_counts((OutboxStatus.PENDING, OutboxStatus.FAILED))
        report["slack"] = {
            "pending": counts.get("pending", 0),
            "failed": counts.get("failed", 0),
            "last_error": runtime.dispatcher.last_error,
        }
    except Exception as exc:  # the report must say what is wrong, not crash
        report["database"] = f"error: {type(exc).__name__}"
        return 503, report
    for check in HEALTH_CHECKS:
        try:
            key, value, _healthy = check(runtime)
        except Exception as exc:
            key, value = check.__name__, f"error: {type(exc).__name__}"
        report[key] = value
    return 200, report


def make_handler(runtime: Runtime):
    async def healthz(_request: web.Request) -> web.Response:
        status, report = await asyncio.to_thread(_report, runtime)
        return web.json_response(report, status=status)

    return healthz
