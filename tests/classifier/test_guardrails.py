"""Each guardrail fires with its name in `reasons`, and only when it should."""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import pytest

from bot.classifier import load_classifier
from bot.classifier.base import DEFAULT_TAGS, Prediction, Sentiment
from bot.classifier.signals import read_signals
from bot.policies import PolicySet, load_policies
from bot.triage import AUTO, REVIEW, decide, triage_text
from tests.classifier.conftest import ROOT
from tests.conftest import make_settings

SARCASM = "Great job charging me twice, you geniuses. I love paying for software I can't log into."
LONG_ENOUGH = "The reports page shows an error every time I open it since the update yesterday."


def policies_from(directory: Path = ROOT / "policies") -> PolicySet:
    policy_set, problems = load_policies(directory)
    assert policy_set is not None and not problems
    return policy_set


def prediction(tag: str, confidence: float = 0.99, runner: float = 0.0, **extra) -> Prediction:
    scores = dict.fromkeys(DEFAULT_TAGS, 0.0)
    scores[tag] = confidence
    other = next(t for t in DEFAULT_TAGS if t != tag)
    scores[other] = runner
    values = {"sentiment": Sentiment.NEUTRAL, "model_version": "test", "calibrated_threshold": 0.5}
    values.update(extra)
    return Prediction(tag=tag, confidence=confidence, scores=scores, **values)


@pytest.fixture(scope="module")
def bundled():
    return load_classifier(
        "local", settings=make_settings(model_path=ROOT / "bot/classifier/data/triage-model.npz")
    )


def codes(result) -> list[str]:
    assert len(result.reasons) >= len(result.guardrails)
    for code in result.guardrails:
        assert any(r.startswith(code.split("_")[0]) for r in result.reasons)
    return result.guardrails


def test_clean_confident_ticket_auto_routes():
    result = decide("1", LONG_ENOUGH, prediction("bug"), policies_from())
    assert result.decision == AUTO and result.reasons == []


def test_complaint_veto_stops_praise_that_carries_a_complaint_and_fixes_its_sentiment():
    text = "Love the app, amazing work! But I was charged twice and I am locked out of my account."
    result = decide(
        "1", text, prediction("positive_feedback", sentiment=Sentiment.POSITIVE), policies_from()
    )
    assert result.decision == REVIEW
    assert "complaint_veto" in codes(result)
    veto = next(r for r in result.reasons if r.startswith("complaint_veto"))
    assert "money" in veto and "access" in veto
    assert result.sentiment is not Sentiment.POSITIVE


def test_the_readme_sarcasm_case_goes_to_review_with_a_named_reason(bundled):
    result = triage_text("s", SARCASM, bundled, policies_from())
    assert result.decision == REVIEW
    assert result.tag != "positive_feedback" or "complaint_veto" in result.guardrails
    assert {"sarcasm", "complaint_veto"} & set(result.guardrails)
    assert result.sentiment is Sentiment.NEGATIVE


@pytest.mark.parametrize(
    "text",
    [
        "Oh great, the export crashed again. Really loving this update.",
        "Thanks a lot for nothing. Third time I ask about my refund and nobody answers.",
        "Wonderful service, truly. Please cancel my account, switching to a cheaper tool.",
        "Fantastic, another invoice with the wrong amount. Well done 👏",
    ],
)
def test_sarcasm_on_any_tag_goes_to_review(text: str):
    signals = read_signals(text)
    assert signals.sarcasm and signals.sentiment is Sentiment.NEGATIVE
    result = decide("1", text, prediction("billing"), policies_from())
    assert "sarcasm" in codes(result) and result.decision == REVIEW


@pytest.mark.parametrize(
    "text",
    [
        "Thanks in advance! I can't log in since this morning, the reset link never arrives.",
        "Many thanks for your help. The export is still broken though, please have a look.",
        "I really love your product, but I was charged twice this month and need a refund.",
        "Sorry to bother you again. The invoice for March is missing our VAT number.",
    ],
)
def test_politeness_and_sincere_praise_before_a_complaint_are_not_sarcasm(text: str):
    assert not read_signals(text).sarcasm


def test_sincere_thanks_are_positive_and_not_sarcasm():
    signals = read_signals("Thanks a lot for your help, you guys are geniuses! Kudos to the team.")
    assert not signals.sarcasm and signals.complaints == ()
    assert signals.sentiment is Sentiment.POSITIVE


