"""The channel's periodic pass inside `serve`: routed summaries and surge-group lists.

Safe in every process at once: each pass claims its rows in the store (bot.channel.summary,
bot.channel.surge), so nothing is posted twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.app import Runtime

from bot.channel.gate_view import register_gate_notices

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
