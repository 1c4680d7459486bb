"""Human decisions in the store as training examples.

An approve confirms the tag the bot proposed; a reassign gives the corrected tag. The
latest human decision on a ticket wins (a reassign after an approve corrects it). The
bot's own auto-routes are not labels and are never learned from.

A fixed share of the human-labelled tickets (by a hash of the ticket id) is never trained
on: it is where a new model and the live one are scored side by side before a promotion
(bot.classifier.governance). Since no model ever fitted or calibrated on those tickets,
the comparison is fair to both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.classifier.training import Example
from bot.models import Decision, DecisionAction, Ticket

HUMAN_LABEL_ACTIONS = (DecisionAction.APPROVE.value, DecisionAction.REASSIGN.value)
SHADOW_SHARE = 25  # percent of human-labelled tickets kept out of training for shadow scoring


def is_shadow_reserved(ticket_id: str) -> bool:
    """Whether a ticket belongs to the shadow-scoring share (fixed: the same id, the same answer)."""
    digest = hashlib.sha256(f"shadow:{ticket_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < SHADOW_SHARE


def human_labels(engine: Engine) -> dict[str, str]:
    """Ticket id -> the tag its latest human decision gave (approve or reassign)."""
    latest: dict[str, str] = {}
    with Session(engine) as session:
        rows = session.exec(
            select(Decision)
            .where(Decision.action.in_(HUMAN_LABEL_ACTIONS))  # type: ignore[attr-defined]
            .order_by(Decision.at, Decision.id)  # type: ignore[arg-type]
        ).all()
        for decision in rows:
            tag = (
                decision.tag
                if decision.action == DecisionAction.REASSIGN
                else (decision.tag or decision.proposed_tag)
            )
            if tag:
                latest[decision.ticket_id] = tag
    return latest


def human_examples(
    engine: Engine,
    tags: tuple[str, ...] | list[str],
    exclude: Callable[[str], bool] | None = None,
) -> list[Example]:
    """One example per ticket a human labelled with a known tag, in ticket-id order.

    `exclude(ticket_id)` leaves tickets out (the shadow-scoring share, for training).
    """
    known = set(tags)
    latest = human_labels(engine)
    examples = []
    with Session(engine) as session:
        for ticket_id in sorted(latest):
            tag = latest[ticket_id]
            if tag not in known or (exclude is not None and exclude(ticket_id)):
                continue
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                continue
            text = f"{ticket.subject}\n{ticket.body}".strip()
            if text:
                examples.append(Example(f"human:{ticket_id}", text, tag))
    return examples
