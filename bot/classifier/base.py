"""The classifier interface: every classifier (keyword v0, trained local, OpenAI) plugs in here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from operator import itemgetter
from typing import Protocol

from bot.frozen import fast_init

DEFAULT_TAGS: tuple[str, ...] = (
    "account_access",
    "billing",
    "bug",
    "cancellation",
    "feature_request",
    "how_to",
    "positive_feedback",
    "security",
)


_SCORE = itemgetter(1)  # of a (tag, probability) pair


class ModelFileError(RuntimeError):
    """A model file is missing or unreadable; the message names it and how to rebuild it."""


class Sentiment(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


@fast_init
@dataclass(frozen=True)
class Prediction:
    """A classifier's answer for one text, before policies and guardrails are applied."""

    tag: str
    confidence: float
    sentiment: Sentiment
    scores: dict[str, float]
    model_version: str
    notes: list[str] = field(default_factory=list)
    # The model's own auto-route threshold for `tag`, learned on calibration data; used by
    # policies with `threshold: calibrated`. None: this classifier has none (policy default
    # applies); math.inf: no threshold could be shown to meet the target precision.
    calibrated_threshold: float | None = None
    # The model's calibrated threshold of every tag (same meaning as calibrated_threshold),
    # for a decision that proposes another tag than the top one. None: not known.
    tag_thresholds: Mapping[str, float] | None = None

    def runner_up(self) -> tuple[str, float] | None:
        """The second-best tag and its probability, for the ambiguity guardrail."""
        ranked = sorted(self.scores.items(), key=_SCORE, reverse=True)
        return ranked[1] if len(ranked) > 1 else None


class Classifier(Protocol):
    """What the triage pipeline needs from a classifier."""

    version: str
    tags: tuple[str, ...]

    def predict(self, text: str) -> Prediction:
        """Classify one ticket text. Must not raise on any string input."""
        ...
