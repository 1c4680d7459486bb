"""The praise gate: praise is routed without a human only when every signal agrees.

An angry customer in the happy-feedback queue is the worst routing mistake this bot can
make, so a praise tag is auto-routed only when our own tone model reads the text as
positive by a clear margin, no complaint pattern and no learned complaint fired, no
sarcasm signal is above its threshold, and the classifier's own sentiment is not
negative (the tag's confidence threshold is checked with every other tag's). Each
disagreement becomes a review reason in words, so the reviewer sees what looked wrong.
"""

from __future__ import annotations

import re

from bot.classifier.base import Sentiment
from bot.classifier.signals import TextSignals

# What a complaint pattern means, in a reviewer's words.
COMPLAINT_WORDS = {
    "money": "money taken (a charge, a refund or a price)",
    "access": "being unable to log in",
    "outage": "something broken or failing",
    "cancel": "cancelling or leaving",
    "repeat": "a problem that keeps coming back",
    "negation": "disappointment or frustration",
    "ordeal": "a bad experience (waiting, lost time, traffic or weather)",
}
# What the learned complaint head's kinds mean.
LEARNED_WORDS = {
    "money": "a payment problem",
    "access": "an access problem",
    "broken": "something that does not work",
    "cancel": "closing the account",
}
_DOUBLE = re.compile(r"\b(?:twice|double|two times)\b", re.IGNORECASE)
# A question asks for something ("what is the best way to ...?"): praise says, it does not ask.
_QUESTION_START = re.compile(
    r"^\W*(?:who|what|whats|what's|where|when|which|why|how|is|are|can|could|do|does|did|"
    r"should|will|would|show|tell)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!]")


def reads_as_question(text: str) -> bool:
    """Whether the text is a question or request rather than a statement (praise states)."""
    head = text[:2_000].strip()
    if head.endswith("?"):
        return True
    return bool(_QUESTION_START.match(head)) and not _SENTENCE_END.search(head)


GATE_CODES = ("complaint_veto", "sarcasm", "praise_unclear")


def _complaint_words(signals: TextSignals, text: str) -> list[str]:
    words = []
    for name in signals.complaints:
        if name == "money" and _DOUBLE.search(text[:20_000]):
            words.append("a double charge")
        else:
            words.append(COMPLAINT_WORDS.get(name, name))
    learned = LEARNED_WORDS.get(signals.learned_complaint)
    if learned and not words:
        words.append(learned)
    return words


def praise_gate(
    text: str,
    signals: TextSignals,
    claimed: Sentiment,
    margin: float,
    sarcasm_threshold: float,
) -> list[tuple[str, str]]:
    """Why praise must not auto-route, as (code, sentence); empty when every signal agrees.

    `claimed` is the classifier's own sentiment (another classifier may have its own);
    `margin` is how far positive must lead the tone model's other classes.
    """
    fired: list[tuple[str, str]] = []
    complaints = _complaint_words(signals, text)
    if complaints:
        names = ", ".join(signals.complaints) or f"learned {signals.learned_complaint}"
        fired.append(
            (
                "complaint_veto",
                f"reads like praise but mentions {' and '.join(complaints)} ({names})",
            )
        )
    if signals.sarcasm:
        score = signals.tone_sarcasm
        how = (
            f"the sarcasm score is {score:.2f} (threshold {sarcasm_threshold:.2f})"
            if score >= sarcasm_threshold
            else "a sarcastic turn of phrase"
        )
        fired.append(("sarcasm", f"reads like praise but sounds sarcastic: {how}"))
    if reads_as_question(text):
        fired.append(("praise_unclear", "reads like a question or a request, not praise"))
    elif signals.sentiment is not Sentiment.POSITIVE or claimed is Sentiment.NEGATIVE:
        said = claimed if claimed is Sentiment.NEGATIVE else signals.sentiment
        fired.append(("praise_unclear", f"reads like praise but the sentiment is {said}"))
    elif signals.positive_margin < margin:
        fired.append(
            (
                "praise_unclear",
                f"the praise is not clear enough: positive leads by {signals.positive_margin:.2f}, "
                f"needs {margin:.2f}",
            )
        )
    return fired
