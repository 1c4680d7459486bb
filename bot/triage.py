"""From a prediction to a decision: thresholds, guardrails, pauses and modes.

This is where "only what the bot is measurably sure of is routed without a human"
is enforced. Every reason a ticket goes to review is named, so the Slack post and
the audit log can say why.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _json_str  # a str as JSON, non-ASCII kept
from typing import TYPE_CHECKING

from bot.classifier.base import Classifier, Prediction, Sentiment
from bot.classifier.language import detect as detect_language
from bot.classifier.no_go import no_go_topics
from bot.classifier.praise import GATE_CODES, praise_gate, reads_as_question
from bot.classifier.signals import MAX_SCAN_CHARS, read_signals
from bot.frozen import fast_init
from bot.policies import ALL, Mode, Policy, PolicySet

if TYPE_CHECKING:
    from bot.ownership.modes import EffectiveMode

AUTO = "auto"
REVIEW = "review"
POSITIVE_TAGS = frozenset({"positive_feedback"})
LLM_ERROR_NOTE = "llm_error"  # a Prediction note with this prefix sends the ticket to review
LLM_INFO_NOTES = ("llm_budget",)  # notes worth showing a reviewer, without forcing review
MULTI_ISSUE_NOTE = "multi_issue"  # a Prediction note: the ticket's parts are about different tags
UNFAMILIAR_NOTE = "unfamiliar"  # a Prediction note: the text is unlike the model's training data
UNFAMILIAR_WHY = (
    "this text is unlike the tickets the model learned from (another product or topic, "
    "a kind of text such as a stack trace, code, chat or news, or another way of writing), "
    "so its tag is only a guess"
)
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


@fast_init
@dataclass(frozen=True)
class TriageResult:
    """The bot's proposal for one ticket and whether it may route it alone."""

    ticket_id: str
    tag: str
    confidence: float
    sentiment: Sentiment
    decision: str
    policy: str | None
    reasons: list[str]
    guardrails: list[str]
    scores: dict[str, float] = field(default_factory=dict)
    model_version: str = ""

    def as_output(self) -> dict[str, object]:
        """The `classify --format jsonl` record (interfaces.md)."""
        return {
            "ticket_id": self.ticket_id,
            "tag": self.tag,
            "confidence": round(self.confidence, 4),
            "sentiment": str(self.sentiment),
            "decision": self.decision,
            "policy": self.policy,
            "reasons": self.reasons,
        }

    def jsonl_line(self) -> str:
        """`json.dumps(self.as_output(), ensure_ascii=False)`, written out field by field:
        `classify` prints one per ticket, and a general encoder call costs twice as much."""
        confidence = round(self.confidence, 4)
        if (
            type(confidence) is not float
            or not math.isfinite(confidence)
            or type(self.ticket_id) is not str
        ):
            return json.dumps(self.as_output(), ensure_ascii=False)
        policy = "null" if self.policy is None else _json_str(self.policy)
        reasons = ", ".join(map(_json_str, self.reasons))
        return (
            f'{{"ticket_id": {_json_str(self.ticket_id)}, "tag": {_json_str(self.tag)}, '
            f'"confidence": {float.__repr__(confidence)}, '
            f'"sentiment": {_json_str(str(self.sentiment))}, '
            f'"decision": {_json_str(self.decision)}, "policy": {policy}, '
            f'"reasons": [{reasons}]}}'
        )


def count_words(text: str, limit: int) -> int:
    """How many words the text has, counting no further than `limit` (exact below it):
    a rule about a minimum never needs to read a long ticket to its end."""
    count = at = 0
    search = _WORD.search  # one search per word: cheaper than an iterator for a few words
    while count < limit and (word := search(text, at)) is not None:
        count += 1
        at = word.end()
    return count


def usable_text(text: str) -> bool:
    """Whether there is enough language in the text to classify at all."""
    return count_words(text, 2) >= 2


def _praise_gate(text: str, prediction: Prediction, signals) -> list[tuple[str, str]]:
    """Praise auto-routes only when tone, complaint and sarcasm signals all agree."""
    from bot.classifier.sentiment import tone_model

    model = tone_model()
    return praise_gate(
        text, signals, prediction.sentiment, model.praise_margin, model.sarcasm_threshold
    )


