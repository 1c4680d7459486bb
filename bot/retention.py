"""Retention and erasure of ticket text and personal data.

`RETENTION_DAYS` (unset: keep everything) erases, once a day inside `serve`, the subject,
body and requester of every ticket received more than that many days ago, strips the
text from old Slack calls in the outbox and drops old LLM answer records. `triage-bot
forget` erases one requester's tickets or one ticket at once. Both go through
Store.erase_tickets, so the append-only audit trail keeps its metadata (who decided
what, when) and gains an `erased` row per ticket, and no ticket text survives.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete

from bot.models import utcnow
from bot.store import Store

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 2000
RETENTION_REASON = "retention"
REQUEST_REASON = "erasure request"


@dataclass(frozen=True)
class RetentionResult:
    cutoff: datetime
    tickets: int
    outbox: int
    llm_answers: int

    def summary(self) -> str:
        return (
            f"retention: text erased from {self.tickets:,} ticket(s) received before "
            f"{self.cutoff:%Y-%m-%d %H:%M} UTC; {self.outbox:,} Slack call record(s) and "
            f"{self.llm_answers:,} LLM answer record(s) cleared"
        )


def _drop_old_llm_answers(store: Store, cutoff: datetime) -> int:
    from bot.classifier.llm_store import LlmPrediction

    with store.session() as session:
        result = session.execute(
            delete(LlmPrediction).where(LlmPrediction.created_at < cutoff)  # type: ignore[arg-type]
        )
        session.commit()
        return int(result.rowcount or 0)


def apply_retention(store: Store, days: int, now: datetime | None = None) -> RetentionResult:
    """Erase what is older than `days`; safe to run again (erased tickets are skipped)."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    erased = 0
    while True:
        ids = store.tickets_received_before(cutoff, limit=BATCH)
        if not ids:
            break
        erased += len(store.erase_tickets(ids, actor="retention", reason=RETENTION_REASON))
    outbox = store.scrub_old_outbox(cutoff)
    answers = _drop_old_llm_answers(store, cutoff)
    return RetentionResult(cutoff, erased, outbox, answers)


def retention_once(runtime: Runtime, day: date | None = None) -> RetentionResult | None:
    """Run the day's retention if this process claims it first (several `serve`s)."""
    days = runtime.settings.retention_days
    if not days:
        return None
    key = f"retention:{(day or utcnow().date()).isoformat()}"
    if not runtime.store.claim_run(key):
        return None
    try:
        result = apply_retention(runtime.store, days)
    except Exception:
        runtime.store.release_run(key)
        log.exception("retention failed; the next run retries")
        return None
    runtime.store.finish_run(key)
    log.info(result.summary())
    return result


def register_retention(scheduler: AsyncIOScheduler, runtime: Runtime) -> None:
    """Daily at RETENTION_TIME (TIMEZONE) when RETENTION_DAYS is set."""
    if not runtime.settings.retention_days:
        return
    hour, minute = (int(part) for part in runtime.settings.retention_time.split(":"))

    async def retention() -> None:
        await asyncio.to_thread(retention_once, runtime)

    scheduler.add_job(
        retention, "cron", hour=hour, minute=minute, id="retention", max_instances=1, coalesce=True
    )
