"""The daily token budget: counted from the API's usage, shared through the database, hard cap."""

from __future__ import annotations

from sqlmodel import Session

from bot.classifier.llm_store import DbBudget, LlmTokenUsage, MemoryBudget, utc_day
from bot.policies import require_policies
from bot.triage import decide
from tests.fakes.openai_api import Reply

TEXT = "I was charged twice for my subscription. Please refund one invoice."


def test_usage_from_the_api_is_what_the_budget_counts(make_llm, fake_openai, engine):
    fake_openai.default = Reply.good("billing", usage=(300, 25))
    llm = make_llm(engine, openai_daily_token_budget=100_000)

    llm.predict(TEXT)
    llm.predict(TEXT)

    assert llm.budget.used_today() == 2 * 325
    with Session(engine) as session:
        row = session.get(LlmTokenUsage, utc_day())
        assert row is not None and row.tokens == 650 and row.calls == 2


def test_exhausted_budget_falls_back_to_the_local_model_and_says_so(
    make_llm, fake_openai, engine, policies_dir
):
    fake_openai.default = Reply.good("feature_request", usage=(3000, 50))
    llm = make_llm(engine, openai_daily_token_budget=3400)

    first = llm.predict(TEXT)  # fits: reserved ~ 700 (estimate), then settled at 3050
    second = llm.predict(TEXT)  # 3050 + another reservation would pass 3400: no call
    local = llm.local.predict(TEXT)

    assert first.tag == "feature_request" and first.model_version.startswith("openai:")
    assert len(fake_openai.requests) == 1
    assert second.tag == local.tag and second.confidence == local.confidence
    assert second.model_version == local.model_version
    note = next(n for n in second.notes if n.startswith("llm_budget: "))
    assert "3,400" in note
    assert llm.budget.used_today() == 3050

    # When the local model's answer goes to review anyway, the reviewer sees why.
    policies = require_policies(policies_dir, list(llm.tags))
    result = decide("b1", "", second, policies)
    assert result.decision == "review"
    assert any(r.startswith("llm_budget: ") for r in result.reasons)


def test_the_budget_survives_a_restart_and_is_shared_by_processes(make_llm, fake_openai, engine):
    fake_openai.default = Reply.good("billing", usage=(3500, 100))
    make_llm(engine, openai_daily_token_budget=4000).predict(TEXT)

    restarted = make_llm(engine, openai_daily_token_budget=4000)  # a new process, same DB
    prediction = restarted.predict(TEXT)

    assert len(fake_openai.requests) == 1
    assert any(n.startswith("llm_budget") for n in prediction.notes)


def test_db_budget_is_a_hard_cap_under_concurrent_reservations(engine):
    import threading

    budget = DbBudget(engine, limit=1000)
    granted: list[bool] = []
    lock = threading.Lock()

    def grab() -> None:
        ok = budget.reserve(100)
        with lock:
            granted.append(ok)

    threads = [threading.Thread(target=grab) for _ in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert granted.count(True) == 10
    assert budget.used_today() == 1000


def test_failed_calls_keep_their_reservation(make_llm, fake_openai, engine):
    fake_openai.default = Reply.http_error(500)
    llm = make_llm(engine, openai_daily_token_budget=100_000, openai_max_retries=0)

    llm.predict(TEXT)

    assert llm.budget.used_today() > 0  # a failed call is not free: it may have been billed


def test_memory_budget_for_classify_without_a_database(make_llm, fake_openai):
    fake_openai.default = Reply.good("billing", usage=(900, 100))
    llm = make_llm(None, openai_daily_token_budget=1500)

    llm.predict(TEXT)
    over = llm.predict(TEXT)

    assert isinstance(llm.budget, MemoryBudget)
    assert llm.budget.used_today() == 1000
    assert len(fake_openai.requests) == 1
    assert any(n.startswith("llm_budget") for n in over.notes)


def test_zero_budget_never_calls_the_endpoint(make_llm, fake_openai):
    prediction = make_llm(None, openai_daily_token_budget=0).predict(TEXT)

    assert fake_openai.requests == []
    assert any(n.startswith("llm_budget") for n in prediction.notes)
