"""The digest counts praise the praise gate held for a human, by each reason."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.digest.render import praise_gated_line
from bot.metrics import TicketFacts, compute_metrics

AT = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def fact(i: int, tag: str, decision: str, guardrails: tuple[str, ...]) -> TicketFacts:
    return TicketFacts(
        id=str(i),
        received_at=AT,
        policy=tag,
        decision=decision,
        proposed_tag=tag,
        guardrails=guardrails,
    )


def test_praise_held_for_review_is_counted_per_reason_and_nothing_else_is():
    facts = [
        fact(1, "positive_feedback", "review", ("complaint_veto", "sarcasm")),
        fact(2, "positive_feedback", "review", ("sarcasm",)),
        fact(3, "positive_feedback", "review", ("praise_unclear", "low_confidence")),
        fact(4, "positive_feedback", "auto", ()),
        fact(5, "billing", "review", ("sarcasm",)),  # not praise: not counted here
    ]
    metrics = compute_metrics(facts, [], ZoneInfo("UTC"))
    day = metrics.bucket(AT.date())
    assert dict(day.praise_gated) == {
        "complaint_veto": 1,
        "sarcasm": 2,
        "praise_unclear": 1,
        "low_confidence": 1,
    }
    line = praise_gated_line(day)
    assert line.startswith("Praise held for review: sarcasm 2")
    assert "complaint_veto 1" in line and "praise_unclear 1" in line


def test_a_day_without_held_praise_says_none():
    metrics = compute_metrics([fact(1, "bug", "review", ("sarcasm",))], [], ZoneInfo("UTC"))
    assert praise_gated_line(metrics.bucket(AT.date())) == "Praise held for review: none."
