"""`triage-bot ingest --once`: one poll of the helpdesk database, then classify and post.

New tickets are stored (exactly once, however often this runs or whatever else polls),
then classified and posted to TRIAGE_CHANNEL through the outbox. Without Slack settings
they are stored and left for `triage-bot serve` to post.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import TYPE_CHECKING

from bot.commands.common import CommandError
from bot.db import ensure_schema, make_engine
from bot.models import OutboxStatus
from bot.policies import PolicyError
from bot.settings import Settings
from bot.source.errors import SourceError
from bot.source.outcomes import refresh_outcomes
from bot.source.poller import PollResult, SourcePoller
from bot.source.query import validate_query
from bot.store import Store

if TYPE_CHECKING:
    from bot.runtime import Runtime

PROGRESS_EVERY = 10_000


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ingest",
        help="poll the helpdesk database (SOURCE_DATABASE_URL, SOURCE_QUERY) once",
        description="Read new tickets from the helpdesk database, store them once, post them.",
    )
    parser.add_argument(
        "--once", action="store_true", help="one poll, then exit (serve polls on a schedule)"
    )
    parser.add_argument(
        "--no-post", action="store_true", help="store only; `triage-bot serve` posts them later"
    )
    parser.set_defaults(run=run)


class _Progress:
    """A line on stderr every PROGRESS_EVERY rows, so a long first sync shows it is moving."""

    def __init__(self) -> None:
        self.next = PROGRESS_EVERY
        self.started = time.monotonic()

    def __call__(self, result: PollResult) -> None:
        if result.rows_read >= self.next:
            elapsed = max(time.monotonic() - self.started, 1e-9)
            print(
                f"ingest: … {result.summary()}; {result.rows_read / elapsed:,.0f} rows/s, "
                f"{elapsed:,.0f} s",
                file=sys.stderr,
                flush=True,
            )
            while self.next <= result.rows_read:
                self.next += PROGRESS_EVERY


async def _post(runtime: Runtime) -> tuple[int, int]:
    """Classify stored tickets and deliver the outbox once; returns (classified, sent)."""
    classified = sent = 0
    while True:
        done = await asyncio.to_thread(runtime.service.process_new)
        classified += done
        sent += await runtime.dispatcher.drain()
        if not done:
            return classified, sent


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not args.once:
        raise CommandError(
            "give --once (one poll, then exit); `triage-bot serve` polls on a schedule", code=2
        )
    settings.require("SOURCE_DATABASE_URL", why="ingest reads tickets from that database")
    settings.require("SOURCE_QUERY", why="ingest needs the SELECT that reads the tickets")
    validate_query(settings.source_query)  # refused before any database is touched
    ensure_schema(settings.database_url, auto_upgrade=True)
    missing = [
        name
        for name, value in (
            ("SLACK_BOT_TOKEN", settings.slack_bot_token),
            ("TRIAGE_CHANNEL", settings.triage_channel),
        )
        if not value
    ]
    if args.no_post or missing:
        # Store only: the proposals are classified and posted by `serve`'s worker.
        engine = make_engine(settings.database_url)
        poller = SourcePoller(settings, Store(engine))
        why = "--no-post" if args.no_post else f"{' and '.join(missing)} not set"
        try:
            return asyncio.run(_ingest(poller, None, why))
        finally:
            poller.close()
            engine.dispose()
    from bot.app import build_runtime  # the Slack app, only when posting

    try:
        runtime = build_runtime(settings)
    except PolicyError as exc:
        for problem in exc.problems:
            print(f"policy error: {problem}", file=sys.stderr)
        raise CommandError("invalid policies; run: triage-bot check-policies") from exc
    return asyncio.run(_ingest(runtime.source, runtime, None))


async def _ingest(poller: SourcePoller, runtime: Runtime | None, no_post_reason: str | None) -> int:
    try:
        result = await asyncio.to_thread(poller.poll_once, _Progress())
        if result.busy:
            print("ingest: another bot process is polling the source right now; nothing done")
            return 0
        if result.error is not None:
            raise CommandError(
                f"source {result.error.kind} ({poller.reader.masked_url}): {result.error.detail}; "
                f"{result.rows_read:,} rows read before it were stored"
            )
        outcome_note = ""
        try:
            refreshed = await asyncio.to_thread(refresh_outcomes, poller)
            if refreshed.checked:
                outcome_note = (
                    f"; outcomes re-read for {refreshed.checked:,} open ticket(s), "
                    f"{refreshed.updated:,} changed"
                )
        except SourceError as exc:
            outcome_note = f"; outcome re-read failed ({exc.kind})"
        line = f"ingest: {result.summary()}{outcome_note}"
        if runtime is None:
            print(
                f"{line}; stored but not posted ({no_post_reason}): the proposals wait in the "
                "store and `triage-bot serve` posts them"
            )
            return 0
        classified, sent = await _post(runtime)
        waiting = (
            await asyncio.to_thread(runtime.store.outbox_counts, (OutboxStatus.PENDING,))
        ).get(OutboxStatus.PENDING, 0)
        print(
            f"{line}; {classified:,} classified, {sent:,} Slack post(s) sent"
            + (f", {waiting:,} waiting for retry by `triage-bot serve`" if waiting else "")
        )
        return 0
    finally:
        if runtime is not None:
            await runtime.close()
