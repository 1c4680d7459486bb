"""End to end: the trained model's version is recorded with every proposal and in the audit log."""

from __future__ import annotations

from bot.classifier.local import LocalModel
from tests.conftest import BotUnderTest


async def test_proposal_and_audit_carry_the_model_version(bot: BotUnderTest):
    assert isinstance(bot.runtime.classifier, LocalModel)
    body = (
        "Hi, I was charged twice for my Pro subscription this month, two payments of $49 "
        "on my credit card. Please refund one of them."
    )
    await bot.post_tickets({"id": "mv-1", "subject": "Charged twice", "body": body})
    await bot.slack.wait_for(lambda s: bot.proposal_for("mv-1") is not None)
    version = bot.runtime.classifier.version
    proposal = bot.runtime.store.latest_proposal("mv-1")
    assert proposal.model_version == version and version.startswith("tfidf-")
    assert proposal.tag == "billing" and proposal.decision == "auto"
    proposed = next(
        e for e in bot.runtime.store.audit_events(ticket_id="mv-1") if e.action == "proposed"
    )
    assert proposed.detail["model_version"] == version