def test_quoted_support_reply_does_not_count_as_the_customers_praise():
    text = (
        "The calendar sync is not working since Monday, events are missing.\n\n"
        "On Friday, Support <support@example.com> wrote:\n> Great news, amazing, we love it!\n"
    )
    assert not read_signals(text).sarcasm


def test_no_go_tags_never_auto_route_as_policy_configuration(tmp_path: Path):
    text = "We saw a suspicious login from another country and think our account was hacked."
    result = decide("1", text, prediction("security", confidence=1.0), policies_from())
    assert result.decision == REVIEW and "no_go" in codes(result)
    # The same prediction routes once the policy no longer lists the tag as no-go.
    edited = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", edited)
    path = edited / "security.yml"
    path.write_text(path.read_text().replace("no_go: [security]", "no_go: []"))
    assert (
        decide("1", text, prediction("security", confidence=1.0), policies_from(edited)).decision
        == AUTO
    )


def test_a_small_gap_between_the_top_two_tags_is_ambiguous():
    result = decide(
        "1", LONG_ENOUGH, prediction("bug", confidence=0.55, runner=0.45), policies_from()
    )
    assert "ambiguous" in codes(result) and result.decision == REVIEW
    clear = decide(
        "1", LONG_ENOUGH, prediction("bug", confidence=0.9, runner=0.05), policies_from()
    )
    assert "ambiguous" not in clear.guardrails


@pytest.mark.parametrize("text", ["", "   ", "🎉🎉🎉🎉", "?? !! ...", "x"])
def test_unusable_text_goes_to_review_with_that_reason(text: str):
    result = decide("1", text, prediction("bug"), policies_from())
    assert "unusable_text" in codes(result) and result.decision == REVIEW


def test_too_short_text_goes_to_review_unless_min_words_is_zero(tmp_path: Path):
    text = "Invoice amount?"
    result = decide("1", text, prediction("billing"), policies_from())
    assert "too_short" in codes(result)
    edited = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", edited)
    global_file = edited / "_global.yml"
    global_file.write_text(global_file.read_text().replace("min_words: 3", "min_words: 0"))
    assert decide("1", text, prediction("billing"), policies_from(edited)).decision == AUTO


def test_a_ticket_about_two_areas_is_flagged_multi_issue(bundled):
    text = (
        "Hi,\n1) Our invoice for March shows the wrong amount, we were billed for 12 extra seats.\n"
        "2) Also the two-factor codes are rejected and I am locked out of my account."
    )
    prediction_ = bundled.predict(text)
    assert any(n.startswith("multi_issue:") for n in prediction_.notes)
    result = decide("1", text, prediction_, policies_from())
    assert "multi_issue" in codes(result) and result.decision == REVIEW
    single = bundled.predict(
        "Our invoice for March shows the wrong amount, we were billed for 12 extra seats."
    )
    assert not any(n.startswith("multi_issue") for n in single.notes)


def test_only_counted_lists_and_worded_markers_split_a_ticket():
    from bot.classifier.segments import split_issues

    # A sentence ending in a number is not an enumeration.
    prose = (
        "The export has been slow for 5. Next we tried the other browser and waited for 3. "
        "Then it failed on page 2. Nothing else changed on our side this week."
    )
    assert split_issues(prose) == [prose]
    # A list of one, or numbers that do not count up from 1, are not separate issues either.
    assert len(split_issues("Steps we took: 1. opened the billing page and saw nothing")) == 1
    listed = (
        "Two things:\n1. The invoice for March shows the wrong amount for our seats.\n"
        "2. The login page rejects every two-factor code we type in."
    )
    assert [p.strip()[:2] for p in split_issues(listed)] == ["1.", "2."]
    worded = (
        "The invoice for March shows the wrong amount for our seats. "
        "Also, unrelated: the login page rejects every code we type."
    )
    assert len(split_issues(worded)) == 2


def test_a_number_at_a_sentence_end_never_flags_multi_issue(bundled):
    text = (
        "We were billed for 12 seats but we only have 5. Next month we add 3. "
        "Please correct the invoice amount for March and send a new copy."
    )
    assert not any(n.startswith("multi_issue") for n in bundled.predict(text).notes)


