"""What an operator watches: Prometheus metrics and one INFO line per decision.

- Counters and the classifier latency histogram live in REGISTRY and are bumped where
  things happen (intake, the worker, clicks, the outbox). Gauges that describe the
  store (outbox depth and age, source lag, pauses) are read at scrape time.
- Every audited event (a proposal, an approval, a hand-off, a claim, a pause, a page…)
  is logged at INFO once its transaction commits: ids and codes only, never ticket text
  or free-text reasons. SQLAlchemy session events do this for every writer at once.
- `GET /metrics` answers only with `Authorization: Bearer <METRICS_TOKEN>`; without the
  setting the route does not exist.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
)
from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.models import AuditEvent

if TYPE_CHECKING:
    pass

log = logging.getLogger("bot.events")

REGISTRY = CollectorRegistry(auto_describe=True)
TICKETS_IN = Counter(
    "triage_tickets_received",
    "Tickets stored for the first time, by how they arrived",
    ["source"],
    registry=REGISTRY,
)
PROPOSALS = Counter(
    "triage_proposals",
    "Proposals made by the bot, by decision (auto or review) and policy",
    ["decision", "policy"],
    registry=REGISTRY,
)
REVIEW_REASONS = Counter(
    "triage_proposal_reasons",
    "Why proposals went to a human, one count per reason code",
    ["decision", "reason"],
    registry=REGISTRY,
)
EVENTS = Counter(
    "triage_events",
    "Audited events: approve, reassign, not_sure, claim, pause, resume, page, …",
    ["action"],
    registry=REGISTRY,
)
CLICKS = Counter(
    "triage_clicks",
    "Button and menu clicks on triage messages, by action and outcome",
    ["action", "outcome"],
    registry=REGISTRY,
)
SLACK_ERRORS = Counter(
    "triage_slack_errors",
    "Slack Web API calls that failed, by method and kind (Slack's error code, "
    "ratelimited, or the transport error)",
    ["method", "kind"],
    registry=REGISTRY,
)
CLASSIFY_SECONDS = Histogram(
    "triage_classifier_seconds",
    "Time to classify one ticket",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)

# Detail keys safe to log: tags, codes, levels and ids. Never subjects, bodies or reasons
# typed by people.
SAFE_DETAIL = ("tag", "proposed_tag", "decision", "level", "handed_to", "mode", "until", "from")


def reason_code(reason: str) -> str:
    return reason.split(":", 1)[0].strip() or "unknown"


# --- bumps called where things happen -------------------------------------------------------


def tickets_received(source: str, count: int) -> None:
    if count:
        TICKETS_IN.labels(source=source).inc(count)


def classified(seconds: float) -> None:
    CLASSIFY_SECONDS.observe(seconds)


def clicked(action: str, outcome: str) -> None:
    CLICKS.labels(action=action or "unknown", outcome=outcome).inc()


def slack_error(method: str, kind: str) -> None:
    SLACK_ERRORS.labels(method=method, kind=kind).inc()


# --- audited events: one INFO line and a count each, after commit ----------------------------

_PENDING = "observability_audit"


def _fields(audit: AuditEvent) -> dict[str, Any]:
    detail = audit.detail if isinstance(audit.detail, dict) else {}
    fields: dict[str, Any] = {
        "action": audit.action,
        "ticket_id": audit.ticket_id,
        "policy": audit.policy,
        "actor": audit.actor,
    }
    for key in SAFE_DETAIL:
        if detail.get(key) is not None:
            fields[key] = str(detail[key])
    if detail.get("reasons"):
        fields["reasons"] = ",".join(reason_code(str(r)) for r in detail["reasons"])
    if isinstance(detail.get("confidence"), int | float):
        fields["confidence"] = round(float(detail["confidence"]), 3)
    return {k: v for k, v in fields.items() if v not in (None, "")}


def emit(audit: AuditEvent) -> None:
    """Count and log one committed audit event (the line is built only when it is logged)."""
    EVENTS.labels(action=audit.action).inc()
    if audit.action == "proposed":
        detail = audit.detail if isinstance(audit.detail, dict) else {}
        decision = str(detail.get("decision") or "unknown")
        PROPOSALS.labels(decision=decision, policy=audit.policy or "none").inc()
        for reason in detail.get("reasons") or []:
            REVIEW_REASONS.labels(decision=decision, reason=reason_code(str(reason))).inc()
    if not log.isEnabledFor(logging.INFO):
        return
    fields = _fields(audit)
    text = " ".join(f"{k}={v}" for k, v in fields.items() if k != "action")
    log.info("%s %s", audit.action, text, extra={"event": fields})


def emit_committed(audits: Iterable[AuditEvent]) -> None:
    """Core statements bypass the session hooks: their callers report what they committed."""
    for audit in audits:
        try:
            emit(audit)
        except Exception:  # observability must never break a committed change
            log.debug("could not log an audit event", exc_info=True)


def emit_after_commit(session: Session, audits: Iterable[Any]) -> None:
    """Rows inserted with Core inside `session`: logged when (and only if) it commits.
    Each is an AuditEvent or any object with its attributes (a batch passes plain rows)."""
    session.info.setdefault(_PENDING, []).extend(audits)


def _collect(session: Session, *_args: Any) -> None:
    new = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if new:
        session.info.setdefault(_PENDING, []).extend(new)


def _flush_out(session: Session) -> None:
    for audit in session.info.pop(_PENDING, []):
        try:
            emit(audit)
        except Exception:  # observability must never break a committed change
            log.debug("could not log an audit event", exc_info=True)


def _drop(session: Session, *_args: Any) -> None:
    session.info.pop(_PENDING, None)


def install_event_log() -> None:
    """Idempotent: listen on every ORM session in the process."""
    if not event.contains(Session, "before_flush", _collect):
        event.listen(Session, "before_flush", _collect)
        event.listen(Session, "after_commit", _flush_out)
        event.listen(Session, "after_rollback", _drop)


install_event_log()
