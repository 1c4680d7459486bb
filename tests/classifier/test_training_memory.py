"""Training in bounded memory: at most MAX_FIT_ROWS fitted (an equal share per tag), held-out
tickets scored a block at a time, and cross-fitting's models never calibrating themselves."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from bot.classifier import crossfit, training
from bot.classifier.base import DEFAULT_TAGS
from bot.classifier.training import Example, cap_fit_rows, train
from tests.classifier.conftest import SMALL, as_examples, small_rows


def tagged(counts: dict[str, int], prefix: str = "file") -> list[Example]:
    return [
        Example(f"{prefix}:{tag}-{n}", f"text {n}", tag)
        for tag, count in counts.items()
        for n in range(count)
    ]


def test_a_cap_keeps_every_small_tag_whole_and_an_equal_share_of_the_large_ones():
    examples = tagged({"a": 5, "b": 30, "c": 100, "d": 200})
    kept = cap_fit_rows(examples, 85)
    per_tag = Counter(e.tag for e in kept)
    # "a" keeps its 5 (under 85 // 4); the 80 left make 26 each for b, c and d (b has more).
    assert per_tag == {"a": 5, "b": 26, "c": 26, "d": 26}
    assert len(kept) <= 85
    assert [e for e in examples if e in kept] == kept  # the given order is kept
    assert cap_fit_rows(examples, 1000) == examples  # under the cap: untouched


def test_a_cap_prefers_human_decisions_and_does_not_depend_on_the_input_order():
    examples = tagged({"a": 50}) + tagged({"a": 3}, prefix="human")
    kept = cap_fit_rows(examples, 10)
    assert {e.key for e in kept} >= {"human:a-0", "human:a-1", "human:a-2"}
    shuffled = list(examples)
    random.Random(3).shuffle(shuffled)
    assert {e.key for e in cap_fit_rows(shuffled, 10)} == {e.key for e in kept}


def test_a_capped_fit_says_so_and_a_model_under_the_cap_keeps_its_version(
    monkeypatch: pytest.MonkeyPatch,
):
    examples = as_examples(small_rows(40))
    whole, _ = train(examples, DEFAULT_TAGS, target_precision=0.8, **SMALL)
    assert "max_fit_rows" not in whole.meta["params"] and "n_fit_available" not in whole.meta

    monkeypatch.setattr(training, "MAX_FIT_ROWS", 80)
    capped, report = train(examples, DEFAULT_TAGS, target_precision=0.8, **SMALL)
    fitted = whole.meta["n_fit"]
    assert report.n_fit == capped.meta["n_fit"] <= 80 < fitted == capped.meta["n_fit_available"]
    assert capped.meta["params"]["max_fit_rows"] == 80
    assert f"fitted on {report.n_fit} of {fitted} (at most 80" in report.lines()[0]
    assert capped.meta["version"] != whole.meta["version"]

    monkeypatch.setattr(training, "MAX_FIT_ROWS", 10_000)
    again, _ = train(examples, DEFAULT_TAGS, target_precision=0.8, **SMALL)
    assert again.meta["version"] == whole.meta["version"]
    assert np.array_equal(again.coef, whole.coef)


def test_a_model_fitted_without_calibrating_is_the_same_model_with_no_thresholds():
    rows = as_examples(small_rows(40))
    fit_part, held = rows[::2], rows[1::2]
    calibrated, _ = train(fit_part, DEFAULT_TAGS, 0.8, calibration=held, **SMALL)
    bare, _ = train(fit_part, DEFAULT_TAGS, 0.8, calibration=held, calibrate=False, **SMALL)
    assert bare.meta["version"] == calibrated.meta["version"]
    for name in ("idf", "coef", "intercept", "emb_coef", "prototypes"):
        assert np.array_equal(getattr(bare, name), getattr(calibrated, name)), name
    assert bare.terms == calibrated.terms
    assert set(bare.meta["thresholds"].values()) == {None}
    assert any(t is not None for t in calibrated.meta["thresholds"].values())
    assert bare.meta["unfamiliar"]["threshold"] is None


def test_cross_fitting_reports_what_its_final_model_was_fitted_on(
    monkeypatch: pytest.MonkeyPatch,
):
    real = as_examples(small_rows(30))
    monkeypatch.setattr(training, "MAX_FIT_ROWS", 120)
    arrays, report = crossfit.cross_fit(real, [], DEFAULT_TAGS, 0.8, 0.95, **SMALL)
    assert report.n_fit == arrays.meta["n_fit"] <= 120
    assert arrays.meta["n_fit_available"] == len(real) == arrays.meta["n_calibration"]


def test_cross_fitting_scores_held_out_blocks_exactly_as_it_would_score_them_whole(
    monkeypatch: pytest.MonkeyPatch,
):
    real = as_examples(small_rows(30))
    lines: list[str] = []
    whole, _ = crossfit.cross_fit(real, [], DEFAULT_TAGS, 0.8, 0.95, lines.append, **SMALL)
    assert lines[0].startswith("cross-fitting: model 1 of 5")
    assert lines[-1].startswith("cross-fitting: model 5 of 5")

    monkeypatch.setattr(crossfit, "SCORE_ROWS", 7)
    monkeypatch.setattr(training, "SCORE_ROWS", 7)
    blocks, _ = crossfit.cross_fit(real, [], DEFAULT_TAGS, 0.8, 0.95, **SMALL)
    assert whole.meta["n_fit"] == blocks.meta["n_fit"] == len(real)
    for key in ("temperature", "thresholds", "threshold_evidence", "pooled_threshold"):
        assert blocks.meta[key] == whole.meta[key], key
    assert blocks.meta["unfamiliar"] == whole.meta["unfamiliar"]
    assert np.array_equal(blocks.coef, whole.coef)
