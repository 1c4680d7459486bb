"""Thresholds cross-fitted on a team's real history, then one model fitted on all of it.

Holding out a fixed share of 1,500 tickets leaves a few hundred to prove a 97% lower bound
of precision, which they rarely can. Cross-fitting uses every real ticket as held-out
evidence exactly once: the real tickets are cut into CROSS_FIT_FOLDS folds (by a hash of
their key), a model fitted on the other folds (plus the base examples) scores each fold,
and temperature and thresholds are chosen on those out-of-fold scores. The model that
ships is then fitted on all real tickets; its thresholds come from models that saw less
data, which errs on the side of caution. Synthetic examples are never scored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

from bot.classifier.calibration import (
    TagThreshold,
    choose_threshold,
    expected_calibration_error,
    fit_temperature,
)
from bot.classifier.local import LocalModel, ModelArrays, softmax
from bot.classifier.training import (
    SCORE_ROWS,
    Example,
    TrainReport,
    cap_fit_rows,
    choose_unfamiliar,
    train,
)

CROSS_FIT_FOLDS = 4
MIN_POOL_SUPPORT = 20  # held-out real tickets a tag needs before it may share the pooled threshold


def fold_of(key: str, folds: int = CROSS_FIT_FOLDS) -> int:
    digest = hashlib.sha256(f"fold:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % folds


def choose_all(
    probs: np.ndarray,
    truth: np.ndarray,
    tags: Sequence[str],
    target: float,
    confidence: float,
) -> tuple[list[TagThreshold], dict[str, object]]:
    """Per-tag thresholds, and the pooled one for tags too thin to prove their own.

    A tag takes the pooled threshold (the lowest that meets the target over all held-out
    tickets together) only with at least MIN_POOL_SUPPORT held-out tickets of its own and
    its own held-out precision above it at the target too; a tag missing from the real
    data never does.
    """
    predicted = probs.argmax(axis=1)
    top = probs.max(axis=1)
    right = predicted == truth
    chosen = [
        choose_threshold(tag, top[predicted == i], right[predicted == i], target, confidence)
        for i, tag in enumerate(tags)
    ]
    pooled = choose_threshold("*", top, right, target, confidence)
    took: list[str] = []
    if pooled.threshold is not None:
        for i, current in enumerate(chosen):
            if current.threshold is not None:
                continue
            mine = (predicted == i) & (top >= pooled.threshold)
            if int((truth == i).sum()) < MIN_POOL_SUPPORT or not mine.any():
                continue
            if right[mine].mean() < target:
                continue
            chosen[i] = TagThreshold(
                current.tag,
                pooled.threshold,
                int(mine.sum()),
                int(right[mine].sum()),
                pooled.lower_bound,
                current.predicted,
            )
            took.append(current.tag)
    return chosen, {**pooled.as_dict(), "tags": took}


def cross_fit(
    real: Sequence[Example],
    base: Sequence[Example],
    tags: Sequence[str],
    target: float,
    confidence: float,
    progress: Callable[[str], None] | None = None,
    **train_options: object,
) -> tuple[ModelArrays, TrainReport]:
    """Fit on all of `real` + `base`; temperature and thresholds from out-of-fold scores.

    The fold models and the final one are fitted without calibrating themselves (these
    out-of-fold scores replace it), and each held-out fold is scored SCORE_ROWS at a time:
    memory is that of one fit, whatever the number of real tickets. `progress` gets a line
    per model fitted."""
    logits: list[np.ndarray] = []
    truth: list[int] = []
    held_familiarity: list[np.ndarray] = []
    index = {t: i for i, t in enumerate(tags)}
    fold = [fold_of(e.key) for e in real]
    folds = [[e for e, f in zip(real, fold, strict=True) if f == k] for k in range(CROSS_FIT_FOLDS)]
    models = sum(1 for held in folds if held) + 1
    done = 0
    for k, held in enumerate(folds):
        if not held:
            continue
        rest = [e for e, f in zip(real, fold, strict=True) if f != k]
        done += 1
        if progress is not None:
            fitted = len(cap_fit_rows([*rest, *base]))
            progress(
                f"cross-fitting: model {done} of {models}, fitted on {fitted:,} tickets, "
                f"scoring {len(held):,}"
            )
        arrays_k, _ = train(
            [*rest, *base],
            tags,
            target,
            confidence,
            calibration=held,
            calibrate=False,
            **train_options,  # type: ignore[arg-type]
        )
        del rest
        model_k = LocalModel(arrays_k)
        for start in range(0, len(held), SCORE_ROWS):
            texts = [e.text for e in held[start : start + SCORE_ROWS]]
            logits.append(model_k.logits_many(texts))
            familiar = model_k.familiarity_many(texts)
            if familiar is not None:
                held_familiarity.append(familiar)
        truth.extend(index[e.tag] for e in held)
    scores, labels = np.concatenate(logits), np.array(truth)
    temperature = fit_temperature(scores, labels)
    probs = softmax(scores / temperature)
    chosen, pooled = choose_all(probs, labels, tags, target, confidence)
    if progress is not None:
        fitted = len(cap_fit_rows([*real, *base]))
        progress(
            f"cross-fitting: model {models} of {models} (the final one), "
            f"fitted on {fitted:,} tickets"
        )
    arrays, report = train(
        [*real, *base],
        tags,
        target,
        confidence,
        calibration=list(real),
        calibrate=False,
        **train_options,  # type: ignore[arg-type]
    )
    meta = arrays.meta
    meta.update(
        temperature=temperature,
        thresholds={t.tag: t.threshold for t in chosen},
        threshold_evidence=[t.as_dict() for t in chosen],
        pooled_threshold=pooled,
        n_fit=report.n_fit,  # after the cap (n_fit_available: before)
        n_calibration=len(real),
        calibration=f"cross-fitted: {CROSS_FIT_FOLDS} folds over {len(real)} real tickets",
    )
    if held_familiarity and isinstance(meta.get("unfamiliar"), dict):
        # Out-of-fold familiarity, like the thresholds: the final model saw every real ticket.
        threshold, evidence = choose_unfamiliar(np.concatenate(held_familiarity), None)
        meta["unfamiliar"] = {**meta["unfamiliar"], "threshold": threshold, "evidence": evidence}
    top = probs.max(axis=1)
    right = probs.argmax(axis=1) == labels
    return arrays, TrainReport(
        version=report.version,
        n_fit=report.n_fit,  # after the cap (n_fit_available: before)
        n_calibration=len(real),
        n_human=report.n_human,
        temperature=temperature,
        thresholds=chosen,
        calibration_accuracy=float(right.mean()),
        calibration_ece=expected_calibration_error(top, right.astype(float)),
        meta=meta,
    )
