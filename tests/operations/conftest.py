"""A running bot with GET /metrics turned on (METRICS_TOKEN set)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import build_runtime, running
from tests.conftest import BotUnderTest, make_settings
from tests.fakes.slack_api import FakeSlack

METRICS_TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
async def metrics_bot(
    database_url: str, fake_slack: FakeSlack, policies_dir: Path
) -> AsyncIterator[BotUnderTest]:
    settings = make_settings(
        database_url=database_url,
        slack_api_url=fake_slack.api_url,
        policies_dir=policies_dir,
        metrics_token=METRICS_TOKEN,
    )
    runtime = build_runtime(settings)
    async with running(runtime, "127.0.0.1", 0) as port, aiohttp.ClientSession() as http:
        yield BotUnderTest(runtime, f"http://127.0.0.1:{port}", fake_slack, http)
