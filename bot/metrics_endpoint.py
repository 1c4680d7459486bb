"""`GET /metrics`: the counters of bot.observability plus gauges read at scrape time.

Kept apart from bot.observability, which the store and the outbox import: this module reads
the runtime, the store and the source state, so it sits above them in the import graph.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from bot.models import utcnow
from bot.observability import REGISTRY

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


class RuntimeCollector:
    """Outbox depth and age, source lag and pauses, read from the store at scrape time."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterable[GaugeMetricFamily]:
        store = self.runtime.store
        depth = GaugeMetricFamily(
            "triage_outbox_messages", "Queued Slack calls by state", labels=["state"]
        )
        counts = {"pending": 0, "failed": 0, **store.outbox_counts()}
        for state, count in sorted(counts.items()):
            depth.add_metric([state], count)
        yield depth
        oldest = store.oldest_pending_outbox()
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "triage_outbox_oldest_pending_seconds",
            "Age of the oldest Slack call still waiting to be sent (0 when none waits)",
            value=max(age, 0.0),
        )
        paused = GaugeMetricFamily(
            "triage_paused", "1 for each paused policy (or all)", labels=["policy"]
        )
        for name in sorted(store.paused_names()):
            paused.add_metric([name], 1)
        yield paused
        lag = self._source_lag()
        if lag is not None:
            yield GaugeMetricFamily(
                "triage_source_lag_seconds",
                "Seconds since the last successful poll of the helpdesk database",
                value=lag,
            )

    def _source_lag(self) -> float | None:
        if getattr(self.runtime, "source", None) is None:
            return None
        from bot.metrics import as_utc
        from bot.source.state import SourceStateRepo

        state = SourceStateRepo(self.runtime.store).get()
        last_ok = as_utc(state.last_ok_at) if state is not None else None
        if last_ok is None:
            return float("inf")
        return max((utcnow() - last_ok).total_seconds(), 0.0)


def render(runtime: Runtime) -> bytes:
    own = CollectorRegistry(auto_describe=False)
    own.register(RuntimeCollector(runtime))  # type: ignore[arg-type]
    return generate_latest(REGISTRY) + generate_latest(own)


def authorized(header: str | None, token: str) -> bool:
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def make_metrics_handler(runtime: Runtime):
    token = runtime.settings.metrics_token or ""

    async def metrics(request: web.Request) -> web.Response:
        if not authorized(request.headers.get("Authorization"), token):
            return web.Response(
                status=401,
                text="Authorization: Bearer <METRICS_TOKEN> required\n",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        started = time.monotonic()
        body = await asyncio.to_thread(render, runtime)
        log.debug("metrics rendered in %.3fs", time.monotonic() - started)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics
