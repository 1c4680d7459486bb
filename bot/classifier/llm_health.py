"""The `llm` entry of GET /healthz: is the LLM in use, its budget today, and its last failure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.runtime import Runtime


def llm_health(runtime: Runtime) -> tuple[str, Any, bool]:
    """Operators see budget use and the last failure kind (never ticket text)."""
    from bot.classifier.openai_llm import OpenAIClassifier

    classifier = runtime.classifier
    if not isinstance(classifier, OpenAIClassifier):
        return "llm", {"enabled": False}, True
    used = classifier.budget.used_today()
    return (
        "llm",
        {
            "enabled": True,
            "model": classifier.model,
            "tokens_today": used,
            "daily_budget": classifier.budget.limit,
            "over_budget": used >= classifier.budget.limit,
            "last_error": classifier.last_error,
        },
        classifier.last_error is None,
    )
