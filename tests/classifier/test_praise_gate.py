"""The praise gate: `positive_feedback` auto-routes only when every tone signal agrees.

The complaints below were written for these tests; each is a kind of angry or sarcastic
message that reads like praise on the surface. The classifier's tag and confidence are
fixed (a topic model that calls them praise, as sure as can be), so only the gate decides.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.classifier.base import Sentiment
from bot.classifier.signals import MAX_SCAN_CHARS, read_signals
from bot.triage import AUTO, REVIEW, decide
from tests.classifier.test_guardrails import policies_from, prediction

PRAISE_GATE = {"complaint_veto", "sarcasm", "praise_unclear"}

SARCASTIC_PRAISE = [
    # sarcastic praise of something plainly bad
    "Truly impressed by your invoices. It only took me four emails and two phone calls "
    "to find out what I actually paid for.",
    "Wow, what a fantastic update: the app now logs me out every five minutes. Brilliant work.",
    # a complaint that names no product area, only the experience
    "Lost a whole afternoon on this and got nowhere, great experience.",
    "Spent my entire morning on your setup wizard and went nowhere. Amazing stuff, really.",
    # "loved" / "so happy" about bad weather, traffic, waiting
    "Loved sitting in traffic for two hours to pick up the replacement device, so happy.",
    "So happy to spend my Saturday waiting on hold in the pouring rain. Loved every minute.",
    "Really enjoyed waiting three weeks for a delivery that was cancelled anyway, thrilled.",
    # the one this product exists for
    "Great job charging me twice, you geniuses. I love paying for software I can't log into.",
]

CLEAR_PRAISE = [
    "Thank you so much! Your support team was wonderful and the new dashboard is brilliant. "
    "We love the product.",
    "Just wanted to say the new calendar view is fantastic. Great work, everyone, our team "
    "loves it!",
]


def praise(**extra):
    values = {"sentiment": Sentiment.POSITIVE, **extra}
    return prediction("positive_feedback", confidence=0.99, **values)


def reasons_are_sentences(result) -> None:
    for reason in result.reasons:
        code, _, sentence = reason.partition(": ")
        assert code and " " not in code and len(sentence.split()) >= 3, reason


@pytest.mark.parametrize("text", SARCASTIC_PRAISE)
def test_sarcastic_and_complaint_praise_goes_to_review_with_a_reason_in_words(text: str):
    result = decide("1", text, praise(), policies_from())
    assert result.decision == REVIEW
    assert PRAISE_GATE & set(result.guardrails), result.reasons
    assert result.sentiment is not Sentiment.POSITIVE
    reasons_are_sentences(result)
    assert any(r.split(":")[0] in PRAISE_GATE and "praise" in r for r in result.reasons)


@pytest.mark.parametrize("text", SARCASTIC_PRAISE)
def test_our_sentiment_of_the_sarcastic_examples_is_not_positive(text: str):
    assert read_signals(text).sentiment is not Sentiment.POSITIVE


def test_a_double_charge_is_named_as_such():
    text = "Love the app, amazing work, you folks rock! Got charged twice for March though."
    result = decide("1", text, praise(), policies_from())
    veto = next(r for r in result.reasons if r.startswith("complaint_veto:"))
    assert "reads like praise but mentions a double charge" in veto


@pytest.mark.parametrize("text", CLEAR_PRAISE)
def test_clear_praise_with_every_signal_agreeing_auto_routes(text: str):
    signals = read_signals(text)
    assert signals.sentiment is Sentiment.POSITIVE and not signals.has_complaint
    result = decide("1", text, praise(), policies_from())
    assert result.decision == AUTO, result.reasons
    assert result.sentiment is Sentiment.POSITIVE


def test_praise_never_auto_routes_against_a_negative_sentiment():
    text = CLEAR_PRAISE[0]
    result = decide("1", text, praise(sentiment=Sentiment.NEGATIVE), policies_from())
    assert result.decision == REVIEW and "praise_unclear" in result.guardrails
    assert any("the sentiment is negative" in r for r in result.reasons)


def test_praise_below_the_tags_threshold_still_goes_to_review():
    result = decide(
        "1",
        CLEAR_PRAISE[1],
        praise(calibrated_threshold=0.999),
        policies_from(),
    )
    assert result.decision == REVIEW and "low_confidence" in result.guardrails


def test_a_ticket_too_long_even_for_one_pass_goes_to_review_with_the_reason():
    text = CLEAR_PRAISE[1] + " Thanks again." * (MAX_SCAN_CHARS // 10)
    assert len(text) > MAX_SCAN_CHARS
    for tag in ("positive_feedback", "bug"):
        result = decide("1", text, prediction(tag), policies_from())
        assert result.decision == REVIEW and "too_long" in result.guardrails
        assert any(r.startswith("too_long: ") and "human" in r for r in result.reasons)


def test_a_long_ticket_within_the_limit_is_read_whole_by_the_guardrails():
    filler = "The weekly report looks as expected and the numbers add up fine. " * 2000
    text = "Love the app, great work! " + filler + "We were charged twice for March."
    assert len(text) < MAX_SCAN_CHARS
    result = decide("1", text, praise(), policies_from())
    assert "too_long" not in result.guardrails
    assert "complaint_veto" in result.guardrails and "money" in " ".join(result.reasons)


# Questions and requests that use praise words; written for these tests.
QUESTIONS = [
    "what is the best way to get to the airport from downtown",
    "show me the hotels in town with really great reviews",
    "Is your new dashboard any good for a small team?",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_a_question_with_praise_words_is_not_praise(text: str):
    result = decide("1", text, praise(), policies_from())
    assert result.decision == REVIEW and "praise_unclear" in result.guardrails
    assert any("question or a request" in r for r in result.reasons)


def test_praise_the_gate_agrees_on_is_not_held_as_unfamiliar():
    # Praise is about anything: once every tone signal agrees, "unlike our tickets" is no
    # reason for a human. The same note still holds every other tag, and praise the gate
    # doubts keeps both reasons.
    text = "What a wonderful evening with the whole team, thank you all, it was brilliant!"
    result = decide("1", text, praise(notes=["unfamiliar"]), policies_from())
    assert result.decision == AUTO, result.reasons
    other = decide("1", text, prediction("how_to", notes=["unfamiliar"]), policies_from())
    assert other.decision == REVIEW and "unfamiliar" in other.guardrails
    doubted = decide("1", SARCASTIC_PRAISE[-1], praise(notes=["unfamiliar"]), policies_from())
    assert doubted.decision == REVIEW
    assert "unfamiliar" in doubted.guardrails and PRAISE_GATE & set(doubted.guardrails)


def ranked_praise(first: float, second: str, runner: float, **extra):
    """A praise prediction from a model that knows every tag's threshold."""
    thresholds = dict.fromkeys(("account_access", "billing", "bug", "cancellation"), 0.9)
    thresholds |= {"feature_request": 0.9, "how_to": 0.9, "positive_feedback": 0.4}
    thresholds["security"] = 0.9
    p = prediction("positive_feedback", confidence=first, calibrated_threshold=0.4, **extra)
    scores = dict.fromkeys(p.scores, 0.0)
    scores |= {"positive_feedback": first, second: runner, "bug": 1.0 - first - runner}
    return replace(p, scores=scores, tag_thresholds=thresholds)


