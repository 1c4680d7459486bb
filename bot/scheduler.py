"""Scheduled jobs inside `serve` (APScheduler): timed pause expiry, and later digest,
handoff watchdog and source polling."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:
    from bot.app import Runtime

log = logging.getLogger(__name__)


def build_scheduler(runtime: Runtime) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=runtime.settings.timezone)

    async def expire_pauses() -> None:
        try:
            resumed = await asyncio.to_thread(runtime.control.expire)
        except Exception:
            log.exception("pause expiry failed; will retry")
            return
        if resumed:
            log.info("timed pauses ended: %s", ", ".join(resumed))
            runtime.worker.kick()

    scheduler.add_job(expire_pauses, "interval", seconds=30, id="expire_pauses", max_instances=1)
    return scheduler
