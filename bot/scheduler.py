"""Scheduled jobs inside `serve` (APScheduler).

Each job module exposes `register_jobs(scheduler, runtime)`; JOB_MODULES lists them.
Jobs that must run once per tick across several bot processes claim the tick with
`runtime.store.claim_run(key)` first.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.channel.jobs import register_channel_jobs
from bot.classifier.jobs import register_retrain
from bot.digest.job import register_digest
from bot.models import utcnow
from bot.ownership.gate_watch import register_gate_watch
from bot.retention import register_retention
from bot.source.jobs import register_source_poll
from bot.watchdog import TICK_SECONDS, Watchdog

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.store import Store

log = logging.getLogger(__name__)

RUN_OWNER = f"{socket.gethostname()}:{os.getpid()}"
PRUNE_EVERY_TICKS = 500
KEEP_RUNS = timedelta(days=2)


def once_per_tick(
    store: Store, name: str, every_seconds: float, job: Callable[[], Awaitable[object]]
) -> Callable[[], Awaitable[bool]]:
    """Wrap an interval job so it runs once per tick across every `serve` process.

    The tick is wall-clock time cut into `every_seconds` slots; each process's scheduler
    fires the wrapper, the first to `claim_run("<name>:<slot>")` runs the job and the others
    skip that slot. A job that raises releases its slot so the next firing can retry it.
    Returns whether this process ran the job.
    """

    async def run() -> bool:
        slot = int(time.time() // every_seconds)
        key = f"{name}:{slot}"
        if not await asyncio.to_thread(store.claim_run, key, RUN_OWNER):
            return False
        try:
            await job()
        except BaseException:
            await asyncio.to_thread(store.release_run, key)
            raise
        await asyncio.to_thread(store.finish_run, key)
        if slot % PRUNE_EVERY_TICKS == 0:
            await asyncio.to_thread(store.prune_runs, f"{name}:", utcnow() - KEEP_RUNS)
        return True

    run.__name__ = f"once_per_tick_{name}"
    return run


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

    scheduler.add_job(
        once_per_tick(runtime.store, "expire_pauses", 30, expire_pauses),
        "interval",
        seconds=30,
        id="expire_pauses",
        max_instances=1,
    )


def register_watchdog(scheduler: AsyncIOScheduler, runtime: Runtime) -> None:
    """Every minute, inside `serve`: page breached handoffs and kick the outbox."""
    watchdog = Watchdog(runtime.store, runtime.policies, runtime.settings.triage_channel or "")

    async def check_handoffs() -> None:
        try:
            pages = await asyncio.to_thread(watchdog.tick)
        except Exception:
            log.exception("handoff watchdog tick failed; will retry")
            return
        if pages:
            runtime.worker.kick()

    scheduler.add_job(
        check_handoffs,
        "interval",
        seconds=TICK_SECONDS,
        id="handoff_watchdog",
        max_instances=1,
        coalesce=True,
    )


JOB_REGISTRARS: list[Callable[[AsyncIOScheduler, Runtime], None]] = [register_pause_expiry]
JOB_REGISTRARS.append(register_watchdog)  # handoff watchdog
JOB_REGISTRARS.append(register_digest)  # daily digest
JOB_REGISTRARS.append(register_source_poll)  # helpdesk database source
JOB_REGISTRARS.append(register_retrain)  # daily retrain + model reload
JOB_REGISTRARS.append(register_gate_watch)  # launch gate changes announced
JOB_REGISTRARS.append(register_channel_jobs)  # routed summaries and surge-group lists
JOB_REGISTRARS.append(register_retention)  # RETENTION_DAYS: old ticket text erased daily


def build_scheduler(runtime: Runtime) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=runtime.settings.timezone)
    for register in JOB_REGISTRARS:
        register(scheduler, runtime)
    return scheduler
