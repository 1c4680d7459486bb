"""Confidence is calibrated against human decisions, conservatively."""

from __future__ import annotations

import math

import pytest
from sqlmodel import Session

from bot.classifier.llm_calibration import EDGES, calibrated, fit, wilson_lower
from bot.classifier.llm_confidence import from_agreement, from_logprobs
from bot.models import Decision, Ticket, TicketStatus
from tests.fakes.openai_api import Reply, _tokens

TAGS = ("billing", "bug", "how_to")


def test_wilson_lower_bound_is_below_the_observed_rate_and_tightens_with_data():
    assert wilson_lower(0, 0) == 0.0
    small, large = wilson_lower(9, 10), wilson_lower(900, 1000)
    assert small < 0.9 and large < 0.9
    assert small < large
    assert wilson_lower(100, 100) < 1.0


def test_fit_needs_enough_decisions():
    assert fit([(0.9, True)] * 49) is None
    assert fit([(0.9, True)] * 50) is not None


def test_fit_is_monotone_and_never_above_what_humans_confirmed():
    pairs = [(0.97, True)] * 180 + [(0.97, False)] * 20  # 90% right at 0.97
    pairs += [(0.75, True)] * 30 + [(0.75, False)] * 30  # 50% right at 0.75
    pairs += [(0.85, True)] * 10 + [(0.85, False)] * 1  # few, noisy
    table = fit(pairs)
    assert table is not None and table.samples == len(pairs)
    assert list(table.values) == sorted(table.values)
    assert table.apply(0.97) < 0.9  # a lower bound, not the point estimate
    assert table.apply(0.97) > 0.85
    assert table.apply(0.75) < 0.5
    assert len(table.values) == len(EDGES)


def test_uncalibrated_caps():
    assert calibrated(0.99, None, agrees=True, local_confidence=0.8) == 0.8
    assert calibrated(0.6, None, agrees=True, local_confidence=0.8) == 0.6
    assert calibrated(0.99, None, agrees=False, local_confidence=0.8) == 0.5


def test_logprobs_spell_the_tag_and_offer_the_runner_up():
    content = '{"tag": "billing", "sentiment": "neutral", "reason": "x"}'
    tokens = _tokens(content, "billing", 0.8, "bug")
    raw = from_logprobs(content, tokens, "billing", TAGS)
    assert raw is not None and raw.method == "logprobs"
    assert raw.value == pytest.approx(0.8, abs=0.001)
    assert raw.scores["bug"] == pytest.approx(0.2, abs=0.001)


def test_logprobs_that_do_not_spell_the_answer_are_ignored():
    content = '{"tag": "billing", "sentiment": "neutral", "reason": "x"}'
    assert from_logprobs(content, [{"token": "nope", "logprob": -0.1}], "billing", TAGS) is None
    assert from_logprobs(content, None, "billing", TAGS) is None


def test_agreement_is_high_only_when_the_local_model_agrees():
    assert from_agreement("billing", "billing", {"billing": 0.8}).value == pytest.approx(0.9)
    disagree = from_agreement("billing", "bug", {"billing": 0.1, "bug": 0.7})
    assert disagree.value == pytest.approx(0.05)
    assert disagree.scores["bug"] == 0.7


def test_human_decisions_calibrate_the_llm(make_llm, fake_openai, engine):
    """Approvals and reassigns of LLM-proposed tickets become the calibration table."""
    fake_openai.default = Reply.good("billing", logprobs=True, probability=0.99)
    llm = make_llm(engine)
    # The text the service classifies is "subject\nbody".
    texts = [f"Invoice question {i}\nWhy was I charged this amount?" for i in range(60)]
    for text in texts:
        llm.predict(text)
    with Session(engine) as session:
        for index, text in enumerate(texts):
            ticket_id = f"cal-{index}"
            subject, body = text.split("\n", 1)
            session.add(
                Ticket(id=ticket_id, subject=subject, body=body, status=TicketStatus.ROUTED)
            )
            session.flush()
            right = index % 5 != 0  # humans confirm 80%
            session.add(
                Decision(
                    ticket_id=ticket_id,
                    action="approve" if right else "reassign",
                    tag="billing" if right else "bug",
                    proposed_tag="billing",
                    actor="U0AGENT",
                )
            )
        session.commit()

    llm.refit()
    prediction = llm.predict(texts[0])

    expected = wilson_lower(48, 60)
    assert prediction.confidence == pytest.approx(round(expected, 4), abs=1e-4)
    assert prediction.confidence < 0.8 < 0.99
    assert any("calibrated" in n for n in prediction.notes)
    assert not math.isnan(prediction.confidence)


@pytest.mark.parametrize("boot_seconds", [0.0, 12.5, 3599.0])
def test_calibration_applies_right_after_the_host_boots(
    make_llm, fake_openai, engine, boot_seconds
):
    """A monotonic clock counts from boot: a young host must still fit calibration at once."""
    fake_openai.default = Reply.good("billing", logprobs=True, probability=0.99)
    llm = make_llm(engine)
    llm.clock = lambda: boot_seconds
    texts = [f"Invoice question {i}\nWhy was I charged this amount?" for i in range(50)]
    for text in texts:
        llm.predict(text)
    with Session(engine) as session:
        for index, text in enumerate(texts):
            subject, body = text.split("\n", 1)
            session.add(
                Ticket(id=f"boot-{index}", subject=subject, body=body, status=TicketStatus.ROUTED)
            )
            session.flush()
            session.add(
                Decision(
                    ticket_id=f"boot-{index}",
                    action="approve",
                    tag="billing",
                    proposed_tag="billing",
                    actor="U0AGENT",
                )
            )
        session.commit()
    llm.refit()
    prediction = llm.predict(texts[0])
    assert any("calibrated" in n for n in prediction.notes)
    assert prediction.confidence == pytest.approx(round(wilson_lower(50, 50), 4), abs=1e-4)

    # Within the hour the table is cached; an hour later by the same clock it is refitted.
    llm.clock = lambda: boot_seconds + 10
    assert any("calibrated" in n for n in llm.predict(texts[1]).notes)
