"""Messages serialise exactly as slack_sdk would, without its reflective to_dict."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import ActionsBlock, Block

from bot import blocks as kit

ALPHABET = string.printable + 'é€\u2028\u200b"\\<>&*_~`'


def _text(rng: random.Random, most: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, most)))


def _slack_sdk(blocks: list[Block]) -> list[dict]:
    """The reference: slack_sdk's own serialisation of each block."""
    return [ActionsBlock.to_dict(b) if isinstance(b, ActionsBlock) else b.to_dict() for b in blocks]


def test_every_kind_of_message_serialises_as_slack_sdk_would():
    rng = random.Random(7)
    for _ in range(400):
        ticket = kit.TicketView(
            id=_text(rng, 30) or "T1",
            subject=_text(rng, 200),
            body=_text(rng, 4000),
            requester=_text(rng, 40),
            redact_pii=rng.random() < 0.5,
            url=rng.choice(["", "https://help.example.com/t/1"]),
        )
        proposal = kit.ProposalView(
            tag=rng.choice(["billing", "bug"]),
            confidence=rng.random(),
            sentiment=rng.choice(["negative", "neutral", "positive"]),
            decision=rng.choice(["review", "auto"]),
            reasons=rng.choice([[], ["low_confidence: 0.41 < 0.8"]]),
            policy=rng.choice([None, "billing"]),
            show=rng.random() < 0.8,
        )
        tags = rng.choice([["billing", "bug", "how_to"], [_text(rng, 90) or "x" for _ in range(4)]])
        excerpt = rng.randint(0, 3000)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        for message in (
            kit.review_message(ticket, proposal, tags, excerpt),
            kit.auto_routed_message(ticket, proposal, tags, excerpt, "C0ROUTE"),
            kit.decided_message(ticket, proposal, _text(rng, 80), excerpt),
            kit.claimed_message(ticket, "U1", now, tags, excerpt),
            kit.route_message(ticket, "bug", "approved by <@U1>", excerpt, "warning"),
        ):
            assert kit.to_dicts(message) == _slack_sdk(message)


def test_controls_of_two_messages_share_nothing_mutable():
    tags = ["billing", "bug"]
    first = kit.to_dicts([kit.triage_controls("A", tags)])[0]
    second = kit.to_dicts([kit.triage_controls("B", tags)])[0]
    first["elements"][1]["options"][0]["value"] = "changed"
    assert second["elements"][1]["options"][0]["value"] == "billing"
    assert second["block_id"] == "triage:B" and second["elements"][0]["value"] == "B"


def test_a_block_id_slack_would_refuse_is_refused_as_before():
    with pytest.raises(SlackObjectFormationError):
        kit.to_dicts([kit.triage_controls("x" * 300, ["billing"])])


def test_controls_changed_after_they_were_built_serialise_as_changed():
    """Shadow mode takes Approve out of a built message: the cached form must not bring it back."""
    from bot.ownership import shadow

    built = kit.claimed_message(
        kit.TicketView(id="S-3", subject="s", body="b", requester="", redact_pii=False, url=""),
        "U1",
        datetime(2026, 11, 30, tzinfo=UTC),
        ["billing", "bug"],
        200,
    )
    controls = kit.to_dicts(shadow.without_approve(built))[-1]
    assert [e["action_id"] for e in controls["elements"]] == ["triage_reassign"]
    assert controls == _slack_sdk([built[-1]])[0]
