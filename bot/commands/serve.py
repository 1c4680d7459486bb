"""`triage-bot serve`: the Slack app (HTTP or Socket Mode), intake webhook, worker and jobs."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from bot.app import build_runtime, running
from bot.commands.common import CommandError
from bot.db import SchemaOutOfDateError, ensure_schema
from bot.policies import PolicyError
from bot.settings import Settings
from bot.socket_mode import connect_socket_mode

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the Slack app, intake webhook and scheduler")
    parser.add_argument("--port", type=int, help="HTTP port (default PORT, 3000)")
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    parser.add_argument(
        "--no-migrate",
        action="store_true",
        help="refuse to start on an out-of-date schema instead of upgrading it",
    )
    parser.set_defaults(run=run)


def check_settings(settings: Settings) -> None:
    settings.require("SLACK_BOT_TOKEN", why="serve posts to Slack with the bot token")
    settings.require("TRIAGE_CHANNEL", why="serve posts proposals to the triage channel")
    if not settings.socket_mode:
        settings.require(
            "SLACK_SIGNING_SECRET",
            why="HTTP mode verifies Slack's requests (or set SLACK_APP_TOKEN for Socket Mode)",
        )


async def _serve(settings: Settings, host: str, port: int) -> None:
    runtime = build_runtime(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(runtime, host, port) as bound:
        mode = "Socket Mode" if settings.socket_mode else f"HTTP mode on {host}:{bound}"
        log.info("triage-bot serving (%s), %d policies", mode, len(runtime.policies.policies))
        socket_handler = await connect_socket_mode(runtime) if settings.socket_mode else None
        await stop.wait()
        log.info("shutting down")
        if socket_handler is not None:
            await socket_handler.close_async()


def run(args: argparse.Namespace, settings: Settings) -> int:
    check_settings(settings)
    try:
        ensure_schema(settings.database_url, auto_upgrade=not args.no_migrate)
    except SchemaOutOfDateError as exc:
        raise CommandError(str(exc)) from exc
    try:
        asyncio.run(_serve(settings, args.host, args.port or settings.port))
    except PolicyError as exc:
        for problem in exc.problems:
            print(f"policy error: {problem}")
        raise CommandError("serve refuses to start with invalid policies") from exc
    return 0
