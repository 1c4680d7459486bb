"""Triage many tickets at once: one model call per batch where the classifier offers it.

A classifier with `predict_many(texts)` featurises a whole batch in one sparse product;
any other classifier is asked text by text. Either way the decisions are the same as
`triage_text` one at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from bot.triage import TriageResult, decide

if TYPE_CHECKING:
    from bot.classifier.base import Classifier, Prediction
    from bot.ownership.modes import EffectiveMode
    from bot.policies import PolicySet


def predict_many(classifier: Classifier, texts: Sequence[str]) -> list[Prediction]:
    """Predictions in input order; batched when the classifier can, one by one otherwise."""
    batched = getattr(classifier, "predict_many", None)
    if batched is not None and len(texts) > 1:
        return list(batched(list(texts)))
    return [classifier.predict(text) for text in texts]


def triage_many(
    items: Sequence[tuple[str, str]],
    classifier: Classifier,
    policies: PolicySet,
    paused: set[str] | frozenset[str] = frozenset(),
    modes: Mapping[str, EffectiveMode] | None = None,
) -> list[TriageResult]:
    """(ticket id, text) pairs -> results, in order."""
    predictions = predict_many(classifier, [text for _, text in items])
    return [
        decide(ticket_id, text, prediction, policies, paused, modes)
        for (ticket_id, text), prediction in zip(items, predictions, strict=True)
    ]
