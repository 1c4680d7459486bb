"""The former pattern-by-pattern signal reader, kept only as the reference the one-pass scanner is checked against."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.classifier.base import Sentiment


def _rx(*patterns: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE | flags)


COMPLAINT_SIGNALS: dict[str, re.Pattern[str]] = {
    "money": _rx(
        r"\bcharg(?:e|ed|ing)\b.{0,30}\b(?:twice|double|again|two times|wrong)",
        r"\bdouble[- ]?charg",
        r"\bover-?charg",
        r"\brefund",
        r"\bmoney\b",
        r"\bbilled\b.{0,20}\b(?:twice|again|wrong)",
        r"\bpaying for\b",
        r"\b(?:taken|debited|deducted)\b.{0,30}\b(?:twice|again|without)",
        r"\bprice (?:hike|increase)",
        r"\bsurprise\b.{0,25}\bcharge",
        r"\bcharg(?:e|ed|ing)\b.{0,40}\b(?:never|without|didn'?t|did not|not)\b",
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
        r"\bnothing (?:loads|works|happens|shows)",
        r"\bfreez(?:es|ing)\b",
        r"\bkeeps? (?:crashing|failing|logging me out)",
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

# Markers that are sarcastic on their own.
SARCASM_MARKERS = _rx(
    r"\boh,? (?:great|wonderful|perfect|fantastic|brilliant|joy|lovely|nice)",
    r"\bthanks for nothing\b",
    r"\blove (?:paying|being|waiting|getting|having)\b",
    r"\bjust (?:great|perfect|wonderful|brilliant|fantastic)\b",
    r"\bgreat job\b.{0,40}\b(?:charg|break|broke|lock|lost|delet)",
    r"\bwell done\b.{0,40}\b(?:charg|break|broke|lock|lost|delet)",
    r"\bthanks (?:so much )?for (?:the surprise|logging|breaking|charging|locking|deleting)",
    r"\bsuch fun\b|\bwhat a joy\b|\btruly a masterpiece\b",
    r"\bnothing says\b",
    r"\b(?:great|wonderful|fantastic|perfect|brilliant|lovely),? another\b",
    r"\b(?:great|wonderful|fantastic|amazing|excellent) (?:service|support|work),? truly\b",
    r"\bexactly what i (?:wanted|needed)\b.{0,30}\b(?:for my birthday|today)",
    r"\bclap(?:ping)?\b|👏",
    r"/s\b",
    r"🙄",
)
# Markers that are sarcastic only next to a complaint ("thanks a lot for your help!" is not).
SARCASM_IF_COMPLAINT = _rx(
    r"\bthanks a lot\b",
    r"\bgenius(?:es)?\b",
    r"\blove how\b",
    r"\bbravo\b",
    r"\bkeep up the great work\b",
    r"\breally (?:appreciate|enjoying)\b",
    r"\bso (?:glad|nice of you)\b",
)
# Politeness formulas: they carry no praise, so they neither make text positive nor sarcastic.
COURTESY = _rx(
    r"\bthanks? (?:you )?(?:so much |very much )?(?:in advance|for (?:your|the) (?:help|time|reply|quick reply|update|response|quick response|effort|link|offer)[^.!?\n]*)",
    r"\bthank you for (?:getting back|resetting|your help)[^.!?\n]*",
    r"\bmany thanks\b",
    r"\bthanks!?$",
    r"\b(?:kind|best|warm) regards\b",
    r"\bhave a (?:nice|great|good) day\b",
    r"\bhope you(?:'re| are) (?:well|doing well)\b",
    r"\bappreciate (?:it|the effort|your help)\b",
    r"\bthx\b|\bcheers\b",
    r"\bsorry to (?:bother|trouble) you(?: again)?\b",
    r"^best,?$",
    flags=re.MULTILINE,
)
# Quoted history ("> …") and its "On …, X wrote:" line are someone else's words.
_QUOTED = re.compile(r"^(?:>.*|On .{0,120} wrote:)$", re.MULTILINE)
_PRAISE = _rx(
    r"\bgreat\b",
    r"\blove\b",
    r"\bwonderful\b",
    r"\bamazing\b",
    r"\bfantastic\b",
    r"\bbrilliant\b",
    r"\bawesome\b",
    r"\bperfect\b",
    r"\bgenius",
    r"\bbravo\b",
    r"\bkudos\b",
    r"\bwell done\b",
    r"\bimpressive\b",
    r"\bwow\b",
    r"\bexcellent\b",
)
# "…, but / however / unfortunately …": sincere praise followed by the real complaint.
_CONTRAST = _rx(
    r"\bbut\b",
    r"\bhowever\b",
    r"\bunfortunately\b",
    r"\bsadly\b",
    r"\bthough\b",
    r"\balthough\b",
    r"\bthat said\b",
    r"\bexcept\b",
    r"\bstill\b",
)
# A problem told as solved ("you fixed it in a day, thanks!") is praise, not sarcasm.
_RESOLVED = _rx(
    r"\b(?:fixed|solved|sorted|resolved)\b",
    r"\bworks (?:perfectly |again |fine )?now\b",
    r"\bgot me back\b",
    r"\bcame the same day\b",
    r"\bquick fix\b",
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


@lru_cache(maxsize=512)
def read_signals(text: str) -> TextSignals:
    """Named complaint signals, a sarcasm flag and a sentiment that sarcasm cannot fool."""
    polite = COURTESY.sub(" ", text)
    complaints = tuple(name for name, rx in COMPLAINT_SIGNALS.items() if rx.search(polite))
    plain = COURTESY.sub(" ", _QUOTED.sub(" ", text))
    sarcasm = bool(SARCASM_MARKERS.search(text)) or bool(
        complaints and SARCASM_IF_COMPLAINT.search(plain)
    )
    positive = len(_POSITIVE.findall(plain))
    negative = len(_NEGATIVE.findall(text)) + len(complaints)
    if not sarcasm and complaints and _PRAISE.search(plain):
        # Praise next to a complaint, with no "but …" and no "it's fixed now": sarcasm.
        sarcasm = not _CONTRAST.search(plain) and not _RESOLVED.search(plain)
    if sarcasm or (complaints and negative >= positive):
        sentiment = Sentiment.NEGATIVE
    elif positive > negative:
        # Praise with any complaint in it is never reported as positive.
        sentiment = Sentiment.NEUTRAL if complaints else Sentiment.POSITIVE
    elif negative > positive:
        sentiment = Sentiment.NEGATIVE
    else:
        sentiment = Sentiment.NEUTRAL
    return TextSignals(complaints=complaints, sarcasm=sarcasm, sentiment=sentiment)
