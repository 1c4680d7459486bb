"""Metrics and digest numbers against the hand-computed history in tests/digest/seed.py,
on a SQLite file and on PostgreSQL. Expected values are worked out by hand, not by
calling the code under test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.db import make_engine
from bot.digest.build import build_digest
from bot.metrics import bootstrap_change, collect, outcome_change
from bot.store import Store
from tests.digest.seed import D, seed

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url: str):
    store = Store(make_engine(database_url))
    seed(store)
    yield store
    store.engine.dispose()


def test_report_day_numbers_match_the_hand_computed_fixture(store: Store):
    day = collect(store, ZoneInfo("UTC"), D - timedelta(days=7), D).bucket(D)
    assert day.volume == 8
    assert (day.proposed, day.auto, day.auto_wrong) == (8, 4, 1)
    assert day.automation_rate == pytest.approx(0.5)
    assert day.precision == pytest.approx(0.75)  # T2 was corrected
    assert day.reviewed == 4 and day.human_decided == 3  # T7 still waits
    for action in ("approve", "reassign", "not_sure"):
        assert day.rate(action) == pytest.approx(1 / 3)
    # first human touch: T3 10, T5 20, T4 30 min
    assert day.p(day.touch_minutes, 50) == pytest.approx(20)
    assert day.p(day.touch_minutes, 90) == pytest.approx(28)  # 20 + 0.8 * (30 - 20)
    # time to route: 0.5, 1, 2, 3, 10, 30, 60 min
    assert day.p(day.route_minutes, 50) == pytest.approx(3)
    assert day.p(day.route_minutes, 90) == pytest.approx(42)  # 30 + 0.4 * (60 - 30)
    assert day.claim_minutes == [pytest.approx(30)]
    assert (day.pages, day.paged_tickets) == (3, {"T5", "T7"})
    assert dict(day.guardrails) == {"low_confidence": 3, "sarcasm": 1, "classifier_error": 1}
    assert dict(day.confusion) == {
        ("billing", "billing"): 3,  # T1, T3, T8
        ("billing", "bug"): 1,  # T2 corrected
        ("bug", "billing"): 1,  # T4 reassigned
        ("bug", "bug"): 1,  # T6 (T5's classification failed: left out)
    }


def test_per_policy_numbers_and_the_previous_week(store: Store):
    metrics = collect(store, ZoneInfo("UTC"), D - timedelta(days=7), D)
    billing, bug = metrics.bucket(D, "billing"), metrics.bucket(D, "bug")
    assert (billing.volume, billing.auto, billing.auto_wrong, billing.pages) == (5, 3, 1, 2)
    assert billing.precision == pytest.approx(2 / 3)
    assert (bug.volume, bug.auto, bug.auto_wrong, bug.pages) == (3, 1, 0, 1)
    assert bug.precision == pytest.approx(1.0)
    week = metrics.over([D - timedelta(days=i) for i in range(1, 8)])
    assert (week.volume, week.auto, week.auto_wrong) == (5, 5, 0)  # P1–P4 and X1
    assert week.p(week.route_minutes, 50) == pytest.approx(5)  # 5, 5, 5, 5, 10
    assert metrics.bucket(D - timedelta(days=3)).volume == 4


def test_days_are_local_to_the_timezone(store: Store):
    berlin = collect(store, ZoneInfo("Europe/Berlin"), D - timedelta(days=1), D)
    # X1 arrived 23:30 UTC on D-1, which is 00:30 on D in Berlin.
    assert berlin.bucket(D).volume == 9
    assert berlin.bucket(D - timedelta(days=1)).volume == 0
    assert (berlin.bucket(D).auto, berlin.bucket(D).auto_wrong) == (5, 1)


def test_digest_flags_the_precision_drop_breaches_and_waiting_tickets(store: Store):
    digest = build_digest(store, "UTC", D, NOW, ["billing", "bug", "security"])
    assert [line.name for line in digest.drops] == ["billing"]  # 66.7% vs 100% the week before
    # Configured policies with no tickets that day or the week before are left out.
    assert [line.name for line in digest.policies] == ["billing", "bug"]
    assert [t.id for t, _since in digest.waiting] == ["T7"]
    trend = {p.day: p for p in digest.trend}
    assert len(digest.trend) == 14 and digest.trend[-1].day == D
    assert trend[D].volume == 8 and trend[D].precision == pytest.approx(0.75)
    assert trend[D - timedelta(days=3)].volume == 4
    assert trend[D - timedelta(days=3)].automation == pytest.approx(1.0)
    assert trend[D - timedelta(days=13)].volume == 0


def test_outcomes_against_the_pre_launch_baseline(store: Store):
    digest = build_digest(store, "UTC", D, NOW)
    first = digest.outcome("first response")
    assert first is not None
    assert sorted(first.baseline_hours) == pytest.approx([10, 12, 14, 16, 18, 20])
    assert sorted(first.after_hours) == pytest.approx([4, 5, 6, 7, 8, 9])
    assert first.baseline_median == pytest.approx(15) and first.after_median == pytest.approx(6.5)
    assert first.change == pytest.approx(6.5 / 15 - 1)
    # Any resample's median lies between the sample's min and max, so the interval does too.
    assert 4 / 20 - 1 <= first.ci_low <= first.change <= first.ci_high <= 9 / 10 - 1
    resolution = digest.outcome("resolution")
    assert resolution is not None and resolution.change is None  # baseline n=3 < 5
    assert len(resolution.baseline_hours) == 3 and len(resolution.after_hours) == 5


def test_bootstrap_interval_is_reproducible_and_honest_about_overlap():
    before, after = [10, 12, 14, 16, 18, 20], [4, 5, 6, 7, 8, 9]
    assert bootstrap_change(before, after) == bootstrap_change(before, after)  # fixed seed
    same = outcome_change("x", datetime(2026, 1, 1, tzinfo=UTC), before, list(before))
    assert same.change == pytest.approx(0)
    assert same.ci_low < 0 < same.ci_high  # no change: the interval straddles zero
