"""Complaint, sarcasm and sentiment signals read from ticket text.

These are deliberately simple, named patterns: a guardrail must be able to say
*which* signal fired, and a reviewer must be able to read why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.classifier.base import Sentiment


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


COMPLAINT_SIGNALS: dict[str, re.Pattern[str]] = {
    "money": _rx(
        r"\bcharg(?:e|ed|ing)\b.{0,30}\b(?:twice|double|again|two times|wrong)",
        r"\bdouble[- ]?charg",
        r"\bover-?charg",
        r"\brefund",
        r"\bmoney\b",
        r"\bbilled\b.{0,20}\b(?:twice|again|wrong)",
        r"\bpaying for\b",
    ),
    "access": _rx(
        r"\bcan'?t\b.{0,15}\blog ?in",
        r"\bcannot\b.{0,15}\blog ?in",
        r"\bunable to\b.{0,15}\b(?:log ?in|sign ?in|access)",
        r"\blocked out\b",
        r"\bcan'?t (?:sign in|access|get in)",
    ),
    "outage": _rx(
        r"\b(?:is|was|been|keeps?|went) (?:down|broken|crashing)",
        r"\bbroken\b",
        r"\bnot working\b",
        r"\bdoesn'?t work",
        r"\bdon'?t work",
        r"\bcrash(?:es|ed|ing)?\b",
        r"\boutage\b",
        r"\berror\b",
    ),
    "cancel": _rx(r"\bcancel", r"\bunsubscribe", r"\bclose my account", r"\bswitch(?:ing)? to\b"),
    "repeat": _rx(
        r"\bagain\b",
        r"\b(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)) time\b",
        r"\bstill\b.{0,20}\b(?:not|no|broken|waiting)",
        r"\bnobody\b",
        r"\bno one\b",
        r"\bno (?:reply|response|answer)",
    ),
    "negation": _rx(
        r"\bnot (?:happy|impressed|acceptable|ok|okay|great|good)\b",
        r"\bunacceptable\b",
        r"\bdisappoint",
        r"\bfrustrat",
        r"\bterrible\b",
        r"\bawful\b",
        r"\bworst\b",
        r"\bridiculous\b",
        r"\bfurious\b",
        r"\bangry\b",
    ),
}

SARCASM_MARKERS = _rx(
    r"\boh,? (?:great|wonderful|perfect|fantastic|brilliant)",
    r"\bthanks a lot\b",
    r"\bthanks for nothing\b",
    r"\bgenius(?:es)?\b",
    r"\blove how\b",
    r"\blove (?:paying|being|waiting|getting|having)\b",
    r"\bjust (?:great|perfect|wonderful|brilliant)\b",
    r"\bgreat job\b.{0,40}\b(?:charg|break|broke|lock|lost|delet)",
    r"\bwell done\b.{0,40}\b(?:charg|break|broke|lock|lost|delet)",
    r"\bclap(?:ping)?\b",
    r"/s\b",
    r"🙄",
)

_POSITIVE = _rx(
    r"\bthank(?:s| you)\b",
    r"\bgreat\b",
    r"\blove\b",
    r"\bawesome\b",
    r"\bamazing\b",
    r"\bexcellent\b",
    r"\bfantastic\b",
    r"\bhelpful\b",
    r"\bappreciate",
    r"\bkudos\b",
    r"\bwonderful\b",
    r"\bperfect\b",
    r"❤|👍|🙏|😊|🎉",
)
_NEGATIVE = _rx(
    r"\bangry\b",
    r"\bfurious\b",
    r"\bterrible\b",
    r"\bawful\b",
    r"\bworst\b",
    r"\bunacceptable\b",
    r"\bridiculous\b",
    r"\bdisappoint",
    r"\bfrustrat",
    r"\bbroken\b",
    r"\bnot working\b",
    r"\bcan'?t\b",
    r"\bcannot\b",
    r"\bwaste\b",
    r"\bscam\b",
    r"\bhate\b",
    r"\bannoy",
    r"😡|🤬|😤|👎",
    r"!!+",
)


@dataclass(frozen=True)
class TextSignals:
    """What the text says beyond its topic: complaints, sarcasm and tone."""

    complaints: tuple[str, ...]
    sarcasm: bool
    sentiment: Sentiment

    @property
    def has_complaint(self) -> bool:
        return bool(self.complaints) or self.sarcasm


def read_signals(text: str) -> TextSignals:
    """Named complaint signals, a sarcasm flag and a sentiment that sarcasm cannot fool."""
    complaints = tuple(name for name, rx in COMPLAINT_SIGNALS.items() if rx.search(text))
    sarcasm = bool(SARCASM_MARKERS.search(text))
    positive = len(_POSITIVE.findall(text))
    negative = len(_NEGATIVE.findall(text)) + len(complaints)
    if sarcasm or (complaints and negative >= positive):
        sentiment = Sentiment.NEGATIVE
    elif positive > negative:
        # Praise with any complaint in it is never reported as positive.
        sentiment = Sentiment.NEUTRAL if complaints else Sentiment.POSITIVE
    elif negative > positive:
        sentiment = Sentiment.NEGATIVE
    else:
        sentiment = Sentiment.NEUTRAL
    if complaints:
        sarcasm = sarcasm or (
            positive > 0
            and bool(re.search(r"\b(?:love|great|thanks|wonderful|amazing)\b", text, re.IGNORECASE))
            and sentiment is Sentiment.NEGATIVE
        )
    return TextSignals(complaints=complaints, sarcasm=sarcasm, sentiment=sentiment)
