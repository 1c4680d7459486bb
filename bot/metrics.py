"""Metrics from the store, per day and per policy: what the bot did, and what it changed.

Every number here is computed from the bot's own tables (tickets, proposals, decisions,
audit events); nothing is sampled. Definitions (also in the README):

* A ticket belongs to the local day (TIMEZONE) it was *received* and to the policy its
  first proposal named — the policy accountable when the bot proposed.
* volume: tickets received. automation rate: auto-routed / proposed.
* precision: auto-routes not later corrected by a Reassign to another tag / auto-routes.
* approve / reassign / not-sure rates: a reviewed ticket's *first* human decision, over
  reviewed tickets that had one.
* time to first human touch: received → first human click (reviewed tickets only).
* time to route: received → the first routing decision (auto, approve or reassign).
* handoff claim time: Not sure → Claim.
* SLA breaches: watchdog pages (audit action `page`), on the local day they were sent.
* guardrail firings: each guardrail named in a ticket's proposal, counted once per ticket.
* confusion: (proposed tag, final tag) for decided tickets whose classification did not fail.
* Percentiles interpolate linearly between closest ranks (numpy's default).

Outcome change vs the pre-launch baseline (`outcome_changes`): first-response and
resolution times (from the helpdesk source's `first_response_at` / `resolved_at`),
measured from `created_at` (or `received_at`). Baseline tickets started before the cutoff
(BASELINE_UNTIL, else the helpdesk source's launch point, else the bot's first proposal)
within the 90 days before it — the source keeps pre-launch tickets in `source_baseline`; "after"
tickets started in the 28 days up to the report's end. The change is the ratio of
medians minus one, with a 95% bootstrap interval (2,000 resamples, fixed seed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func
from sqlmodel import col, select

from bot.models import AuditEvent, Decision, Proposal, Ticket
from bot.source.models import SourceBaseline, SourceState
from bot.store import Store

ALL = "all"
NO_POLICY = "(none)"
HUMAN_DECISIONS = ("approve", "reassign", "not_sure")
HUMAN_TOUCHES = ("approve", "reassign", "not_sure", "claim")
ROUTING_ACTIONS = ("auto", "approve", "reassign")
FAILED_CLASSIFICATION = frozenset({"classifier_error", "llm_error"})

BOOTSTRAP_SEED = 20261127
BOOTSTRAP_RESAMPLES = 2000
MIN_OUTCOME_SAMPLE = 5
AFTER_DAYS = 28
BASELINE_DAYS = 90


def as_utc(moment: datetime | None) -> datetime | None:
    """Stored times are UTC; some drivers hand them back naive."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a local day begins (DST-safe)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    value = (end - start).total_seconds() / 60
    return value if value >= 0 else None


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else None


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- per-ticket facts -------------------------------------------------------------------------


PRAISE_TAGS = frozenset({"positive_feedback"})  # as bot.triage.POSITIVE_TAGS


@dataclass
class TicketFacts:
    """What happened to one ticket, gathered from its rows."""

    id: str
    received_at: datetime
    policy: str = NO_POLICY
    decision: str | None = None  # "auto" | "review"; None while not classified
    proposed_tag: str | None = None
    final_tag: str | None = None
    guardrails: tuple[str, ...] = ()
    first_action: str | None = None  # first human decision: approve / reassign / not_sure
    first_touch_at: datetime | None = None
    routed_at: datetime | None = None
    corrected: bool = False  # an auto-route later reassigned to another tag
    handed_off_at: datetime | None = None
    claimed_at: datetime | None = None

    @property
    def failed_classification(self) -> bool:
        return bool(FAILED_CLASSIFICATION & set(self.guardrails))