def test_calibrated_threshold_comes_from_the_prediction_and_a_pinned_one_wins(tmp_path: Path):
    policies = policies_from()
    assert policies.policies["bug"].threshold == "calibrated"
    low = decide(
        "1", LONG_ENOUGH, prediction("bug", confidence=0.6, calibrated_threshold=0.55), policies
    )
    assert low.decision == AUTO
    high = decide(
        "1", LONG_ENOUGH, prediction("bug", confidence=0.6, calibrated_threshold=0.7), policies
    )
    assert "low_confidence" in high.guardrails and "0.70" in " ".join(high.reasons)
    never = decide(
        "1", LONG_ENOUGH, prediction("bug", confidence=1.0, calibrated_threshold=math.inf), policies
    )
    assert "low_confidence" in never.guardrails and "never auto-routes" in " ".join(never.reasons)
    # No calibrated threshold (e.g. another classifier): the global default applies.
    default = policies.global_settings.default_threshold
    assert policies.threshold(policies.policies["bug"], None) == default
    edited = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", edited)
    bug = edited / "bug.yml"
    bug.write_text(bug.read_text().replace("threshold: calibrated", "threshold: 0.95"))
    pinned = decide(
        "1",
        LONG_ENOUGH,
        prediction("bug", confidence=0.9, calibrated_threshold=0.5),
        policies_from(edited),
    )
    assert "low_confidence" in pinned.guardrails and "0.95" in " ".join(pinned.reasons)


def test_no_praise_auto_routes_among_the_held_out_complaint_and_sarcasm_cases(bundled):
    policies = policies_from()
    kinds = {"sarcasm", "praise_wrapped_complaint", "complaint_wrapped_thanks"}
    with (ROOT / "data" / "tickets_test.csv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["hard"] in kinds]
    assert len(rows) >= 100
    for row in rows:
        result = triage_text(
            row["id"], f"{row['subject']}\n{row['body']}".strip(), bundled, policies
        )
        assert not (result.decision == AUTO and result.tag == "positive_feedback"), row["id"]
        if result.tag == "positive_feedback":
            assert result.sentiment is not Sentiment.POSITIVE


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Я не могу войти в свой аккаунт, пароль не работает уже второй день.", "cyrillic"),
        ("パスワードをリセットできません。ログインできません。助けてください。", "cjk"),
        (
            "Non riesco ad accedere al mio account, la password non funziona e ho bisogno di aiuto.",
            "it",
        ),
        (
            "Nie mogę się zalogować do mojego konta, proszę o pomoc jak najszybciej, to jest pilne.",
            "pl",
        ),
    ],
)
def test_a_clearly_unsupported_language_goes_to_review(text: str, code: str):
    result = decide("1", text, prediction("account_access"), policies_from())
    assert result.decision == REVIEW
    assert "unsupported_language" in codes(result) or "unusable_text" in result.guardrails
    if "unsupported_language" in result.guardrails:
        assert f"'{code}'" in " ".join(result.reasons)


def test_only_english_is_routed_by_default_and_the_list_is_policy_configuration(tmp_path: Path):
    german = "Hallo, ich kann mich nicht mehr anmelden, der Link zum Zurücksetzen des Passworts kommt nicht an."
    result = decide("1", german, prediction("account_access"), policies_from())
    assert "unsupported_language" in codes(result)
    edited = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", edited)
    global_file = edited / "_global.yml"
    global_file.write_text(
        global_file.read_text().replace("languages: [en]", "languages: [en, de]")
    )
    assert decide("1", german, prediction("account_access"), policies_from(edited)).decision == AUTO
    global_file.write_text(global_file.read_text().replace("languages: [en, de]", "languages: []"))
    assert decide("1", german, prediction("account_access"), policies_from(edited)).decision == AUTO


def test_keyboard_mash_is_unusable_text():
    result = decide(
        "1", "asdkjhf qwrtplk zxcvbnm sdfghjk wqrtzp lkjhgf", prediction("bug"), policies_from()
    )
    assert "unusable_text" in codes(result) and "garbled" in " ".join(result.reasons)


def test_no_english_ticket_of_the_labelled_files_trips_the_language_guardrails():
    policies = policies_from()
    for name in ("tickets_train.csv", "tickets_test.csv"):
        with (ROOT / "data" / name).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                text = f"{row['subject']}\n{row['body']}".strip()
                result = decide(row["id"], text, prediction(row["tag"]), policies)
                if row["lang"] in ("", "en"):
                    assert "unsupported_language" not in result.guardrails, row["id"]
                assert not any("garbled" in r for r in result.reasons), row["id"]