def _guardrails(
    text: str, prediction: Prediction, policy: Policy | None, policies: PolicySet
) -> list[tuple[str, str]]:
    """Every guardrail that objects to auto-routing, as (code, human explanation)."""
    fired: list[tuple[str, str]] = []
    words = count_words(text, max(policies.global_settings.min_words, 2))
    language = detect_language(text)
    allowed = policies.global_settings.languages
    if words < 2:  # usable_text: counted up to at least 2, so exact there
        fired.append(("unusable_text", "the ticket has too little readable text to classify"))
    elif language.garbled:
        fired.append(("unusable_text", "the text looks garbled (most words are not words)"))
    elif allowed and language.code is not None and language.code not in allowed:
        fired.append(
            (
                "unsupported_language",
                f"written in '{language.code}', not one of the languages routed "
                f"automatically ({', '.join(allowed)})",
            )
        )
    elif words < policies.global_settings.min_words:
        fired.append(
            (
                "too_short",
                f"only {words} words; too little to route without a human "
                f"(min_words {policies.global_settings.min_words})",
            )
        )
    if len(text) > MAX_SCAN_CHARS:
        fired.append(
            (
                "too_long",
                f"{len(text):,} characters; the guardrails read at most {MAX_SCAN_CHARS:,}, "
                "so a human must read it",
            )
        )
    signals = read_signals(text)
    praise_agreed = False
    if prediction.tag in POSITIVE_TAGS:
        objections = _praise_gate(text, prediction, signals)
        fired.extend(objections)
        praise_agreed = not objections
    elif signals.sarcasm:
        fired.append(("sarcasm", "sarcastic tone; a human should read it"))
    if policy is not None and prediction.tag in policy.no_go:
        fired.append(("no_go", f"'{prediction.tag}' never auto-routes (policy {policy.name})"))
    topics = no_go_topics(text, policies.global_settings.no_go_topics)
    if topics:
        fired.append(("no_go", f"touches {', '.join(topics)}; never routed without a human"))
    notes = prediction.notes  # most tickets have none
    for note in notes:
        if note.startswith(LLM_ERROR_NOTE):
            # The LLM classifier failed or answered nonsense: a human tags this one.
            why = note.split(":", 1)[1].strip() if ":" in note else "the LLM classifier failed"
            fired.append(("llm_error", why))
    for note in notes:
        if note.startswith(MULTI_ISSUE_NOTE + ":"):
            areas = note.split(":", 1)[1].replace("+", ", ")
            fired.append(("multi_issue", f"the ticket raises separate issues ({areas})"))
    # Praise is what its tone says, whatever it is about: once the praise gate (a tone model
    # trained on real text, complaint and sarcasm signals) agrees, "unlike our tickets" is
    # no reason to doubt the tag. Every other tag is only as good as the topic model.
    unfamiliar = bool(notes) and any(
        n == UNFAMILIAR_NOTE or n.startswith(UNFAMILIAR_NOTE + ":") for n in notes
    )
    if unfamiliar and not praise_agreed:
        fired.append(("unfamiliar", UNFAMILIAR_WHY))
    runner_up = prediction.runner_up()
    margin = policies.global_settings.ambiguity_margin
    if runner_up and prediction.confidence - runner_up[1] < margin:
        fired.append(
            (
                "ambiguous",
                f"{prediction.tag} {prediction.confidence:.2f} vs "
                f"{runner_up[0]} {runner_up[1]:.2f} are too close",
            )
        )
    return fired


# Below this much probability left beside praise, the other tags' shares are rounding noise.
MIN_REST = 0.02