def test_praise_the_tone_does_not_agree_with_gives_way_to_the_next_tag():
    # A plain question the topic model calls praise: our tone reading is not positive, so
    # the next tag is proposed, with the other tags' probabilities renormalised, and judged
    # by its own threshold.
    text = "How do I export last month's invoices as a spreadsheet?"
    result = decide("1", text, ranked_praise(0.5, "how_to", 0.49), policies_from())
    assert result.tag == "how_to" and result.confidence == pytest.approx(0.98)
    assert result.scores["positive_feedback"] == 0.0
    assert result.decision == AUTO, result.reasons
    # not sure enough of the next tag either: a human, with that tag proposed
    result = decide("1", text, ranked_praise(0.5, "how_to", 0.3), policies_from())
    assert result.tag == "how_to" and result.decision == REVIEW
    assert "low_confidence" in result.guardrails


def test_praise_with_a_complaint_stays_praise_for_the_gate_to_name():
    # The tone model leads with positive; a complaint overturned it: the reviewer sees
    # "reads like praise but mentions a double charge".
    text = "Love the app, great work! Got charged twice for March."
    result = decide("1", text, ranked_praise(0.6, "billing", 0.39), policies_from())
    assert result.tag == "positive_feedback" and result.decision == REVIEW
    assert "complaint_veto" in result.guardrails, result.reasons


def test_sarcastic_praise_that_reads_negative_gets_the_complaints_area_and_a_human():
    # "Great job charging me twice, you geniuses" is billing, never praise; sarcasm still
    # sends it to a human.
    result = decide("1", SARCASTIC_PRAISE[-1], ranked_praise(0.6, "billing", 0.39), policies_from())
    assert result.tag == "billing" and result.decision == REVIEW
    assert "sarcasm" in result.guardrails, result.reasons


def test_clear_praise_stays_praise():
    result = decide("1", CLEAR_PRAISE[0], ranked_praise(0.6, "how_to", 0.39), policies_from())
    assert result.tag == "positive_feedback" and result.decision == AUTO, result.reasons