def build_facts(
    tickets: Iterable[Any], proposals: Iterable[Any], decisions: Iterable[Any]
) -> list[TicketFacts]:
    """Join ticket, first-proposal and decision rows (each ordered by time) into facts."""
    facts: dict[str, TicketFacts] = {}
    for t in tickets:
        facts[t.id] = TicketFacts(
            id=t.id,
            received_at=as_utc(t.received_at),  # type: ignore[arg-type]
            final_tag=t.final_tag,
            handed_off_at=as_utc(t.handed_off_at),
            claimed_at=as_utc(t.claimed_at),
        )
    for p in proposals:
        fact = facts.get(p.ticket_id)
        if fact is None or fact.decision is not None:  # the first proposal counts
            continue
        fact.decision = p.decision
        fact.proposed_tag = p.tag
        fact.policy = p.policy or NO_POLICY
        fact.guardrails = tuple(dict.fromkeys(p.guardrails or []))
    auto_tag: dict[str, str | None] = {}
    for d in decisions:
        fact = facts.get(d.ticket_id)
        if fact is None:
            continue
        at = as_utc(d.at)
        if d.action == "auto":
            auto_tag[d.ticket_id] = d.tag
        human = d.actor != "bot"
        if human and d.action in HUMAN_TOUCHES and fact.first_touch_at is None:
            fact.first_touch_at = at
        if human and d.action in HUMAN_DECISIONS and fact.first_action is None:
            fact.first_action = d.action
        if d.action in ROUTING_ACTIONS and fact.routed_at is None:
            fact.routed_at = at
        if d.action == "reassign" and d.ticket_id in auto_tag and d.tag != auto_tag[d.ticket_id]:
            fact.corrected = True
    return list(facts.values())


# --- aggregation ------------------------------------------------------------------------------


@dataclass
class Bucket:
    """Counts and raw durations for one (day, policy); buckets merge exactly."""

    volume: int = 0
    proposed: int = 0
    auto: int = 0
    auto_wrong: int = 0
    reviewed: int = 0
    first_actions: Counter[str] = field(default_factory=Counter)
    touch_minutes: list[float] = field(default_factory=list)
    route_minutes: list[float] = field(default_factory=list)
    claim_minutes: list[float] = field(default_factory=list)
    pages: int = 0
    paged_tickets: set[str] = field(default_factory=set)
    guardrails: Counter[str] = field(default_factory=Counter)
    # Praise held for review, by each reason (complaint_veto, sarcasm, praise_unclear, …).
    praise_gated: Counter[str] = field(default_factory=Counter)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, other: Bucket) -> None:
        self.volume += other.volume
        self.proposed += other.proposed
        self.auto += other.auto
        self.auto_wrong += other.auto_wrong
        self.reviewed += other.reviewed
        self.first_actions.update(other.first_actions)
        self.touch_minutes.extend(other.touch_minutes)
        self.route_minutes.extend(other.route_minutes)
        self.claim_minutes.extend(other.claim_minutes)
        self.pages += other.pages
        self.paged_tickets |= other.paged_tickets
        self.guardrails.update(other.guardrails)
        self.praise_gated.update(other.praise_gated)
        self.confusion.update(other.confusion)

    @property
    def automation_rate(self) -> float | None:
        return ratio(self.auto, self.proposed)

    @property
    def precision(self) -> float | None:
        return ratio(self.auto - self.auto_wrong, self.auto)

    @property
    def human_decided(self) -> int:
        return sum(self.first_actions[a] for a in HUMAN_DECISIONS)

    def rate(self, action: str) -> float | None:
        """Share of reviewed tickets whose first human decision was `action`."""
        return ratio(self.first_actions[action], self.human_decided)

    @staticmethod
    def p(values: Sequence[float], q: float) -> float | None:
        return percentile(values, q)


@dataclass
class Metrics:
    """Buckets keyed by (local day, policy); policy ALL holds every ticket of the day."""

    timezone: ZoneInfo
    buckets: dict[tuple[date, str], Bucket] = field(default_factory=dict)

    def bucket(self, day: date, policy: str = ALL) -> Bucket:
        return self.buckets.get((day, policy), Bucket())

    def over(self, days: Iterable[date], policy: str = ALL) -> Bucket:
        merged = Bucket()
        for day in days:
            merged.add(self.bucket(day, policy))
        return merged

    def policies(self) -> list[str]:
        return sorted({p for _d, p in self.buckets if p != ALL})

    def _touch(self, day: date, policy: str) -> list[Bucket]:
        found = []
        for key in ((day, ALL), (day, policy)):
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = Bucket()
            found.append(bucket)
        return found


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


