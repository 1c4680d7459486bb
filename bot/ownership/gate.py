"""The launch gate: a policy may run in `auto` only once its measured precision is good enough.

Precision is measured on what the bot *would* route alone: decided tickets (a human's
final tag, or an auto-route nobody corrected) whose proposal was confident and passed
every guardrail, so that only the mode, a pause or this gate kept it from being routed.
Proposed tag == final tag counts as correct: an approval, a shadow-mode pick of the same
tag, an uncorrected auto-route. A reassign or a correction counts as wrong. Over at least
`launch_min_decided` such tickets in the last `launch_window_days`, precision must reach
`target_precision` (both from `_global.yml`).

Evidence belongs to the model that earned it: given the live model's lineage (the versions
whose proposals count for it, bot.classifier.registry), only their proposals are measured.
A model promoted without shadow scoring starts with no evidence of its own.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from bot.models import Proposal, Ticket, utcnow
from bot.policies import Policy, PolicySet
from bot.store import Store

# Review reasons that do not say anything about the proposal itself: the bot would have
# routed the ticket alone were it not for them.
NOT_ABOUT_THE_PROPOSAL = frozenset(
    {"mode_shadow", "mode_suggest", "paused", "launch_gate", "surge"}
)
ROW_CAP = 5000  # per policy: the most recent decided tickets are enough for a precision


@dataclass(frozen=True)
class GateStatus:
    """Where a policy stands against the launch gate."""

    policy: str
    decided: int  # decided tickets the bot would have auto-routed, in the window
    correct: int  # of those, proposed tag == final tag
    precision: float | None  # correct / decided; None when nothing was decided
    meets: bool  # enough decided tickets and precision at or above the target
    min_decided: int
    target: float
    window_days: int
    model_versions: tuple[str, ...] | None = None  # whose proposals count; None: every model's

    def describe(self) -> str:
        """One line for Slack and the CLI, e.g. `precision 96.0% (48/50, 30 days); gate: 97% over ≥50`."""
        if self.precision is None:
            measured = f"precision – (no decided tickets in {self.window_days} days)"
        else:
            measured = (
                f"precision {self.precision:.1%} ({self.correct}/{self.decided}, "
                f"{self.window_days} days)"
            )
        if self.min_decided == 0:
            return f"{measured}; launch gate off"
        verdict = "met" if self.meets else "not met"
        return (
            f"{measured}; launch gate {verdict} "
            f"(needs {self.target:.0%} over at least {self.min_decided} decided)"
        )


def eligible(decision: str, guardrails: list[str] | None) -> bool:
    """Whether a proposal is one the bot would have routed without a human."""
    if decision == "auto":
        return True
    return set(guardrails or []) <= NOT_ABOUT_THE_PROPOSAL


def _measure(
    store: Store, policy: Policy, since: datetime, versions: Collection[str] | None = None
) -> tuple[int, int]:
    """(decided, correct) over the policy's most recent eligible decided tickets."""
    where = [
        col(Ticket.final_tag).is_not(None),
        col(Ticket.decided_at) >= since,
        col(Proposal.tag).in_(policy.tags),
    ]
    if versions is not None:
        where.append(col(Proposal.model_version).in_(list(versions)))
    with store.session() as session:
        rows = session.exec(
            select(
                Proposal.ticket_id,
                Proposal.tag,
                Proposal.decision,
                Proposal.guardrails,
                Ticket.final_tag,
            )
            .join(Ticket, col(Ticket.id) == col(Proposal.ticket_id))
            .where(*where)
            .order_by(col(Ticket.decided_at).desc(), col(Proposal.id).desc())
            .limit(ROW_CAP)
        ).all()
    seen: set[str] = set()
    decided = correct = 0
    for ticket_id, tag, decision, guardrails, final_tag in rows:
        if ticket_id in seen:  # the latest proposal of a ticket speaks for it
            continue
        seen.add(ticket_id)
        if not eligible(decision, guardrails):
            continue
        decided += 1
        correct += int(tag == final_tag)
    return decided, correct


def launch_gate(
    store: Store,
    policies: PolicySet,
    policy: Policy | str,
    now: datetime | None = None,
    versions: Collection[str] | None = None,
) -> GateStatus:
    """Measure one policy against the launch gate (used by /triage-status, App Home, digest).

    `versions`: the model versions whose proposals count (the live model's lineage).
    """
    if isinstance(policy, str):
        policy = policies.policies[policy]
    settings = policies.global_settings
    now = now or utcnow()
    since = now - timedelta(days=settings.launch_window_days)
    decided, correct = _measure(store, policy, since, versions)
    precision = correct / decided if decided else None
    if settings.launch_min_decided == 0:
        meets = True
    else:
        meets = (
            decided >= settings.launch_min_decided
            and precision is not None
            and precision >= settings.target_precision
        )
    return GateStatus(
        policy=policy.name,
        decided=decided,
        correct=correct,
        precision=precision,
        meets=meets,
        min_decided=settings.launch_min_decided,
        target=settings.target_precision,
        window_days=settings.launch_window_days,
        model_versions=tuple(versions) if versions is not None else None,
    )


def launch_gates(
    store: Store, policies: PolicySet, now: datetime | None = None
) -> dict[str, GateStatus]:
    """Every policy's gate status, by policy name."""
    now = now or utcnow()
    return {
        name: launch_gate(store, policies, policy, now)
        for name, policy in sorted(policies.policies.items())
    }
