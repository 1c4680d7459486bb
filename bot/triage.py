"""From a prediction to a decision: thresholds, guardrails, pauses and modes.

This is where "only what the bot is measurably sure of is routed without a human"
is enforced. Every reason a ticket goes to review is named, so the Slack post and
the audit log can say why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.classifier.base import Classifier, Prediction, Sentiment
from bot.classifier.signals import read_signals
from bot.policies import ALL, Mode, Policy, PolicySet

AUTO = "auto"
REVIEW = "review"
POSITIVE_TAGS = frozenset({"positive_feedback"})
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


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


def usable_text(text: str) -> bool:
    """Whether there is enough language in the text to classify at all."""
    return len(_WORD.findall(text)) >= 2


def _guardrails(
    text: str, prediction: Prediction, policy: Policy | None, policies: PolicySet
) -> list[tuple[str, str]]:
    """Every guardrail that objects to auto-routing, as (code, human explanation)."""
    fired: list[tuple[str, str]] = []
    if not usable_text(text):
        fired.append(("unusable_text", "the ticket has too little readable text to classify"))
    signals = read_signals(text)
    if prediction.tag in POSITIVE_TAGS and signals.has_complaint:
        found = ", ".join(signals.complaints + (("sarcasm",) if signals.sarcasm else ()))
        fired.append(("complaint_veto", f"praise wrapped around a complaint ({found})"))
    elif signals.sarcasm:
        fired.append(("sarcasm", "sarcastic tone; a human should read it"))
    if policy is not None and prediction.tag in policy.no_go:
        fired.append(("no_go", f"'{prediction.tag}' never auto-routes (policy {policy.name})"))
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


def decide(
    ticket_id: str,
    text: str,
    prediction: Prediction,
    policies: PolicySet,
    paused: set[str] | frozenset[str] = frozenset(),
) -> TriageResult:
    """Apply policy, guardrails, pauses and mode to a prediction."""
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
    if "complaint_veto" in codes and sentiment is Sentiment.POSITIVE:
        sentiment = Sentiment.NEGATIVE
    if policy is not None:
        threshold = policies.threshold(policy)
        if prediction.confidence < threshold:
            codes.append("low_confidence")
            reasons.append(
                f"low_confidence: {prediction.confidence:.2f} is below "
                f"{policy.name}'s threshold {threshold:.2f}"
            )
        if ALL in paused or policy.name in paused:
            which = "all automation" if ALL in paused else f"policy {policy.name}"
            codes.append("paused")
            reasons.append(f"paused: {which} is paused")
        if policy.mode is not Mode.AUTO:
            codes.append(f"mode_{policy.mode}")
            reasons.append(f"mode: policy {policy.name} is in {policy.mode} mode")
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
) -> TriageResult:
    """Classify and decide in one step; never raises for any text."""
    return decide(ticket_id, text, classifier.predict(text), policies, paused)
