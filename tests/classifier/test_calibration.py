"""The threshold guarantee: Clopper-Pearson bounds and the fixed-sequence threshold scan."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.classifier.calibration import (
    choose_threshold,
    clopper_pearson_lower,
    expected_calibration_error,
    fit_temperature,
    min_trials,
)
from bot.classifier.local import softmax


def test_clopper_pearson_lower_bound_matches_the_closed_form_for_all_successes():
    # With n successes out of n, the one-sided bound is (1 - confidence) ** (1 / n).
    for n in (10, 99, 250):
        assert clopper_pearson_lower(n, n, 0.95) == pytest.approx(0.05 ** (1 / n), rel=1e-9)


def test_clopper_pearson_lower_bound_is_below_the_point_estimate_and_tightens_with_n():
    small = clopper_pearson_lower(97, 100)
    large = clopper_pearson_lower(970, 1000)
    assert small < 0.97 and large < 0.97
    assert large > small
    assert clopper_pearson_lower(0, 10) == 0.0 and clopper_pearson_lower(0, 0) == 0.0


def test_min_trials_is_the_smallest_perfect_record_that_proves_the_target():
    need = min_trials(0.97, 0.95)
    assert clopper_pearson_lower(need, need) >= 0.97
    assert clopper_pearson_lower(need - 1, need - 1) < 0.97


def test_threshold_is_the_lowest_that_keeps_the_bound_above_target():
    # 300 confident right answers, then a zone where every other answer is wrong.
    conf = np.concatenate([np.linspace(0.99, 0.70, 300), np.linspace(0.69, 0.40, 100)])
    correct = np.concatenate([np.ones(300, bool), np.arange(100) % 2 == 0])
    chosen = choose_threshold("billing", conf, correct, target=0.97)
    assert chosen.threshold is not None
    above = conf >= chosen.threshold
    assert chosen.support == int(above.sum()) and chosen.correct == int(correct[above].sum())
    assert chosen.lower_bound >= 0.97
    # One step lower the bound would fail: it is the lowest such threshold.
    lower = conf[~above].max()
    mask = conf >= lower
    assert clopper_pearson_lower(int(correct[mask].sum()), int(mask.sum())) < 0.97


def test_scan_stops_at_the_first_failure_even_if_a_lower_threshold_would_pass_again():
    # Errors concentrated just below the top slice, then a long run of right answers:
    # a point-estimate search would pick a low threshold; the fixed sequence must not.
    conf = np.linspace(0.999, 0.3, 1200)
    correct = np.ones(1200, bool)
    correct[120:135] = False  # 15 errors right after the first 120
    chosen = choose_threshold("bug", conf, correct, target=0.97)
    assert chosen.threshold is not None and chosen.threshold > conf[135]
    overall = clopper_pearson_lower(int(correct.sum()), 1200)
    assert overall >= 0.97  # the whole set passes, yet the scan stopped earlier


def test_too_little_calibration_data_gives_no_threshold():
    chosen = choose_threshold("security", np.full(20, 0.99), np.ones(20, bool), target=0.97)
    assert chosen.threshold is None and chosen.support == 0


def test_expected_calibration_error_is_zero_when_calibrated_and_large_when_overconfident():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.5, 1.0, 20_000)
    calibrated = rng.uniform(size=conf.size) < conf
    assert expected_calibration_error(conf, calibrated.astype(float)) < 0.02
    overconfident = np.full(1000, 0.99)
    half_right = (np.arange(1000) % 2).astype(float)
    assert expected_calibration_error(overconfident, half_right) == pytest.approx(0.49)


def test_temperature_fit_recovers_the_temperature_of_the_data():
    rng = np.random.default_rng(1)
    true_logits = rng.normal(0, 3, size=(4000, 5))
    labels = np.array([rng.choice(5, p=p) for p in softmax(true_logits)])
    # The model's logits are the true ones times 2: the right temperature is about 2.
    fitted = fit_temperature(true_logits * 2, labels)
    assert math.isclose(fitted, 2.0, rel_tol=0.15)
