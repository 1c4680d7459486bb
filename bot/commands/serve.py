"""`triage-bot serve`: the Slack app (HTTP or Socket Mode), intake webhook, worker and jobs."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys

from bot.app import build_runtime, running
from bot.commands.common import CommandError
from bot.db import SchemaOutOfDateError, ensure_schema
from bot.dbcheck import check_connection
from bot.doctor import (
    Finding,
    known_tags,
    load_settings_leniently,
    policy_findings,
    settings_findings,
)
from bot.placeholders import FIX as PLACEHOLDER_FIX
from bot.policies import PolicyError
from bot.settings import Settings
from bot.socket_mode import connect_socket_mode
from bot.source.query import check_query_settings

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the Slack app, intake webhook and scheduler")
    parser.add_argument(
        "--port", type=int, help="HTTP port (default PORT, 3000; 0 picks a free port, logged)"
    )
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    parser.add_argument(
        "--no-migrate",
        action="store_true",
        help="refuse to start on an out-of-date schema instead of upgrading it",
    )
    parser.set_defaults(run=run, lenient_settings=True)


def check_settings(settings: Settings, invalid: list[Finding] | None = None) -> None:
    """Every missing or invalid setting at once (exit 2); warnings are logged."""
    check_query_settings(settings)  # SOURCE_QUERY, SOURCE_TRAIN_QUERY, …: one SELECT each
    findings = [*(invalid or []), *settings_findings(settings)]
    errors = [f for f in findings if f.level == "error"]
    for finding in errors:
        print(finding, file=sys.stderr)
    if errors:
        raise CommandError(f"serve refuses to start: {len(errors)} setting problem(s)", code=2)
    for finding in findings:
        log.warning("%s: %s", finding.where, finding.message)


def check_policies_first(settings: Settings) -> None:
    """Invalid policies stop serve before it creates or migrates any database."""
    findings = policy_findings(settings.policies_dir, known_tags(settings))
    errors = [f for f in findings if f.level == "error"]
    if errors:
        for finding in errors:
            print(f"policy error: {finding.where}: {finding.message}")
        raise CommandError("serve refuses to start with invalid policies")
    for finding in findings:
        log.warning("%s: %s", finding.where, finding.message)
    if findings:
        log.warning(PLACEHOLDER_FIX)


def check_database(settings: Settings) -> None:
    problem = check_connection(settings.database_url)
    if problem:
        raise CommandError(f"database: {problem}")


async def _serve(settings: Settings, host: str, port: int) -> None:
    runtime = build_runtime(settings)
    # What was loaded at start (models, policies, modules) lives as long as the process:
    # moved out of the cyclic collector's reach, a full collection no longer walks it all
    # (~90 ms on this heap, a pause for every request in flight).
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(runtime, host, port) as bound:
        mode = (
            f"Socket Mode; HTTP on {host}:{bound}"
            if settings.socket_mode
            else f"HTTP mode on {host}:{bound}"
        )
        log.info("triage-bot serving (%s), %d policies", mode, len(runtime.policies.policies))
        socket_handler = await connect_socket_mode(runtime) if settings.socket_mode else None
        await stop.wait()
        log.info("shutting down")
        if socket_handler is not None:
            await socket_handler.close_async()


def run(args: argparse.Namespace, settings: Settings) -> int:
    settings, invalid = load_settings_leniently() if args.lenient_settings else (settings, [])
    check_settings(settings, invalid)
    check_policies_first(settings)
    check_database(settings)
    try:
        ensure_schema(settings.database_url, auto_upgrade=not args.no_migrate)
    except SchemaOutOfDateError as exc:
        raise CommandError(str(exc)) from exc
    port = args.port if args.port is not None else settings.port
    try:
        asyncio.run(_serve(settings, args.host, port))
    except PolicyError as exc:
        for problem in exc.problems:
            print(f"policy error: {problem}")
        raise CommandError("serve refuses to start with invalid policies") from exc
    return 0
