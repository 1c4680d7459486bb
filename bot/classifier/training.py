"""Training the local model: labelled file + human decisions → model file with thresholds.

Steps (all deterministic):
1. examples = the labelled file's rows plus every human decision in the store
   (an approve confirms the proposed tag, a reassign gives the corrected tag);
2. a fixed, hash-based split of the examples into a fit part and a calibration part;
3. TF-IDF (word 1-2-grams + character 3-5-grams) and multinomial logistic regression
   fitted on the fit part; a softmax temperature chosen on out-of-fold logits of it;
4. per tag, the lowest threshold whose Clopper-Pearson lower bound of precision on the
   calibration part meets the target (bot.classifier.calibration).
The shipped model is exactly the one the thresholds were measured for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bot.classifier.calibration import (
    TagThreshold,
    choose_threshold,
    expected_calibration_error,
    fit_temperature,
)
from bot.classifier.features import analyze
from bot.classifier.local import FORMAT, ModelArrays, softmax
from bot.intake.files import read_ticket_file

CALIBRATION_SHARE = 40  # percent of examples held out of fitting to set thresholds
MAX_FEATURES = 60_000
# The model kind and its regularisation were chosen by `triage-bot train --compare`.
DEFAULT_KIND = "svm"
DEFAULT_C = {"logreg": 20.0, "svm": 0.5}
TEMPERATURE_FOLDS = 5


@dataclass(frozen=True)
class Example:
    key: str  # a stable id: "file:<ticket id>" or "human:<ticket id>"
    text: str
    tag: str
    group: str = ""  # the file's optional `family` column: rows built from one phrasing


@dataclass(frozen=True)
class LabelProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class LabelledRow:
    line: int
    ticket_id: str
    text: str
    tag: str
    raw: dict[str, Any]


def read_labelled_file(
    path: Path, tags: Sequence[str], fmt: str | None = None
) -> tuple[list[LabelledRow], list[LabelProblem]]:
    """Rows with a known `tag`; every other row is a problem with its line number."""
    rows: list[LabelledRow] = []
    problems: list[LabelProblem] = []
    known = set(tags)
    for row in read_ticket_file(path, fmt):
        if row.ticket is None:
            problems.append(
                LabelProblem(row.line, row.problem.message if row.problem else "unusable row")
            )
            continue
        raw = row.raw or {}
        tag = str(raw.get("tag") or "").strip()
        if not tag:
            problems.append(LabelProblem(row.line, f"ticket {row.ticket.id}: no label in 'tag'"))
            continue
        if tag not in known:
            problems.append(
                LabelProblem(
                    row.line,
                    f"ticket {row.ticket.id}: unknown tag {tag!r} (known: {', '.join(tags)})",
                )
            )
            continue
        rows.append(LabelledRow(row.line, row.ticket.id, row.ticket.text, tag, dict(raw)))
    return rows, problems


def file_examples(rows: Iterable[LabelledRow]) -> list[Example]:
    return [
        Example(f"file:{r.ticket_id}", r.text, r.tag, str(r.raw.get("family") or "").strip())
        for r in rows
    ]


def is_calibration(key: str) -> bool:
    """A fixed assignment by hash: the same example always lands in the same part."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < CALIBRATION_SHARE


def make_vectorizer(max_features: int = MAX_FEATURES):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer=analyze, sublinear_tf=True, min_df=2, max_features=max_features, dtype=np.float32
    )


def make_logreg(c: float = 20.0):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=3000)


def make_svm(c: float = 0.5):
    from sklearn.svm import LinearSVC

    return LinearSVC(C=c, max_iter=20_000, random_state=0)


def make_linear(kind: str, c: float):
    """The linear model behind the logits: logistic regression or a linear SVM."""
    if kind == "logreg":
        return make_logreg(c)
    if kind == "svm":
        return make_svm(c)
    raise ValueError(f"unknown model kind {kind!r}; use 'logreg' or 'svm'")


def _label_index(examples: Sequence[Example], tags: Sequence[str]) -> np.ndarray:
    index = {t: i for i, t in enumerate(tags)}
    return np.array([index[e.tag] for e in examples])


def out_of_fold_logits(x, y: np.ndarray, c: float, folds: int, kind: str = "logreg") -> np.ndarray:
    """Logits for each row from a model that did not see it (stratified K-fold, fixed seed)."""
    from sklearn.model_selection import StratifiedKFold

    logits = np.zeros((x.shape[0], int(y.max()) + 1))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for fit_idx, held_idx in splitter.split(np.zeros(len(y)), y):
        model = make_linear(kind, c).fit(x[fit_idx], y[fit_idx])
        scores = model.decision_function(x[held_idx])
        logits[np.ix_(held_idx, model.classes_)] = scores
    return logits


def to_arrays(vectorizer, model, n_tags: int, meta: dict[str, Any]) -> ModelArrays:
    """A fitted scikit-learn vectorizer + logistic regression as the model file's arrays."""
    coef = np.zeros((n_tags, len(vectorizer.idf_)))
    intercept = np.zeros(n_tags)
    coef[model.classes_] = model.coef_
    intercept[model.classes_] = model.intercept_
    return ModelArrays(
        terms=[str(t) for t in vectorizer.get_feature_names_out()],
        idf=vectorizer.idf_.astype(np.float32),
        coef=coef.T.astype(np.float32),
        intercept=intercept.astype(np.float32),
        meta=meta,
    )


