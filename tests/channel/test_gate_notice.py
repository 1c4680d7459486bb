"""The launch gate is said once a day per gated policy in the channel, not on every ticket."""

from __future__ import annotations

import asyncio

import pytest

from bot.channel.gate_view import no_go
from bot.channel.jobs import gate_notices
from tests.conftest import TRIAGE_CHANNEL, BotUnderTest


@pytest.mark.global_policy(launch_min_decided=50)
async def test_one_notice_per_gated_policy_per_day(bot: BotUnderTest):
    gated = sorted(n for n, p in bot.runtime.policies.policies.items() if not no_go(p))
    first = await asyncio.to_thread(gate_notices, bot.runtime)
    again = await asyncio.to_thread(gate_notices, bot.runtime)
    assert first == gated and again == []
    bot.runtime.worker.kick()

    def notices() -> list[str]:
        return [
            c.params["text"]
            for c in bot.posts_to(TRIAGE_CHANNEL)
            if "learning, 0 of 50 decisions" in c.params.get("text", "")
        ]

    await bot.slack.wait_for(lambda s: len(notices()) == len(gated))
    assert any("*billing*: learning, 0 of 50 decisions." in text for text in notices())
    assert not any("security" in text for text in notices())  # a no-go policy is never gated