@dataclass(frozen=True)
class PageEvent:
    at: datetime
    ticket_id: str | None
    policy: str | None


def compute_metrics(
    facts: Iterable[TicketFacts], pages: Iterable[PageEvent], tz: ZoneInfo
) -> Metrics:
    """Pure aggregation: facts and page events into per-day, per-policy buckets."""
    metrics = Metrics(timezone=tz)
    for f in facts:
        for b in metrics._touch(local_day(f.received_at, tz), f.policy):
            b.volume += 1
            if f.decision is None:
                continue
            b.proposed += 1
            b.guardrails.update(f.guardrails)
            if f.decision == "auto":
                b.auto += 1
                b.auto_wrong += int(f.corrected)
            else:
                b.reviewed += 1
                if f.proposed_tag in PRAISE_TAGS:
                    b.praise_gated.update(f.guardrails)
                if f.first_action:
                    b.first_actions[f.first_action] += 1
                touch = minutes(f.received_at, f.first_touch_at)
                if touch is not None:
                    b.touch_minutes.append(touch)
            route = minutes(f.received_at, f.routed_at)
            if route is not None:
                b.route_minutes.append(route)
            claim = minutes(f.handed_off_at, f.claimed_at)
            if claim is not None:
                b.claim_minutes.append(claim)
            if f.final_tag and f.proposed_tag and not f.failed_classification:
                b.confusion[(f.proposed_tag, f.final_tag)] += 1
    for page in pages:
        for b in metrics._touch(local_day(page.at, tz), page.policy or NO_POLICY):
            b.pages += 1
            if page.ticket_id:
                b.paged_tickets.add(page.ticket_id)
    return metrics


# --- loading from the store -------------------------------------------------------------------


def load_facts(store: Store, start: datetime, end: datetime) -> list[TicketFacts]:
    """Facts for tickets received in [start, end): three bounded, column-only queries."""
    window = (col(Ticket.received_at) >= start, col(Ticket.received_at) < end)
    # Core rows, not ORM entities: a busy month is a few hundred thousand rows.
    with store.engine.connect() as session:
        tickets = session.execute(
            select(
                Ticket.id,
                Ticket.received_at,
                Ticket.final_tag,
                Ticket.handed_off_at,
                Ticket.claimed_at,
            ).where(*window)
        ).all()
        proposals = session.execute(
            select(
                Proposal.ticket_id,
                Proposal.decision,
                Proposal.tag,
                Proposal.policy,
                Proposal.guardrails,
            )
            .join(Ticket, col(Ticket.id) == col(Proposal.ticket_id))
            .where(*window)
            .order_by(col(Proposal.id))
        ).all()
        decisions = session.execute(
            select(Decision.ticket_id, Decision.action, Decision.tag, Decision.actor, Decision.at)
            .join(Ticket, col(Ticket.id) == col(Decision.ticket_id))
            .where(*window)
            .order_by(col(Decision.at), col(Decision.id))
        ).all()
    return build_facts(tickets, proposals, decisions)


def load_pages(store: Store, start: datetime, end: datetime) -> list[PageEvent]:
    with store.session() as session:
        rows = session.exec(
            select(AuditEvent.at, AuditEvent.ticket_id, AuditEvent.policy).where(
                col(AuditEvent.action) == "page",
                col(AuditEvent.at) >= start,
                col(AuditEvent.at) < end,
            )
        ).all()
    return [PageEvent(as_utc(at), tid, policy) for at, tid, policy in rows]  # type: ignore[arg-type]


def collect(store: Store, tz: ZoneInfo, first_day: date, last_day: date) -> Metrics:
    """Metrics for every local day from first_day to last_day, inclusive."""
    start, end = day_start(first_day, tz), day_start(last_day + timedelta(days=1), tz)
    return compute_metrics(load_facts(store, start, end), load_pages(store, start, end), tz)


# --- outcomes against the pre-launch baseline --------------------------------------------------


@dataclass(frozen=True)
class OutcomeChange:
    """A helpdesk outcome (hours) before vs after launch; change = after/before median - 1."""

    name: str
    cutoff: datetime
    baseline_hours: tuple[float, ...]
    after_hours: tuple[float, ...]
    change: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def baseline_median(self) -> float | None:
        return percentile(self.baseline_hours, 50)

    @property
    def after_median(self) -> float | None:
        return percentile(self.after_hours, 50)

    @property
    def enough(self) -> bool:
        return self.change is not None


