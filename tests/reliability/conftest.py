"""Fixtures for reliability tests: a bot with fast reliability knobs, PostgreSQL schemas,
and `serve` subprocesses that are always stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import build_runtime, running
from bot.db import make_engine
from bot.store import Store
from tests.conftest import BotUnderTest, make_settings, postgres_schema
from tests.fakes.slack_api import FakeSlack
from tests.reliability.helpers import ServeProcess

# Short leases, backoffs and timeouts so fault tests finish in seconds; pacing off unless
# a test turns it on.
FAST: dict[str, Any] = {
    "slack_channel_rate": 0,
    "outbox_lease_seconds": 3,
    "outbox_max_backoff_seconds": 1,
    "slack_timeout_seconds": 1,
    "worker_poll_seconds": 0.1,
}

StartBot = Callable[..., Awaitable[BotUnderTest]]


@pytest.fixture
async def start_bot(
    database_url: str, fake_slack: FakeSlack, policies_dir: Path
) -> AsyncIterator[StartBot]:
    """`await start_bot(**settings)` runs the real bot in-process; stopped at teardown."""
    stack = contextlib.AsyncExitStack()

    async def start(**overrides: Any) -> BotUnderTest:
        values = {
            "database_url": database_url,
            "slack_api_url": fake_slack.api_url,
            "policies_dir": policies_dir,
            **FAST,
            **overrides,
        }
        runtime = build_runtime(make_settings(**values))
        port = await stack.enter_async_context(running(runtime, "127.0.0.1", 0))
        http = await stack.enter_async_context(aiohttp.ClientSession())
        return BotUnderTest(runtime, f"http://127.0.0.1:{port}", fake_slack, http)

    try:
        yield start
    finally:  # a shutdown that hangs fails the test instead of the whole run
        await asyncio.wait_for(stack.aclose(), timeout=60)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL schema (these tests need real row locks)."""
    with postgres_schema("r") as url:
        yield url


@pytest.fixture
def serve_processes() -> Iterator[list[ServeProcess]]:
    """Append started ServeProcess objects here; every one is stopped at teardown."""
    processes: list[ServeProcess] = []
    yield processes
    for process in processes:
        process.stop()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A store on the test database (SQLite file, or PostgreSQL when its URL is set)."""
    engine = make_engine(database_url)
    yield Store(engine)
    engine.dispose()
