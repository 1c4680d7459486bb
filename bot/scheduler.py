"""Scheduled jobs inside `serve` (APScheduler).

Each job module exposes `register_jobs(scheduler, runtime)`; JOB_MODULES lists them.
Jobs that must run once per tick across several bot processes claim the tick with
`runtime.store.claim_run(key)` first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:
    from bot.app import Runtime

log = logging.getLogger(__name__)


def register_pause_expiry(scheduler: AsyncIOScheduler, runtime: Runtime) -> None:
    """Timed pauses (`/triage-pause billing 2h`) resume by themselves, announced."""

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


JOB_REGISTRARS: list[Callable[[AsyncIOScheduler, Runtime], None]] = [register_pause_expiry]


def build_scheduler(runtime: Runtime) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=runtime.settings.timezone)
    for register in JOB_REGISTRARS:
        register(scheduler, runtime)
    return scheduler
