"""Scheduled polling inside `serve`: the source poll and the outcome re-read.

Every process schedules them; the store's lease makes one process poll at a time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.models import utcnow
from bot.source.errors import SourceError

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.service import TriageService
    from bot.settings import Settings
    from bot.source.poller import SourcePoller
    from bot.store import Store

log = logging.getLogger(__name__)


def register_source_poll(scheduler: AsyncIOScheduler, runtime: Runtime) -> None:
    poller = getattr(runtime, "source", None)
    if poller is None:
        return
    loop = asyncio.get_event_loop()
    poller.on_new = lambda: loop.call_soon_threadsafe(runtime.worker.kick)

    async def poll_source() -> None:
        try:
            await asyncio.to_thread(poller.poll_once)
        except Exception:  # poll_once reports source faults itself; this is a bug guard
            log.exception("source poll crashed; the next tick retries")

    async def refresh() -> None:
        from bot.source.outcomes import refresh_outcomes

        if poller.failing:  # the poll already said the source is down; stay quiet
            return
        try:
            await asyncio.to_thread(refresh_outcomes, poller)
        except SourceError as exc:
            log.warning("source outcome re-read failed (%s); will retry", exc.kind)
        except Exception:
            log.exception("source outcome re-read crashed; will retry")

    scheduler.add_job(
        poll_source,
        "interval",
        seconds=runtime.settings.source_poll_seconds,
        id="source_poll",
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow(),
    )
    scheduler.add_job(
        refresh,
        "interval",
        seconds=runtime.settings.source_outcome_seconds,
        id="source_outcomes",
        max_instances=1,
        coalesce=True,
    )


def build_source(
    settings: Settings, store: Store, service: TriageService | None = None
) -> SourcePoller | None:
    """The poller for `serve`, or None when no source is configured (refuses a bad query)."""
    from bot.source.poller import SOURCE_NAME, SourcePoller

    if not settings.source_database_url and not settings.source_query:
        return None
    intake = (lambda tickets: service.intake(tickets, source=SOURCE_NAME)) if service else None
    return SourcePoller(settings, store, intake=intake)
