"""Choosing the model by measurement: candidates compared by cross-validation on the train file.

`triage-bot train --compare` prints the table kept in the README. The held-out test file
is never read here. Each candidate is scored on out-of-fold predictions: accuracy,
macro-F1, log-loss, and the share of tickets it could route at the target precision with
one global confidence threshold (the figure the product promise depends on).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.classifier.calibration import fit_temperature
from bot.classifier.features import analyze
from bot.classifier.keywords import KeywordClassifier
from bot.classifier.local import softmax
from bot.classifier.training import MAX_FEATURES, Example, make_linear

FOLDS = 5


@dataclass(frozen=True)
class Score:
    name: str
    accuracy: float
    macro_f1: float
    log_loss: float | None
    coverage_at_target: float
    seconds_per_fit: float


def coverage_at_precision(confidence: np.ndarray, correct: np.ndarray, target: float) -> float:
    """The largest share of tickets whose top-confidence slice is at least `target` precise."""
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    precision = hits / np.arange(1, len(order) + 1)
    ok = np.nonzero(precision >= target)[0]
    return float((ok.max() + 1) / len(order)) if len(ok) else 0.0


def _identity(doc: list[str]) -> list[str]:
    return doc


def _words_only(doc: list[str]) -> list[str]:
    return [f for f in doc if f.startswith("w:")]


def _vectorizer(analyzer: Callable[[list[str]], list[str]]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer=analyzer, sublinear_tf=True, min_df=2, max_features=MAX_FEATURES, dtype=np.float32
    )


def _linear(kind: str, c: float) -> Callable[[], object]:
    return lambda: make_linear(kind, c)


def _complement_nb():
    from sklearn.naive_bayes import ComplementNB

    return ComplementNB(alpha=0.3)


def _sigmoid_svm():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    return CalibratedClassifierCV(LinearSVC(C=0.5, random_state=0), cv=3, method="sigmoid")


# (name, features, model, whether its scores are logits to put through a fitted temperature)
CANDIDATES: list[tuple[str, Callable[[list[str]], list[str]], Callable[[], object], bool]] = [
    (
        "word 1-2-grams + logistic regression (C=20) + temperature",
        _words_only,
        _linear("logreg", 20.0),
        True,
    ),
    (
        "word + char + logistic regression (C=5) + temperature",
        _identity,
        _linear("logreg", 5.0),
        True,
    ),
    (
        "word + char + logistic regression (C=20) + temperature",
        _identity,
        _linear("logreg", 20.0),
        True,
    ),
    (
        "word + char + logistic regression (C=80) + temperature",
        _identity,
        _linear("logreg", 80.0),
        True,
    ),
    ("word 1-2-grams + linear SVM (C=0.5) + temperature", _words_only, _linear("svm", 0.5), True),
    ("word + char + linear SVM (C=0.1) + temperature", _identity, _linear("svm", 0.1), True),
    ("word + char + linear SVM (C=0.5) + temperature", _identity, _linear("svm", 0.5), True),
    ("word + char + linear SVM (C=2) + temperature", _identity, _linear("svm", 2.0), True),
    ("word + char + linear SVM, sigmoid-calibrated (3-fold)", _identity, _sigmoid_svm, False),
    ("word + char + complement naive Bayes", _identity, _complement_nb, False),
]


def _score(name: str, y: np.ndarray, probs: np.ndarray, target: float, seconds: float) -> Score:
    from sklearn.metrics import f1_score, log_loss

    predicted = probs.argmax(axis=1)
    correct = (predicted == y).astype(float)
    clipped = np.clip(probs, 1e-9, 1.0)
    labels = list(range(probs.shape[1]))
    return Score(
        name=name,
        accuracy=float(correct.mean()),
        macro_f1=float(f1_score(y, predicted, average="macro")),
        log_loss=float(log_loss(y, clipped / clipped.sum(axis=1, keepdims=True), labels=labels)),
        coverage_at_target=coverage_at_precision(probs.max(axis=1), correct, target),
        seconds_per_fit=seconds,
    )


def compare(examples: Sequence[Example], tags: Sequence[str], target: float) -> list[Score]:
    """Out-of-fold scores of every candidate (and the keyword baseline) on `examples`."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
    from threadpoolctl import threadpool_limits

    examples = sorted(examples, key=lambda e: e.key)
    index = {t: i for i, t in enumerate(tags)}
    y = np.array([index[e.tag] for e in examples])
    keywords = KeywordClassifier()
    kw_probs = np.zeros((len(examples), len(tags)))
    for row, e in enumerate(examples):
        scores = keywords.predict(e.text).scores
        kw_probs[row] = [scores.get(t, 0.0) for t in tags]
    kw_probs = kw_probs / kw_probs.sum(axis=1, keepdims=True)
    results = [_score("keywords-v0 (hand-written lexicon, no training)", y, kw_probs, target, 0.0)]
    docs = [analyze(e.text) for e in examples]
    groups = [e.group or e.key for e in examples]
    if len(set(groups)) < len(groups):
        # Hold out whole phrasings, as the test file does: memorised templates score nothing.
        grouped = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=0)
        folds = list(grouped.split(np.zeros(len(y)), y, groups))
    else:
        splitter = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0)
        folds = list(splitter.split(np.zeros(len(y)), y))
    with threadpool_limits(limits=1):
        for name, analyzer, make, logits in CANDIDATES:
            scores = np.full((len(y), len(tags)), -1e9 if logits else 0.0)
            started = time.perf_counter()
            for fit_idx, held_idx in folds:
                vectorizer = _vectorizer(analyzer)
                x_fit = vectorizer.fit_transform([docs[i] for i in fit_idx])
                model = make().fit(x_fit, y[fit_idx])  # type: ignore[attr-defined]
                held = vectorizer.transform([docs[i] for i in held_idx])
                out = model.decision_function(held) if logits else model.predict_proba(held)
                scores[np.ix_(held_idx, model.classes_)] = out
            elapsed = (time.perf_counter() - started) / FOLDS
            # One scalar fitted on the pooled out-of-fold logits, as training does.
            probs = softmax(scores / fit_temperature(scores, y)) if logits else scores
            results.append(_score(name, y, probs, target, elapsed))
    return results


def render_table(scores: Sequence[Score]) -> str:
    """A Markdown table, as kept in the README."""
    lines = [
        f"{FOLDS}-fold cross-validation on the training data, folds grouped by phrasing "
        "(`family`) when the file has it; out-of-fold predictions",
        "",
        "| candidate | accuracy | macro-F1 | log-loss | coverage at target precision | fit s |",
        "|---|---|---|---|---|---|",
    ]
    for s in scores:
        loss = "-" if s.log_loss is None else f"{s.log_loss:.3f}"
        lines.append(
            f"| {s.name} | {s.accuracy:.3f} | {s.macro_f1:.3f} | {loss} | "
            f"{s.coverage_at_target:.1%} | {s.seconds_per_fit:.1f} |"
        )
    return "\n".join(lines)
