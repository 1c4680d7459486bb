"""End to end with CLASSIFIER=openai: the running bot, the fake Slack and the fake LLM."""

from __future__ import annotations

from bot.models import TicketStatus
from tests.classifier_openai.conftest import MODEL
from tests.conftest import TRIAGE_CHANNEL, BotUnderTest
from tests.fakes.openai_api import FakeOpenAI, Reply

BODY = (
    "You charged my card 4111 1111 1111 1111 twice this month. "
    "Refund one of them and write to jane.doe@example.com."
)


async def test_a_ticket_whose_llm_call_fails_is_still_posted_for_review(
    openai_bot: BotUnderTest, fake_openai: FakeOpenAI
):
    fake_openai.default = Reply.http_error(500)

    response = await openai_bot.post_tickets(
        {"id": "llm-1", "subject": "Double charge", "body": BODY}
    )
    assert response.status == 202

    await openai_bot.slack.wait_for(lambda s: openai_bot.proposal_for("llm-1") is not None)
    call = openai_bot.proposal_for("llm-1")
    assert call.params["channel"] == TRIAGE_CHANNEL
    shown = str(call.params["blocks"])
    # In Slack the reason is a sentence; the code and the HTTP status stay in the audit.
    assert "classifier failed" in shown and "llm_error:" not in shown
    assert "triage_approve" in shown  # a human can decide it
    proposal = openai_bot.runtime.store.latest_proposal("llm-1")
    assert proposal.decision == "review"
    assert "llm_error" in proposal.guardrails
    assert proposal.confidence == 0.0
    assert any(
        r.startswith("llm_error: the LLM endpoint answered HTTP 500") for r in proposal.reasons
    )
    assert openai_bot.runtime.store.get_ticket("llm-1").status == TicketStatus.REVIEW
    # Retried (bounded), and never sent the raw card or email.
    assert len(fake_openai.requests) == 2
    seen = fake_openai.seen_text()
    assert "4111 1111 1111 1111" not in seen and "jane.doe@example.com" not in seen
    assert "[card]" in seen and "[email]" in seen
    # Operators see the failure kind and the budget on /healthz.
    health = await (await openai_bot.http.get(f"{openai_bot.base_url}/healthz")).json()
    assert health["llm"]["enabled"] is True
    assert health["llm"]["last_error"] == "the LLM endpoint answered HTTP 500"
    assert health["llm"]["daily_budget"] == 200_000 and health["llm"]["tokens_today"] > 0


async def test_a_slow_llm_does_not_stop_the_queue(
    openai_bot: BotUnderTest, fake_openai: FakeOpenAI
):
    fake_openai.then(Reply.slow(3.0), Reply.slow(3.0))
    fake_openai.default = Reply.good("billing", "negative")

    await openai_bot.post_tickets({"id": "slow-1", "subject": "Refund", "body": BODY})
    await openai_bot.slack.wait_for(lambda s: openai_bot.proposal_for("slow-1") is not None)
    await openai_bot.post_tickets({"id": "ok-2", "subject": "Refund", "body": BODY})
    await openai_bot.slack.wait_for(lambda s: openai_bot.proposal_for("ok-2") is not None)

    slow = openai_bot.runtime.store.latest_proposal("slow-1")
    assert slow.decision == "review" and "llm_error" in slow.guardrails
    assert any("timed out" in r for r in slow.reasons)
    ok = openai_bot.runtime.store.latest_proposal("ok-2")
    assert ok.tag == "billing" and ok.model_version == f"openai:{MODEL}"
    assert "llm_error" not in ok.guardrails


async def test_the_llm_answer_becomes_the_proposal(
    openai_bot: BotUnderTest, fake_openai: FakeOpenAI
):
    fake_openai.default = Reply.good("billing", "negative", logprobs=True, probability=0.98)

    await openai_bot.post_tickets({"id": "llm-3", "subject": "Charged twice", "body": BODY})
    await openai_bot.slack.wait_for(lambda s: openai_bot.proposal_for("llm-3") is not None)

    proposal = openai_bot.runtime.store.latest_proposal("llm-3")
    assert proposal.tag == "billing"
    assert proposal.model_version == f"openai:{MODEL}"
    assert proposal.sentiment == "negative"
    assert 0 < proposal.confidence <= 0.98
    # The budget is counted in the bot's database.
    assert openai_bot.runtime.classifier.budget.used_today() == 138


async def test_an_exhausted_budget_uses_the_local_model(
    database_url, fake_slack, fake_openai: FakeOpenAI, policies_dir
):
    import aiohttp

    from bot.app import build_runtime, running
    from tests.classifier_openai.conftest import openai_settings

    settings = openai_settings(
        fake_openai,
        database_url=database_url,
        slack_api_url=fake_slack.api_url,
        policies_dir=policies_dir,
        openai_daily_token_budget=0,
    )
    runtime = build_runtime(settings)
    async with running(runtime, "127.0.0.1", 0) as port, aiohttp.ClientSession() as http:
        bot = BotUnderTest(runtime, f"http://127.0.0.1:{port}", fake_slack, http)
        # Too little text: it goes to review, so the reviewer also sees the budget note.
        await bot.post_tickets({"id": "budget-1", "subject": "", "body": "?? !!"})
        await fake_slack.wait_for(lambda s: bot.proposal_for("budget-1") is not None)
        proposal = runtime.store.latest_proposal("budget-1")
        assert proposal.model_version == runtime.classifier.local.version
        assert fake_openai.requests == []
        assert proposal.decision == "review"
        assert any(r.startswith("llm_budget: ") for r in proposal.reasons)
        shown = str(bot.proposal_for("budget-1").params["blocks"])
        assert "AI budget for today is used up" in shown and "llm_budget:" not in shown


async def test_healthz_says_the_llm_is_off_with_the_local_classifier(bot: BotUnderTest):
    health = await (await bot.http.get(f"{bot.base_url}/healthz")).json()
    assert health["llm"] == {"enabled": False}
