"""Posting the digest exactly once per day, however many bot processes run.

Every minute each process asks: has today's DIGEST_TIME (in TIMEZONE) passed? If so —
or if yesterday's slot passed while every process was down — the posting date of that
slot is claimed with `store.claim_run("digest:<date>")`; one process wins, posts, and
marks the run finished. A failed post releases the claim so the next tick retries. A
claim left unfinished by a crashed process is taken over after STALE_CLAIM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import delete, func
from sqlmodel import col, select

from bot.blocks import to_dicts
from bot.digest.build import Digest, build_digest
from bot.digest.chart import trend_png
from bot.digest.render import digest_blocks, fallback_text
from bot.metrics import as_utc, day_start
from bot.models import JobRun, Ticket, utcnow
from bot.settings import Settings
from bot.store import Store

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.runtime import Runtime

log = logging.getLogger(__name__)

TICK_SECONDS = 60
STALE_CLAIM = timedelta(minutes=15)


def run_key(posting_date: date) -> str:
    return f"digest:{posting_date.isoformat()}"


def due_posting_date(now: datetime, digest_time: str, tz: ZoneInfo) -> date:
    """The posting date of the latest DIGEST_TIME slot at or before `now` (local to tz)."""
    local = now.astimezone(tz)
    hour, minute = (int(part) for part in digest_time.split(":"))
    slot = datetime.combine(local.date(), time(hour, minute), tzinfo=tz)
    return local.date() if local >= slot else local.date() - timedelta(days=1)


@dataclass(frozen=True)
class PostResult:
    channel: str
    ts: str
    file_id: str | None


class DigestService:
    """Builds, renders and posts the digest; the claim makes a post once per day."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        client: AsyncWebClient | None,
        policy_names: list[str] | None = None,
        baseline_until: datetime | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.client = client
        self.policy_names = policy_names or []
        self.baseline_until = baseline_until
        self.owner = f"{socket.gethostname()}:{os.getpid()}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    def build(self, report_day: date, now: datetime | None = None) -> Digest:
        return build_digest(
            self.store,
            self.settings.timezone,
            report_day,
            now or utcnow(),
            self.policy_names,
            self.baseline_until,
        )

    # --- once per day ---------------------------------------------------------------------

    def claim(self, key: str) -> bool:
        """True for exactly one process per key; a stale unfinished claim is taken over."""
        with self.store.session() as session:
            row = session.get(JobRun, key)
            if row is not None and row.finished_at is None:
                session.exec(  # type: ignore[call-overload]
                    delete(JobRun).where(
                        col(JobRun.run_key) == key,
                        col(JobRun.finished_at).is_(None),
                        col(JobRun.started_at) < utcnow() - STALE_CLAIM,
                    )
                )
                session.commit()
            elif row is not None:
                return False
        return self.store.claim_run(key, owner=self.owner)

    def first_ticket_at(self) -> datetime | None:
        """When the first ticket reached the bot (None: none yet)."""
        with self.store.session() as session:
            first = session.exec(select(func.min(Ticket.received_at))).one()
        return as_utc(first) if first is not None else None

    def before_first_ticket(self, posting_date: date) -> bool:
        """The report day (the day before posting) ended before any ticket arrived: a
        fresh install would otherwise post "No tickets on …" a minute after first start."""
        first = self.first_ticket_at()
        return first is None or first >= day_start(posting_date, self.tz)

    async def run_due(self, now: datetime | None = None) -> PostResult | None:
        """The scheduler's tick: post the latest due digest unless some process already did."""
        now = now or utcnow()
        posting = due_posting_date(now, self.settings.digest_time, self.tz)
        if await asyncio.to_thread(self.before_first_ticket, posting):
            log.debug("digest for %s skipped: no ticket had arrived by then", posting)
            return None
        return await self.post_once(posting, now)

    async def post_once(
        self, posting_date: date, now: datetime | None = None, *, force: bool = False
    ) -> PostResult | None:
        """Claim `digest:<posting_date>`, post the digest of the day before, mark it done."""
        now = now or utcnow()
        key = run_key(posting_date)
        if not force and not await asyncio.to_thread(self.claim, key):
            return None
        try:
            digest = await asyncio.to_thread(self.build, posting_date - timedelta(days=1), now)
            result = await self.post(digest, now)
        except BaseException:
            if not force:
                await asyncio.to_thread(self.store.release_run, key)
            raise
        if not force:
            await asyncio.to_thread(self.store.finish_run, key)
        log.info("digest for %s posted to %s", digest.report_day, result.channel)
        return result

    # --- Slack ----------------------------------------------------------------------------

    async def post(self, digest: Digest, now: datetime) -> PostResult:
        """The summary message, then the chart through the files upload API."""
        channel = self.settings.effective_digest_channel
        if not channel or self.client is None:
            raise RuntimeError("DIGEST_CHANNEL (or TRIAGE_CHANNEL) and SLACK_BOT_TOKEN are needed")
        response = await self.client.chat_postMessage(
            channel=channel,
            text=fallback_text(digest),
            blocks=to_dicts(digest_blocks(digest, now)),
            unfurl_links=False,
            unfurl_media=False,
        )
        posted = str(response.get("channel") or channel)
        ts = str(response.get("ts") or "")
        return PostResult(posted, ts, await self.upload_chart(digest, posted))

    async def upload_chart(self, digest: Digest, channel: str) -> str | None:
        """Best effort: the summary is already posted, so a failed chart never re-posts it."""
        assert self.client is not None
        try:
            png = await asyncio.to_thread(trend_png, digest.trend)
            upload = await self.client.files_upload_v2(
                channel=channel,
                file=png,
                filename=f"triage-trend-{digest.report_day.isoformat()}.png",
                title=f"Triage trend, 14 days to {digest.report_day:%d %b %Y}",
                alt_txt="Daily tickets, automation rate, precision and time to route, 14 days",
            )
        except Exception as exc:
            log.warning(
                "digest chart upload failed (%s); the summary was posted", type(exc).__name__
            )
            return None
        file = upload.get("file") or {}
        return str(file.get("id")) if isinstance(file, dict) and file.get("id") else None


def register_digest(scheduler: AsyncIOScheduler, runtime: Runtime) -> None:
    """Every minute inside `serve`: post the day's digest when due (and catch up after downtime)."""
    service = DigestService(
        runtime.store,
        runtime.settings,
        runtime.client,
        sorted(runtime.policies.policies),
        runtime.settings.baseline_until,
    )

    async def daily_digest() -> None:
        if not runtime.settings.effective_digest_channel:
            return
        try:
            await service.run_due()
        except Exception:
            log.exception("daily digest failed; the next tick retries")

    scheduler.add_job(
        daily_digest,
        "interval",
        seconds=TICK_SECONDS,
        id="daily_digest",
        max_instances=1,
        coalesce=True,
    )