@dataclass
class TrainReport:
    """What a training run did: sizes, thresholds, calibration figures."""

    version: str
    n_fit: int
    n_calibration: int
    n_human: int
    temperature: float
    thresholds: list[TagThreshold]
    calibration_accuracy: float
    calibration_ece: float
    meta: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [
            f"model {self.version}: fitted on {self.n_fit} tickets "
            f"({self.n_human} from human decisions), calibrated on {self.n_calibration}",
            f"temperature {self.temperature:.3f}; calibration accuracy {self.calibration_accuracy:.3f}, "
            f"ECE {self.calibration_ece:.3f}",
            f"{'tag':<18} {'threshold':>9} {'support':>8} {'correct':>8} {'lower bound':>11}",
        ]
        for t in self.thresholds:
            shown = "never" if t.threshold is None else f"{t.threshold:.4f}"
            out.append(
                f"{t.tag:<18} {shown:>9} {t.support:>8} {t.correct:>8} {t.lower_bound:>11.4f}"
            )
        return out


def _version(examples: Sequence[Example], params: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for e in examples:
        digest.update(f"{e.key}\x00{e.tag}\x00{e.text}\x01".encode())
    short = {"logreg": "lr"}.get(str(params.get("kind")), str(params.get("kind")))
    return f"tfidf-{short}-{digest.hexdigest()[:12]}"


def train(
    examples: Sequence[Example],
    tags: Sequence[str],
    target_precision: float = 0.97,
    confidence: float = 0.95,
    c: float | None = None,
    max_features: int = MAX_FEATURES,
    folds: int = TEMPERATURE_FOLDS,
    kind: str = DEFAULT_KIND,
    calibration: Sequence[Example] | None = None,
) -> tuple[ModelArrays, TrainReport]:
    """Fit, calibrate and choose thresholds; deterministic for the same examples.

    `calibration`: held-out examples (a team's real history) on which the temperature and
    thresholds are chosen; `examples` are then all fitted. Without it, a fixed hash split
    of `examples` holds out the calibration part.
    """
    from threadpoolctl import threadpool_limits

    c = DEFAULT_C[kind] if c is None else c
    # One BLAS thread: multi-threaded reductions may differ in the last bits between runs.
    with threadpool_limits(limits=1):
        return _train(
            examples, tags, target_precision, confidence, c, max_features, folds, kind, calibration
        )


def _train(
    examples: Sequence[Example],
    tags: Sequence[str],
    target_precision: float,
    confidence: float,
    c: float,
    max_features: int,
    folds: int,
    kind: str,
    calibration: Sequence[Example] | None = None,
) -> tuple[ModelArrays, TrainReport]:
    examples = sorted(examples, key=lambda e: e.key)
    present = {e.tag for e in examples}
    missing = [t for t in tags if t not in present]
    if missing:
        raise ValueError(f"no training examples for tag(s): {', '.join(missing)}")
    if calibration is None:
        fit = [e for e in examples if not is_calibration(e.key)]
        calib = [e for e in examples if is_calibration(e.key)]
    else:
        fit, calib = list(examples), sorted(calibration, key=lambda e: e.key)
    if not calib or not {e.tag for e in fit} >= set(tags):
        raise ValueError("too few examples to split into fit and calibration parts")
    y_fit = _label_index(fit, tags)
    y_cal = _label_index(calib, tags)
    vectorizer = make_vectorizer(max_features)
    x_fit = vectorizer.fit_transform([e.text for e in fit])
    x_cal = vectorizer.transform([e.text for e in calib])
    model = make_linear(kind, c).fit(x_fit, y_fit)
    if calibration is None:
        smallest = int(np.bincount(y_fit, minlength=len(tags)).min())
        oof = out_of_fold_logits(x_fit, y_fit, c, max(2, min(folds, smallest)), kind)
        temperature = fit_temperature(oof, y_fit)
    else:  # the held-out (real) tickets set the temperature too, not the fitted ones
        temperature = fit_temperature(model.decision_function(x_cal), y_cal)

    probs = softmax(model.decision_function(x_cal) / temperature)
    predicted = probs.argmax(axis=1)
    top = probs.max(axis=1)
    right = predicted == y_cal
    chosen = [
        choose_threshold(
            tag, top[predicted == i], right[predicted == i], target_precision, confidence
        )
        for i, tag in enumerate(tags)
    ]
    params = {
        "kind": kind,
        "c": c,
        "max_features": max_features,
        "folds": folds,
        "calibration_share": CALIBRATION_SHARE,
        "target_precision": target_precision,
        "confidence": confidence,
        "format": FORMAT,
    }
    if calibration is not None:
        params["held_out"] = "given"
    version = _version([*examples, *(calibration or [])], params)
    n_human = sum(1 for e in fit if e.key.startswith("human:"))
    meta = {
        "format": FORMAT,
        "version": version,
        "tags": list(tags),
        "temperature": temperature,
        "thresholds": {t.tag: t.threshold for t in chosen},
        "threshold_evidence": [t.as_dict() for t in chosen],
        "target_precision": target_precision,
        "confidence": confidence,
        "params": params,
        "n_fit": len(fit),
        "n_calibration": len(calib),
        "n_human": sum(1 for e in [*fit, *calib] if e.key.startswith("human:")),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    arrays = to_arrays(vectorizer, model, len(tags), meta)
    report = TrainReport(
        version=version,
        n_fit=len(fit),
        n_calibration=len(calib),
        n_human=n_human,
        temperature=temperature,
        thresholds=chosen,
        calibration_accuracy=float(right.mean()),
        calibration_ece=expected_calibration_error(top, right.astype(float)),
        meta=meta,
    )
    return arrays, report
