"""A hand-built history in a real store, whose digest numbers the tests compute by hand.

Report day D = 2026-11-26 (UTC). Every ticket, proposal, decision and page is written
with explicit times, so each expected number in the tests can be checked on paper.

Day D:
  T1 billing auto   10:00 → auto 10:01                          route 1
  T2 billing auto   10:00 → auto 10:02, reassigned to bug 12:00 route 2, corrected
  T3 billing review 11:00 → approve 11:10                       touch 10, route 10
  T4 bug review     11:00 → reassign billing 11:30              touch 30, route 30
  T5 bug review (classifier_error) 12:00 → not sure 12:20, claim 12:50, approve 13:00
                                                                touch 20, claim 30, route 60
  T6 bug auto       13:00 → auto 13:00:30                       route 0.5
  T7 billing review 14:00 → nobody yet (still waiting); paged 14:30 (level 1), 15:00 (level 2)
  T8 billing auto   15:00 → auto 15:03                          route 3
  T5 was paged once, 12:45.
Previous days: P1–P4 billing auto on D-3 at 09:00 (route 5, all correct) and X1 billing auto
on D-1 at 23:30 UTC (route 10) — 00:30 on D in Europe/Berlin.
Outcomes: the helpdesk source launched at D-6 00:00; six pre-launch tickets answered after
10, 12, 14, 16, 18, 20 h (three resolved); T1–T6 answered after 4, 5, 6, 7, 8, 9 h.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.models import AuditEvent, Decision, Proposal, Ticket, TicketStatus
from bot.source.models import SourceBaseline, SourceState
from bot.store import Store

D = date(2026, 11, 26)
AGENT = "U0AGENT01"
OWNER = "U0BUGSOWNR"


def at(day_offset: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    day = D + timedelta(days=day_offset)
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


@dataclass
class Spec:
    id: str
    policy: str
    tag: str
    decision: str  # auto | review
    received: datetime
    status: TicketStatus
    final: str | None
    guardrails: tuple[str, ...] = ()
    decisions: tuple[tuple[str, str | None, str, datetime], ...] = ()  # action, tag, actor, at
    handed_off: datetime | None = None
    claimed: datetime | None = None
    first_response_h: float | None = None
    resolved_h: float | None = None


def specs() -> list[Spec]:
    auto = TicketStatus.AUTO_ROUTED
    routed = TicketStatus.ROUTED
    rows = [
        Spec("T1", "billing", "billing", "auto", at(0, 10), auto, "billing",
             decisions=(("auto", "billing", "bot", at(0, 10, 1)),),
             first_response_h=4, resolved_h=20),
        Spec("T2", "billing", "billing", "auto", at(0, 10), routed, "bug",
             decisions=(("auto", "billing", "bot", at(0, 10, 2)),
                        ("reassign", "bug", AGENT, at(0, 12))),
             first_response_h=5, resolved_h=21),
        Spec("T3", "billing", "billing", "review", at(0, 11), routed, "billing",
             guardrails=("low_confidence",),
             decisions=(("approve", "billing", AGENT, at(0, 11, 10)),),
             first_response_h=6, resolved_h=22),
        Spec("T4", "bug", "bug", "review", at(0, 11), routed, "billing",
             guardrails=("sarcasm", "low_confidence"),
             decisions=(("reassign", "billing", AGENT, at(0, 11, 30)),),
             first_response_h=7, resolved_h=23),
        Spec("T5", "bug", "bug", "review", at(0, 12), routed, "bug",
             guardrails=("classifier_error",),
             decisions=(("not_sure", None, AGENT, at(0, 12, 20)),
                        ("claim", None, OWNER, at(0, 12, 50)),
                        ("approve", "bug", OWNER, at(0, 13))),
             handed_off=at(0, 12, 20), claimed=at(0, 12, 50),
             first_response_h=8, resolved_h=24),
        Spec("T6", "bug", "bug", "auto", at(0, 13), auto, "bug",
             decisions=(("auto", "bug", "bot", at(0, 13, 0, 30)),),
             first_response_h=9),
        Spec("T7", "billing", "billing", "review", at(0, 14), TicketStatus.REVIEW, None,
             guardrails=("low_confidence",)),
        Spec("T8", "billing", "billing", "auto", at(0, 15), auto, "billing",
             decisions=(("auto", "billing", "bot", at(0, 15, 3)),)),
        Spec("X1", "billing", "billing", "auto", at(-1, 23, 30), auto, "billing",
             decisions=(("auto", "billing", "bot", at(-1, 23, 40)),)),
    ]  # fmt: skip
    for n in range(1, 5):
        rows.append(
            Spec(f"P{n}", "billing", "billing", "auto", at(-3, 9), auto, "billing",
                 decisions=(("auto", "billing", "bot", at(-3, 9, 5)),))
        )  # fmt: skip
    return rows


PAGES = [("T5", "bug", at(0, 12, 45), 1), ("T7", "billing", at(0, 14, 30), 1),
         ("T7", "billing", at(0, 15), 2)]  # fmt: skip
LAUNCH = at(-6, 0)
BASELINE_FIRST_RESPONSE_H = [10, 12, 14, 16, 18, 20]
BASELINE_RESOLVED_H = [30, 40, 50]


def seed(store: Store) -> None:
    """Write the history above into the store, as the bot would have."""
    with store.session() as session:
        for spec in specs():
            received = spec.received
            session.add(
                Ticket(
                    id=spec.id,
                    subject=f"subject {spec.id}",
                    body="body",
                    created_at=received,
                    received_at=received,
                    source="sql",
                    status=spec.status.value,
                    proposed_tag=spec.tag,
                    final_tag=spec.final,
                    policy=spec.policy,
                    handed_off_at=spec.handed_off,
                    claimed_at=spec.claimed,
                    claimed_by=OWNER if spec.claimed else None,
                    first_response_at=received + timedelta(hours=spec.first_response_h)
                    if spec.first_response_h is not None
                    else None,
                    resolved_at=received + timedelta(hours=spec.resolved_h)
                    if spec.resolved_h is not None
                    else None,
                )
            )
        session.flush()
        for spec in specs():
            session.add(
                Proposal(
                    ticket_id=spec.id,
                    tag=spec.tag,
                    policy=spec.policy,
                    confidence=0.9 if spec.decision == "auto" else 0.5,
                    sentiment="neutral",
                    decision=spec.decision,
                    reasons=[],
                    guardrails=list(spec.guardrails),
                    scores={},
                    model_version="fixture",
                    created_at=spec.received,
                )
            )
            for action, tag, actor, moment in spec.decisions:
                session.add(
                    Decision(
                        ticket_id=spec.id,
                        action=action,
                        tag=tag,
                        proposed_tag=spec.tag,
                        actor=actor,
                        at=moment,
                    )
                )
        for ticket_id, policy, moment, level in PAGES:
            session.add(
                AuditEvent(
                    at=moment,
                    actor="bot",
                    action="page",
                    ticket_id=ticket_id,
                    policy=policy,
                    detail={"level": level},
                )
            )
        session.add(SourceState(name="default", launched_at=LAUNCH))
        for n, hours in enumerate(BASELINE_FIRST_RESPONSE_H):
            created = LAUNCH - timedelta(days=10 + n)
            resolved = BASELINE_RESOLVED_H[n] if n < len(BASELINE_RESOLVED_H) else None
            session.add(
                SourceBaseline(
                    ticket_id=f"B{n}",
                    created_at=created,
                    first_response_at=created + timedelta(hours=hours),
                    resolved_at=created + timedelta(hours=resolved) if resolved else None,
                )
            )
        session.commit()
