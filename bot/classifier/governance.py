"""Model changes are governed: a new model is scored in shadow before it may route.

The shadow set is the share of recently decided tickets that no model trains on
(bot.classifier.feedback.is_shadow_reserved), labelled by the human's final decision and
decided within the launch window. The candidate and the live model classify each of them;
a ticket counts as auto-routed when its confidence reaches the policy threshold in force
for the predicted tag. The candidate is promoted only when it is at least as precise on
what it would route alone:

- both route some tickets: candidate precision >= live precision;
- the live model routes none: candidate precision >= the target precision;
- the candidate routes none: refused (unless the live model routes none either and the
  candidate's top-1 accuracy is at least the live model's).

Fewer than MIN_SHADOW_TICKETS decided tickets cannot tell two models apart. Then nothing
is promoted automatically: the scheduled retrain keeps the candidate (`held`), and only an
operator may promote it, with `triage-bot train --promote-unscored` or
`triage-bot model promote VERSION --unscored`. Such a model starts its launch-gate
evidence from zero (bot.classifier.registry).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot import blocks as kit
from bot.classifier.base import Classifier
from bot.classifier.feedback import human_labels, is_shadow_reserved
from bot.models import AuditEvent, Ticket, utcnow
from bot.policies import PolicySet
from bot.settings import Settings
from bot.store import OutboxItem, Store

MIN_SHADOW_TICKETS = 30
MAX_SHADOW_TICKETS = 5000


@dataclass(frozen=True)
class ShadowTicket:
    ticket_id: str
    text: str
    tag: str  # the human's final tag


@dataclass
class Score:
    """How one model does on the shadow set at the policy thresholds."""

    model_version: str
    tickets: int
    auto: int
    correct_auto: int
    correct: int  # top-1 right, routed alone or not
    per_policy: dict[str, list[int]] = field(default_factory=dict)  # policy -> [auto, correct]

    @property
    def precision(self) -> float | None:
        return self.correct_auto / self.auto if self.auto else None

    @property
    def coverage(self) -> float:
        return self.auto / self.tickets if self.tickets else 0.0

    @property
    def accuracy(self) -> float:
        return self.correct / self.tickets if self.tickets else 0.0

    def describe(self) -> str:
        shown = "–" if self.precision is None else f"{self.precision:.1%}"
        return (
            f"precision {shown} ({self.correct_auto}/{self.auto} routed alone), "
            f"coverage {self.coverage:.0%} of {self.tickets}"
        )

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "precision": self.precision, "coverage": self.coverage}


@dataclass
class Verdict:
    promote: bool
    code: str  # at_least_as_precise | less_precise | routes_nothing | too_few
    reason: str
    tickets: int
    live: Score | None = None
    candidate: Score | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "reason": self.reason,
            "tickets": self.tickets,
            "live": self.live.as_dict() if self.live else None,
            "candidate": self.candidate.as_dict() if self.candidate else None,
        }


def shadow_set(
    engine: Engine, tags: Sequence[str], window_days: int, now: datetime | None = None
) -> list[ShadowTicket]:
    """Human-decided tickets of the reserved share, decided in the window, newest first."""
    since = (now or utcnow()) - timedelta(days=window_days)
    known = set(tags)
    labels = {
        tid: tag
        for tid, tag in human_labels(engine).items()
        if tag in known and is_shadow_reserved(tid)
    }
    if not labels:
        return []
    found: list[ShadowTicket] = []
    ids = sorted(labels)
    with Session(engine) as session:
        for start in range(0, len(ids), 500):
            rows = session.exec(
                select(Ticket).where(
                    col(Ticket.id).in_(ids[start : start + 500]),
                    col(Ticket.decided_at) >= since,
                )
            ).all()
            for ticket in rows:
                text = f"{ticket.subject}\n{ticket.body}".strip()
                if text:
                    found.append(ShadowTicket(ticket.id, text, labels[ticket.id]))
    found.sort(key=lambda t: t.ticket_id)
    return found[:MAX_SHADOW_TICKETS]


def score(model: Classifier, tickets: Sequence[ShadowTicket], policies: PolicySet) -> Score:
    """Classify each ticket; auto-routed when confident enough for its policy's threshold."""
    result = Score(str(getattr(model, "version", "?")), len(tickets), 0, 0, 0)
    for ticket in tickets:
        prediction = model.predict(ticket.text)
        right = prediction.tag == ticket.tag
        result.correct += int(right)
        policy = policies.for_tag(prediction.tag)
        if policy is None:
            continue
        if prediction.confidence >= policies.threshold(policy, prediction.calibrated_threshold):
            result.auto += 1
            result.correct_auto += int(right)
            counts = result.per_policy.setdefault(policy.name, [0, 0])
            counts[0] += 1
            counts[1] += int(right)
    return result


def compare(
    candidate: Classifier,
    live: Classifier,
    tickets: Sequence[ShadowTicket],
    policies: PolicySet,
    min_tickets: int = MIN_SHADOW_TICKETS,
) -> Verdict:
    """Whether `candidate` may replace `live` (rules in the module docstring)."""
    n = len(tickets)
    if n < min_tickets:
        return Verdict(
            False,
            "too_few",
            f"only {n} decided ticket(s) to score it on (needs {min_tickets}); "
            "not promoted automatically",
            n,
        )
    new, old = score(candidate, tickets, policies), score(live, tickets, policies)
    target = policies.global_settings.target_precision
    if new.precision is None:
        if old.precision is None and new.accuracy >= old.accuracy:
            return Verdict(
                True,
                "at_least_as_precise",
                f"neither model routes alone; accuracy {new.accuracy:.1%} vs {old.accuracy:.1%}",
                n,
                old,
                new,
            )
        return Verdict(
            False, "routes_nothing", "it would route none of the decided tickets alone", n, old, new
        )
    bar = target if old.precision is None else old.precision
    against = "the target precision" if old.precision is None else "the live model"
    if new.precision >= bar:
        return Verdict(
            True, "at_least_as_precise", f"{new.describe()} vs {against} {bar:.1%}", n, old, new
        )
    return Verdict(
        False, "less_precise", f"{new.describe()} is below {against} {bar:.1%}", n, old, new
    )


def announcement(settings: Settings, policies: PolicySet | None, text: str) -> list[OutboxItem]:
    """A notice to TRIAGE_CHANNEL mentioning the global owners (none without a channel)."""
    if not settings.triage_channel:
        return []
    owners = policies.global_settings.owners if policies is not None else []
    mentions = " ".join(f"<@{uid}>" for uid in owners)
    body = f"{text} {mentions}".strip()
    return [
        OutboxItem(
            dedupe_key=f"notice:{uuid.uuid4().hex}",
            method="chat.postMessage",
            payload={
                "channel": settings.triage_channel,
                "text": body,
                "blocks": kit.to_dicts(kit.notice(body)),
            },
            purpose="notice",
            priority=1,
        )
    ]


def record(
    store: Store,
    settings: Settings,
    policies: PolicySet | None,
    action: str,
    actor: str,
    detail: dict[str, object],
    text: str | None,
) -> None:
    """Audit a model change and, when `text` is given, announce it in the same transaction."""
    outbox = announcement(settings, policies, text) if text else []
    store.audit(AuditEvent(actor=actor, action=action, detail=detail), outbox)
