"""Human decisions in the store as training examples.

An approve confirms the tag the bot proposed; a reassign gives the corrected tag. The
latest human decision on a ticket wins (a reassign after an approve corrects it). The
bot's own auto-routes are not labels and are never learned from.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.classifier.training import Example
from bot.models import Decision, DecisionAction, Ticket

HUMAN_LABEL_ACTIONS = (DecisionAction.APPROVE.value, DecisionAction.REASSIGN.value)


def human_examples(engine: Engine, tags: tuple[str, ...] | list[str]) -> list[Example]:
    """One example per ticket a human labelled with a known tag, in ticket-id order."""
    known = set(tags)
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
        examples = []
        for ticket_id in sorted(latest):
            tag = latest[ticket_id]
            ticket = session.get(Ticket, ticket_id)
            if ticket is None or tag not in known:
                continue
            text = f"{ticket.subject}\n{ticket.body}".strip()
            if text:
                examples.append(Example(f"human:{ticket_id}", text, tag))
    return examples
