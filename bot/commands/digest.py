"""`triage-bot digest`: compute the daily digest now; `--dry-run` prints it instead of posting.

Posting claims the same run key as the scheduler (`digest:<posting date>`), so a digest
posted by hand is not posted again at DIGEST_TIME; `--force` posts regardless.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.common import CommandError
from bot.db import SchemaOutOfDateError, ensure_schema, make_engine
from bot.digest.chart import trend_png
from bot.digest.job import DigestService, run_key
from bot.digest.render import digest_text
from bot.models import utcnow
from bot.policies import load_policies
from bot.settings import Settings
from bot.store import Store


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "digest",
        help="compute the managers' daily digest now (post it, or print it with --dry-run)",
        description="Compute the daily digest for a day (default: yesterday in TIMEZONE) and "
        "post it to DIGEST_CHANNEL with its chart, or print it with --dry-run.",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the digest; post nothing")
    parser.add_argument(
        "--date",
        type=date.fromisoformat,
        help="the day to report on, YYYY-MM-DD (default yesterday)",
    )
    parser.add_argument("--chart", type=Path, help="also write the 14-day trend chart (PNG) here")
    parser.add_argument(
        "--force", action="store_true", help="post even if that day's digest was already posted"
    )
    parser.add_argument(
        "--baseline-until",
        type=datetime.fromisoformat,
        help="pre-launch baseline cutoff (overrides BASELINE_UNTIL; default: first proposal)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        tz = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CommandError(f"TIMEZONE={settings.timezone!r} is not a known time zone") from exc
    try:
        ensure_schema(settings.database_url, auto_upgrade=False)
    except SchemaOutOfDateError as exc:
        raise CommandError(str(exc)) from exc
    now = utcnow()
    report_day = args.date or (now.astimezone(tz).date() - timedelta(days=1))
    if not args.dry_run:
        settings.require("SLACK_BOT_TOKEN", why="the digest is posted to Slack with the bot token")
        if not settings.effective_digest_channel:
            settings.require("DIGEST_CHANNEL", why="the digest needs a channel to be posted to")
    policy_set, _problems = load_policies(settings.policies_dir)
    names = sorted(policy_set.policies) if policy_set else []
    engine = make_engine(settings.database_url)
    try:
        service = DigestService(
            Store(engine),
            settings,
            None,
            names,
            args.baseline_until or settings.baseline_until,
        )
        if args.dry_run:
            digest = service.build(report_day, now)
            print(digest_text(digest, now))
            if args.chart:
                args.chart.write_bytes(trend_png(digest.trend))
                print(f"\nchart written to {args.chart}", file=sys.stderr)
            return 0
        return asyncio.run(_post(service, settings, report_day, now, args.force))
    finally:
        engine.dispose()


async def _post(
    service: DigestService, settings: Settings, report_day: date, now: datetime, force: bool
) -> int:
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    service.client = client
    posting = report_day + timedelta(days=1)
    try:
        result = await service.post_once(posting, now, force=force)
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown") if exc.response else "unknown"
        raise CommandError(f"Slack refused the digest: {error}") from exc
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise CommandError(
            f"Slack is unreachable ({type(exc).__name__}); nothing was posted"
        ) from exc
    finally:
        if client.session is not None:
            await client.session.close()
    if result is None:
        print(
            f"the digest for {report_day} was already posted ({run_key(posting)}); "
            "use --force to post it again"
        )
        return 0
    chart = "with its chart" if result.file_id else "WITHOUT its chart (upload failed)"
    print(f"digest for {report_day} posted to {result.channel} {chart}")
    return 0
