"""Classifiers behind one interface; `load_classifier` picks one from the settings."""

from __future__ import annotations

from bot.classifier.base import DEFAULT_TAGS, Classifier, Prediction, Sentiment
from bot.classifier.keywords import KeywordClassifier

__all__ = ["DEFAULT_TAGS", "Classifier", "KeywordClassifier", "Prediction", "Sentiment"]


def load_classifier(name: str = "local") -> Classifier:
    """The classifier named by the CLASSIFIER setting."""
    if name == "local":
        return KeywordClassifier()
    raise ValueError(f"CLASSIFIER={name!r} is not available in this build; use 'local'")
