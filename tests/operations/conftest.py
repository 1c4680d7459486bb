"""A running bot with GET /metrics turned on (METRICS_TOKEN set)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import BotUnderTest

METRICS_TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
async def metrics_bot(bot_starter) -> AsyncIterator[BotUnderTest]:
    async with bot_starter(metrics_token=METRICS_TOKEN) as running_bot:
        yield running_bot