def without_praise(text: str, prediction: Prediction) -> Prediction:
    """Praise is the top tag only when our tone model agrees; otherwise the next tag.

    Real praise posts are informal and about anything, so the topic model reads much plain
    or informal text as praise. When our tone reading is not positive (or the text asks
    rather than says), praise is dropped, unless the tone model itself leads with positive
    and a complaint or sarcasm signal overturned it (sarcastic praise stays praise for the
    praise gate to name what is wrong); praise is dropped and the other tags' probabilities are
    renormalised: the ticket is judged, and shown to a reviewer, under its best real tag.
    Only for classifiers that give every tag's calibrated threshold (the local model).
    """
    if prediction.tag not in POSITIVE_TAGS or prediction.tag_thresholds is None:
        return prediction
    signals = read_signals(text)
    flagged = signals.sarcasm or signals.complaints or signals.learned_complaint != "none"
    if flagged and signals.positive_margin > 0:
        return prediction  # reads like praise, but ...: the praise gate says what
    if signals.sentiment is Sentiment.POSITIVE and not reads_as_question(text):
        return prediction
    rest = {t: p for t, p in prediction.scores.items() if t not in POSITIVE_TAGS}
    if not rest or max(rest.values()) <= 0.0:
        return prediction
    tag = max(rest, key=lambda t: rest[t])
    mass = sum(rest.values())
    scale = 1.0 / mass if mass >= MIN_REST else 1.0
    scores = {t: round(rest.get(t, 0.0) * scale, 4) for t in prediction.scores}
    return Prediction(
        tag=tag,
        confidence=scores[tag],
        sentiment=prediction.sentiment,
        scores=scores,
        model_version=prediction.model_version,
        notes=list(prediction.notes),
        calibrated_threshold=prediction.tag_thresholds.get(tag),
        tag_thresholds=prediction.tag_thresholds,
    )


def decide(
    ticket_id: str,
    text: str,
    prediction: Prediction,
    policies: PolicySet,
    paused: set[str] | frozenset[str] = frozenset(),
    modes: Mapping[str, EffectiveMode] | None = None,
) -> TriageResult:
    """Apply policy, guardrails, pauses and mode to a prediction.

    `modes` (bot.ownership.modes) are the effective modes: stored overrides and the
    launch gate. Without them (offline `classify`) the policy file's mode applies.
    """
    prediction = without_praise(text, prediction)
    policy = policies.for_tag(prediction.tag)
    sentiment = prediction.sentiment
    reasons: list[str] = []
    codes: list[str] = []
    if policy is None:
        codes.append("no_policy")
        reasons.append(f"no_policy: no policy covers tag '{prediction.tag}'")
    for code, why in _guardrails(text, prediction, policy, policies):
        codes.append(code)
        reasons.append(f"{code}: {why}")
    if sentiment is Sentiment.POSITIVE and {"complaint_veto", "sarcasm"} & set(codes):
        sentiment = Sentiment.NEGATIVE
    elif sentiment is Sentiment.POSITIVE and set(GATE_CODES) & set(codes):
        sentiment = read_signals(text).sentiment  # our own reading, never praise against it
    if policy is not None:
        threshold = policies.threshold(policy, prediction.calibrated_threshold)
        if prediction.confidence < threshold:
            codes.append("low_confidence")
            if math.isinf(threshold):
                reasons.append(
                    f"low_confidence: no threshold for '{prediction.tag}' reaches the target "
                    "precision on calibration data, so it never auto-routes"
                )
            else:
                reasons.append(
                    f"low_confidence: {prediction.confidence:.2f} is below "
                    f"{policy.name}'s threshold {threshold:.2f}"
                )
        if ALL in paused or policy.name in paused:
            which = "all automation" if ALL in paused else f"policy {policy.name}"
            codes.append("paused")
            reasons.append(f"paused: {which} is paused")
        effective = modes.get(policy.name) if modes else None
        mode = effective.mode if effective is not None else policy.mode
        if effective is not None and effective.held_by_gate:
            codes.append("launch_gate")
            reasons.append(effective.gate_reason())
        elif mode is not Mode.AUTO:
            codes.append(f"mode_{mode}")
            reasons.append(f"mode: policy {policy.name} is in {mode} mode")
    if codes and prediction.notes:
        # Informational notes (e.g. the LLM budget fallback) are shown to the reviewer too.
        reasons.extend(n for n in prediction.notes if n.startswith(LLM_INFO_NOTES))
    return TriageResult(
        ticket_id=ticket_id,
        tag=prediction.tag,
        confidence=prediction.confidence,
        sentiment=sentiment,
        decision=REVIEW if codes else AUTO,
        policy=policy.name if policy else None,
        reasons=reasons,
        guardrails=codes,
        scores=prediction.scores,
        model_version=prediction.model_version,
    )


def triage_text(
    ticket_id: str,
    text: str,
    classifier: Classifier,
    policies: PolicySet,
    paused: set[str] | frozenset[str] = frozenset(),
    modes: Mapping[str, EffectiveMode] | None = None,
) -> TriageResult:
    """Classify and decide in one step; never raises for any text."""
    return decide(ticket_id, text, classifier.predict(text), policies, paused, modes)
