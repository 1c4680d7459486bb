"""The LLM endpoint hanging (CLASSIFIER=openai): intake, clicks and /healthz stay prompt,
every ticket still reaches a human, and /healthz names the failure."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.classifier_openai.conftest import API_KEY, MODEL
from tests.fakes.openai_api import FakeOpenAI, Reply
from tests.reliability.conftest import StartBot
from tests.reliability.helpers import eventually, post_signed, proposals_posted, tickets


def sent_posts(bot, ticket_ids: list[str]) -> list[datetime]:
    """When the proposals of these tickets were sent, by the store's clock."""
    return [
        m.sent_at
        for m in bot.runtime.store.outbox_messages()
        if m.purpose == "proposal" and m.ticket_id in ticket_ids and m.sent_at is not None
    ]


@pytest.fixture
def hanging_llm() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(default=Reply.slow(30.0)).start()  # answers nothing for 30 s
    yield server
    server.stop()


async def test_a_hanging_llm_does_not_stop_intake_health_or_delivery(
    start_bot: StartBot, hanging_llm: FakeOpenAI
):
    bot = await start_bot(
        classifier="openai",
        openai_base_url=hanging_llm.base_url,
        openai_api_key=API_KEY,
        openai_model=MODEL,
        openai_timeout_seconds=1.0,  # one call outlasts the claim window: two batches at least
        openai_max_retries=0,
    )
    # The classifier's circuit breaker stops calling a failing endpoint for a
    # while; shortened here so the recovery below is seen within the test.
    bot.runtime.classifier.circuit_cooldown_seconds = 1.0
    burst = tickets(6, prefix="H")
    response = await post_signed(bot.http, bot.base_url, burst)
    assert response.status == 202
    # Answered before any ticket was classified: the LLM needs one timeout per call, so
    # intake that waited for it would find proposals stored by now.
    ids = [ticket["id"] for ticket in burst]
    assert all(bot.runtime.store.latest_proposal(i) is None for i in ids), (
        "intake waited for the LLM"
    )

    async with bot.http.get(f"{bot.base_url}/healthz") as health:
        assert health.status == 200
        report = await health.json()
    assert report["database"] == "ok"

    # Every ticket still goes to a human, marked as not classified by the LLM.
    await bot.slack.wait_for(lambda s: len(proposals_posted(s)) == 6, timeout=25)
    assert set(proposals_posted(bot.slack).values()) == {1}
    proposals = [bot.runtime.store.latest_proposal(i) for i in ids]
    for proposal in proposals:
        assert proposal is not None and proposal.decision == "review"
        assert "llm_error" in proposal.guardrails
    # Posts did not wait for the whole batch: the first went out while later tickets were
    # still waiting for the LLM (the store's own times, not a deadline timed here).
    await eventually(lambda: len(sent_posts(bot, ids)) == 6)
    assert min(sent_posts(bot, ids)) < max(p.created_at for p in proposals if p is not None)
    async with bot.http.get(f"{bot.base_url}/healthz") as health:
        report = await health.json()
    assert report["llm"]["enabled"] is True and report["llm"]["last_error"]
    assert hanging_llm.requests, "the LLM was never asked; nothing was tested"

    # The endpoint recovers: new tickets are classified by it again.
    hanging_llm.default = Reply.good("billing")
    await asyncio.sleep(1.2)  # the breaker's cooldown
    await post_signed(
        bot.http, bot.base_url, [{"id": "H-after", "subject": "Invoice", "body": "Invoice?"}]
    )
    await bot.slack.wait_for(lambda s: "H-after" in proposals_posted(s), timeout=15)
    assert "llm_error" not in bot.runtime.store.latest_proposal("H-after").guardrails
