"""The channel's periodic pass inside `serve`: routed summaries and surge-group lists.

Safe in every process at once: each pass claims its rows in the store (bot.channel.summary,
bot.channel.surge), so nothing is posted twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.runtime import Runtime

from bot.channel.gate_view import no_go, notice_text
from bot.models import utcnow

log = logging.getLogger(__name__)

FLUSH_SECONDS = 2.0


def register_channel_jobs(scheduler: AsyncIOScheduler, runtime: Runtime) -> None:
    service = runtime.service
    register_gate_notices(scheduler, runtime)
    if not (service.summaries.enabled or service.surge.enabled):
        return

    async def flush() -> None:
        try:
            queued = await asyncio.to_thread(service.summaries.flush)
            queued += await asyncio.to_thread(service.surge.flush)
        except Exception:
            log.exception("channel pass failed; will retry")
            return
        if queued:
            runtime.worker.kick()

    scheduler.add_job(flush, "interval", seconds=FLUSH_SECONDS, id="channel_flush", max_instances=1)


def gate_notices(runtime: Runtime, now: datetime | None = None) -> list[str]:
    """Post today's notice for each policy held by the launch gate (once, across processes)."""
    now = now or utcnow()
    service = runtime.service
    posted = []
    for name, effective in sorted(service.modes.effective(now).items()):
        policy = service.policies.policies.get(name)
        gate = effective.gate
        if policy is None or no_go(policy) or not effective.held_by_gate or gate is None:
            continue
        key = f"gate_notice:{name}:{now:%Y-%m-%d}"
        if not service.store.claim_run(key, "gate_notice"):
            continue
        try:
            service.store.enqueue([runtime.control.announce(notice_text(name, gate))])
        except Exception:
            service.store.release_run(key)
            raise
        service.store.finish_run(key)
        posted.append(name)
    return posted


def register_gate_notices(scheduler, runtime: Runtime) -> None:
    """Every 10 minutes: the first pass of the day posts the notices."""

    async def notices() -> None:
        try:
            if await asyncio.to_thread(gate_notices, runtime):
                runtime.worker.kick()
        except Exception:
            log.exception("launch gate notice failed; will retry")

    scheduler.add_job(notices, "interval", seconds=600, id="gate_notices", max_instances=1)