def bootstrap_change(
    before: Sequence[float],
    after: Sequence[float],
    seed: int = BOOTSTRAP_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> tuple[float, float]:
    """95% percentile-bootstrap interval of median(after)/median(before) - 1."""
    rng = np.random.default_rng(seed)
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    changes = np.empty(resamples)
    chunk = max(1, min(resamples, 2_000_000 // max(len(a), len(b), 1)))
    for lo in range(0, resamples, chunk):
        n = min(chunk, resamples - lo)
        mb = np.median(rng.choice(b, size=(n, len(b))), axis=1)
        ma = np.median(rng.choice(a, size=(n, len(a))), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            changes[lo : lo + n] = ma / mb - 1
    finite = changes[np.isfinite(changes)]
    if not len(finite):
        return float("nan"), float("nan")
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def outcome_change(
    name: str, cutoff: datetime, before: Sequence[float], after: Sequence[float]
) -> OutcomeChange:
    """The change with its interval, or only the samples when either side is too small."""
    base = OutcomeChange(name, cutoff, tuple(before), tuple(after))
    if len(before) < MIN_OUTCOME_SAMPLE or len(after) < MIN_OUTCOME_SAMPLE:
        return base
    median_before = float(np.median(before))
    if median_before <= 0:
        return base
    change = float(np.median(after)) / median_before - 1
    low, high = bootstrap_change(before, after)
    return OutcomeChange(name, cutoff, tuple(before), tuple(after), change, low, high)


def baseline_cutoff(store: Store, override: datetime | None = None) -> datetime | None:
    """BASELINE_UNTIL when set; else the helpdesk source's launch point; else the first proposal."""
    if override is not None:
        return as_utc(override)
    with store.session() as session:
        launched = session.exec(select(func.min(SourceState.launched_at))).one()
        if launched is not None:
            return as_utc(launched)
        first = session.exec(select(func.min(Proposal.created_at))).one()
    return as_utc(first)


def outcome_changes(store: Store, cutoff: datetime | None, until: datetime) -> list[OutcomeChange]:
    """First-response and resolution times: baseline before `cutoff` vs the 28 days to `until`.

    The baseline is the helpdesk source's pre-launch history (`source_baseline`, kept by
    bot.source with times only) plus any stored ticket that started before the cutoff.
    """
    if cutoff is None:
        return []
    started = func.coalesce(Ticket.created_at, Ticket.received_at)
    lower = cutoff - timedelta(days=BASELINE_DAYS)
    after_from = max(cutoff, until - timedelta(days=AFTER_DAYS))
    has_outcome_t = col(Ticket.first_response_at).is_not(None) | col(Ticket.resolved_at).is_not(
        None
    )
    has_outcome_b = col(SourceBaseline.first_response_at).is_not(None) | col(
        SourceBaseline.resolved_at
    ).is_not(None)
    with store.session() as session:
        rows = list(
            session.exec(
                select(started, Ticket.first_response_at, Ticket.resolved_at).where(
                    started >= lower, started < until, has_outcome_t
                )
            ).all()
        )
        rows += session.exec(
            select(
                SourceBaseline.created_at,
                SourceBaseline.first_response_at,
                SourceBaseline.resolved_at,
            ).where(
                col(SourceBaseline.created_at) >= lower,
                col(SourceBaseline.created_at) < cutoff,
                has_outcome_b,
            )
        ).all()
    samples: dict[str, tuple[list[float], list[float]]] = {
        "first response": ([], []),
        "resolution": ([], []),
    }
    for raw_start, first_response, resolved in rows:
        start = as_utc(raw_start)
        if start is None:
            continue
        side = 0 if start < cutoff else 1 if start >= after_from else None
        if side is None:
            continue
        for name, end in (("first response", first_response), ("resolution", resolved)):
            value = minutes(start, as_utc(end))
            if value is not None:
                samples[name][side].append(value / 60)
    return [outcome_change(name, cutoff, b, a) for name, (b, a) in samples.items()]
