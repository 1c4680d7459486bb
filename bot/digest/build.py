"""What the digest says, as data: the report day, the week before it, per policy, the trend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.metrics import (
    ALL,
    NO_POLICY,
    Bucket,
    OutcomeChange,
    baseline_cutoff,
    collect,
    day_start,
    outcome_changes,
)
from bot.models import Ticket
from bot.store import Store
from bot.watchdog import waiting_tickets

TREND_DAYS = 14
PREVIOUS_DAYS = 7
# A policy's precision "dropped" when the report day is this much below its previous
# 7 days, with at least MIN_AUTO auto-routes on both sides (fewer is noise).
PRECISION_DROP = 0.05
MIN_AUTO = 3


@dataclass(frozen=True)
class PolicyLine:
    """One policy on the report day, and the same policy over the 7 days before."""

    name: str
    day: Bucket
    previous: Bucket

    @property
    def precision_dropped(self) -> bool:
        now, before = self.day.precision, self.previous.precision
        if now is None or before is None:
            return False
        enough = self.day.auto >= MIN_AUTO and self.previous.auto >= MIN_AUTO
        return enough and now <= before - PRECISION_DROP


@dataclass(frozen=True)
class TrendPoint:
    day: date
    volume: int
    automation: float | None
    precision: float | None
    route_p50: float | None


@dataclass
class Digest:
    report_day: date
    timezone: str
    generated_at: datetime
    day: Bucket
    previous: Bucket
    policies: list[PolicyLine]
    trend: list[TrendPoint]
    outcomes: list[OutcomeChange]
    waiting: list[tuple[Ticket, datetime]]

    @property
    def posting_date(self) -> date:
        return self.report_day + timedelta(days=1)

    @property
    def drops(self) -> list[PolicyLine]:
        return [p for p in self.policies if p.precision_dropped]

    def outcome(self, name: str) -> OutcomeChange | None:
        return next((o for o in self.outcomes if o.name == name), None)


def build_digest(
    store: Store,
    tz_name: str,
    report_day: date,
    now: datetime,
    policy_names: list[str] | None = None,
    baseline_until: datetime | None = None,
) -> Digest:
    """Compute everything the digest shows for `report_day` (a local day in `tz_name`)."""
    tz = ZoneInfo(tz_name)
    first = report_day - timedelta(days=max(TREND_DAYS - 1, PREVIOUS_DAYS))
    metrics = collect(store, tz, first, report_day)
    previous_days = [report_day - timedelta(days=i) for i in range(1, PREVIOUS_DAYS + 1)]
    names = sorted(set(policy_names or []) | set(metrics.policies()))
    lines = [
        PolicyLine(name, metrics.bucket(report_day, name), metrics.over(previous_days, name))
        for name in names
    ]
    # Policies with nothing this day or the week before would only be noise.
    lines = [line for line in lines if line.day.volume or line.day.pages or line.previous.volume]
    lines.sort(key=lambda line: (-line.day.volume, line.name == NO_POLICY, line.name))
    trend = []
    for offset in range(TREND_DAYS - 1, -1, -1):
        day = report_day - timedelta(days=offset)
        bucket = metrics.bucket(day, ALL)
        trend.append(
            TrendPoint(
                day,
                bucket.volume,
                bucket.automation_rate,
                bucket.precision,
                bucket.p(bucket.route_minutes, 50),
            )
        )
    until = day_start(report_day + timedelta(days=1), tz)
    outcomes = outcome_changes(store, baseline_cutoff(store, baseline_until), until)
    return Digest(
        report_day=report_day,
        timezone=tz_name,
        generated_at=now,
        day=metrics.bucket(report_day, ALL),
        previous=metrics.over(previous_days, ALL),
        policies=lines,
        trend=trend,
        outcomes=outcomes,
        waiting=waiting_tickets(store),
    )
