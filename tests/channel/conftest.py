"""A bot with the channel's settings on, that a test can restart on the same store."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import build_runtime, running
from tests.conftest import BotUnderTest, make_settings
from tests.fakes.slack_api import FakeSlack

Starter = Callable[..., contextlib.AbstractAsyncContextManager[BotUnderTest]]


@pytest.fixture
def start_bot(database_url: str, fake_slack: FakeSlack, policies_dir: Path) -> Starter:
    """`async with start_bot(**settings) as bot:` runs a bot; leaving the block stops it,
    so a test can start another on the same store (a restart)."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[BotUnderTest]:
        settings = make_settings(
            database_url=database_url,
            slack_api_url=fake_slack.api_url,
            policies_dir=policies_dir,
            **overrides,
        )
        runtime = build_runtime(settings)
        async with running(runtime, "127.0.0.1", 0) as port, aiohttp.ClientSession() as http:
            yield BotUnderTest(runtime, f"http://127.0.0.1:{port}", fake_slack, http)

    return start
