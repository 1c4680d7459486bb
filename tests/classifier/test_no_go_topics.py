"""No-go topics never auto-route, whatever the classifier's confidence, and say which topic."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.classifier.base import Prediction, Sentiment
from bot.classifier.no_go import NO_GO_TOPICS, no_go_topics
from bot.policies import load_policies
from bot.triage import decide

ROOT = Path(__file__).resolve().parents[2]

CASES = {
    "legal_threat": "If this is not fixed by Friday my lawyer will be in touch about legal action.",
    "account_deletion": "Please delete all our data and close the workspace, under the right to erasure.",
    "chargeback": "I will file a chargeback with my card company if the double charge is not reversed.",
    "refund_or_discount_promise": "Your sales rep promised me a full refund if the import never worked.",
}


@pytest.mark.parametrize(("topic", "text"), list(CASES.items()))
def test_each_topic_is_detected(topic: str, text: str):
    assert topic in no_go_topics(text, list(NO_GO_TOPICS))


def test_ordinary_tickets_touch_no_topic():
    for text in [
        "How do I delete a project from my dashboard?",
        "I was charged twice this month, please refund one payment.",
        "Can I get a discount for a nonprofit?",
    ]:
        assert no_go_topics(text, list(NO_GO_TOPICS)) == []


@pytest.mark.parametrize(("topic", "text"), list(CASES.items()))
def test_a_confident_prediction_on_a_no_go_topic_goes_to_review(topic: str, text: str):
    policies, problems = load_policies(ROOT / "policies")
    assert problems == []
    prediction = Prediction("billing", 0.999, Sentiment.NEGATIVE, {"billing": 0.999}, "test")
    result = decide("t", text, prediction, policies)
    assert result.decision == "review"
    assert any(r.startswith("no_go:") and topic in r for r in result.reasons)


def test_unknown_topic_in_global_settings_is_a_policy_problem(tmp_path: Path):
    import shutil

    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    with (target / "_global.yml").open("a") as handle:
        handle.write("no_go_topics: [legal_threat, astrology]\n")
    _, problems = load_policies(target)
    assert any("astrology" in str(p) and "_global.yml" in str(p) for p in problems)


def test_a_capital_dotted_i_elsewhere_does_not_hide_a_capitalised_topic():
    # "İ" lower-cases to two characters; the one-pass scan must still read "Delete" as "delete".
    text = "İstanbul office here.\nDelete account and all our data, please. I was Charged twice."
    assert no_go_topics(text, ["account_deletion"]) == ["account_deletion"]
    from bot.classifier.signals import keyword_signals

    assert "money" in keyword_signals(text).complaints
