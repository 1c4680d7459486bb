"""Shadow mode: agents tag the ticket themselves; the bot's proposal is never shown.

Why: a proposal anchors the human who sees it, so precision measured on "approved"
proposals flatters the bot. In shadow mode the proposal is stored and audited but no
message shows it (tag, confidence, reasons), and there is no Approve button, since there
is nothing visible to approve. The human's pick (the Reassign select) is then compared
with the hidden proposal by the launch gate (bot.ownership.gate).
"""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, PlainTextObject, StaticSelectElement

from bot import blocks as kit
from bot.models import Proposal

SHADOW_CODE = "mode_shadow"
HANDOFF_REASON = "Shadow mode: the bot's guess stays hidden; pick the tag yourself."
APPROVE_REFUSED = (
    "This policy is in shadow mode: there is no proposal to approve. "
    "Pick the tag with *Reassign*; the bot's hidden guess is scored against your choice."
)


def is_shadow(proposal: Proposal | None) -> bool:
    """Whether a proposal was made in shadow mode (its guardrails say so)."""
    return proposal is not None and SHADOW_CODE in (proposal.guardrails or [])


def without_approve(blocks: list[Block]) -> list[Block]:
    """The same blocks with every Approve button removed."""
    for block in blocks:
        if isinstance(block, ActionsBlock):
            block.elements = [
                e for e in block.elements if getattr(e, "action_id", None) != kit.ActionId.APPROVE
            ]
    return blocks


def review_message(
    ticket: kit.TicketView, proposal: kit.ProposalView, tags: list[str], excerpt_chars: int
) -> list[Block]:
    """The ticket, a note that the guess is hidden, and Reassign (pick a tag) + Not sure."""
    hidden = kit.ProposalView(
        tag="",
        confidence=0.0,
        sentiment="",
        decision="review",
        reasons=[],
        policy=None,
        show=False,
    )
    del proposal  # nothing of the real proposal may reach the message
    controls = kit.triage_controls(ticket.id, tags, approve=False)
    for element in controls.elements:
        if isinstance(element, StaticSelectElement):
            element.placeholder = PlainTextObject(text="Pick the tag…")
    return [*kit.ticket_blocks(ticket, excerpt_chars), kit.proposal_summary(hidden), controls]
