"""Classifiers behind one interface; `load_classifier` picks one from the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.classifier.base import DEFAULT_TAGS, Classifier, Prediction, Sentiment

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.classifier.keywords import KeywordClassifier
    from bot.settings import Settings

__all__ = ["DEFAULT_TAGS", "Classifier", "KeywordClassifier", "Prediction", "Sentiment"]


def __getattr__(name: str) -> type[KeywordClassifier]:
    """`KeywordClassifier` on first use: the settings import this package for its base
    types, and the keyword rules' regexes are compiled only by a process that uses them."""
    if name == "KeywordClassifier":
        from bot.classifier.keywords import KeywordClassifier

        return KeywordClassifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_classifier(
    name: str = "local", *, settings: Settings | None = None, engine: Engine | None = None
) -> Classifier:
    """The classifier named by the CLASSIFIER setting.

    `engine` (the bot's store) lets CLASSIFIER=openai share its token budget and
    calibration data across processes; without it (`classify`) they live in memory.
    """
    from bot.classifier.heap import keep_arrays_in_heap
    from bot.classifier.sentiment import tone_model

    keep_arrays_in_heap()  # batches of tickets allocate and free large arrays all the time
    tone_model()  # the tone model every classifier's guardrails read: loaded now, not mid-queue
    if name == "local":
        from bot.classifier.local import load_local_model

        return load_local_model(settings)
    if name == "keywords":
        from bot.classifier.keywords import KeywordClassifier

        return KeywordClassifier()
    if name == "openai":
        from bot.classifier.openai_llm import build_openai_classifier
        from bot.settings import Settings

        local = load_classifier("local", settings=settings, engine=engine)
        return build_openai_classifier(settings or Settings(), local, engine)
    raise ValueError(f"CLASSIFIER={name!r} is not available in this build; use 'local'")
