"""Thresholds with a finite-sample guarantee, and calibration measures.

Per tag, the auto-route threshold is the lowest confidence t such that, on held-out
calibration tickets predicted as that tag with confidence >= t, the one-sided
Clopper-Pearson lower bound of precision is at least the target. Thresholds are tested
from high to low in a fixed sequence and the scan stops at the first failure
(fixed-sequence testing, as in "Learn then Test"), so choosing among many thresholds does
not spend the error budget: with probability >= `confidence`, the precision of the chosen
threshold on tickets like the calibration ones is at least the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def clopper_pearson_lower(successes: int, trials: int, confidence: float = 0.95) -> float:
    """One-sided lower confidence bound of a binomial proportion (exact, conservative)."""
    if trials <= 0 or successes <= 0:
        return 0.0
    from scipy.stats import beta  # imported here: serving never needs scipy

    return float(beta.ppf(1.0 - confidence, successes, trials - successes + 1))


def min_trials(target: float, confidence: float = 0.95) -> int:
    """The fewest tickets that could prove `target` precision even with no mistakes."""
    return max(1, math.ceil(math.log(1.0 - confidence) / math.log(target)))


@dataclass(frozen=True)
class TagThreshold:
    """The chosen threshold for one tag and the evidence behind it."""

    tag: str
    threshold: float | None  # None: no threshold can be shown to meet the target
    support: int  # calibration tickets predicted as this tag at or above the threshold
    correct: int
    lower_bound: float
    predicted: int  # calibration tickets predicted as this tag at all

    def as_dict(self) -> dict[str, object]:
        return {
            "tag": self.tag,
            "threshold": self.threshold,
            "support": self.support,
            "correct": self.correct,
            "lower_bound": round(self.lower_bound, 4),
            "predicted": self.predicted,
        }


def choose_threshold(
    tag: str,
    confidences: np.ndarray,
    correct: np.ndarray,
    target: float,
    confidence: float = 0.95,
) -> TagThreshold:
    """The lowest threshold whose precision lower bound meets `target` (fixed-sequence scan).

    `confidences` and `correct` cover the calibration tickets *predicted* as `tag`.
    """
    order = np.argsort(-confidences, kind="stable")
    conf = confidences[order]
    ok = correct[order].astype(int)
    hits = np.cumsum(ok)
    need = min_trials(target, confidence)
    best: TagThreshold | None = None
    i = 0
    size = len(conf)
    while i < size:
        # All tickets with the same confidence enter together.
        j = i
        while j + 1 < size and conf[j + 1] == conf[i]:
            j += 1
        trials, successes = j + 1, int(hits[j])
        i = j + 1
        if trials < need:
            continue  # too few tickets to test yet; skipping depends on scores only
        bound = clopper_pearson_lower(successes, trials, confidence)
        if bound < target:
            break
        best = TagThreshold(tag, float(conf[j]), trials, successes, bound, size)
    if best is None:
        return TagThreshold(tag, None, 0, 0, 0.0, size)
    return best


def expected_calibration_error(
    confidences: np.ndarray, correct: np.ndarray, bins: int = 10
) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width bins."""
    if len(confidences) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidences, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.mean() * abs(confidences[mask].mean() - correct[mask].mean())
    return float(total)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The softmax temperature that minimises log-loss on held-out logits (grid, deterministic)."""
    best_t, best_loss = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.05), math.log(5.0), 161)):
        scaled = logits / t
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        logp = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(len(labels)), labels].mean()
        if loss < best_loss - 1e-12:
            best_t, best_loss = float(t), float(loss)
    return best_t
