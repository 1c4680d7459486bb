"""Classifier v0: weighted keyword patterns per tag. Offline, deterministic, microseconds a ticket.

It is a floor, not a ceiling: confidence here is a softmax of keyword evidence, so
thresholds and guardrails (bot.triage) do the real work of keeping it honest.
"""

from __future__ import annotations

import math
import re

from bot.classifier.base import DEFAULT_TAGS, Prediction
from bot.classifier.signals import read_signals

VERSION = "keywords-v0"

# (pattern, weight). Weights are log-odds-like evidence; a strong phrase is ~2, a hint ~0.7.
LEXICON: dict[str, list[tuple[str, float]]] = {
    "billing": [
        (r"\binvoice", 2.0),
        (r"\bcharg(?:e|ed|es|ing)\b", 1.6),
        (r"\bbill(?:ed|ing)?\b", 1.6),
        (r"\brefund", 1.8),
        (r"\bpayment", 1.6),
        (r"\bcredit card|\bcard\b", 1.0),
        (r"\bsubscription", 0.8),
        (r"\bprice|\bpricing|\bplan\b", 0.9),
        (r"\breceipt|\bvat\b|\btax\b", 1.4),
        (r"\bpaying|\bpaid\b|\bpay\b", 1.0),
        (r"\btwice\b|\bdouble\b", 0.6),
    ],
    "account_access": [
        (r"\blog ?in\b|\blogin\b|\bsign ?in\b|\blog into\b", 1.8),
        (r"\bpassword", 1.8),
        (r"\b2fa\b|\btwo[- ]factor|\bmfa\b|\bauthenticator", 2.0),
        (r"\blocked out\b|\block(?:ed)? out\b|\baccount (?:is )?locked", 2.0),
        (r"\bsso\b|\bsaml\b|\bokta\b", 1.6),
        (r"\breset link\b|\breset email\b", 1.6),
        (r"\bverification (?:code|email)", 1.4),
        (r"\baccess\b", 0.7),
    ],
    "bug": [
        (r"\bbug\b", 2.0),
        (r"\berror\b", 1.4),
        (r"\bcrash", 1.8),
        (r"\bbroken\b|\bbreaks?\b", 1.4),
        (r"\bnot working\b|\bdoesn'?t work|\bstopped working", 1.6),
        (r"\b500\b|\b404\b|\bexception\b|\bstack ?trace", 1.6),
        (r"\bblank (?:page|screen)|\bfreez", 1.4),
        (r"\bslow\b|\btimes? out\b|\btimeout", 1.0),
        (r"\bsync(?:ing)?\b|\bexport\b|\bupload", 0.6),
    ],
    "how_to": [
        (r"\bhow (?:do|can|to|would)\b", 2.0),
        (r"\bis (?:it|there) (?:possible|a way)", 1.6),
        (r"\bwhere (?:do|can|is)\b", 1.2),
        (r"\bwhat(?:'s| is) the (?:best )?way", 1.4),
        (r"\bsteps?\b|\bguide\b|\bdocs?\b|\bdocumentation\b|\btutorial", 1.0),
        (r"\bconfigure|\bset ?up\b|\bsetting", 0.8),
        (r"\?", 0.4),
    ],
    "feature_request": [
        (r"\bfeature request", 2.5),
        (r"\bwould (?:be|love) (?:great|nice|it)|\bwould be (?:great|nice|helpful)", 1.6),
        (r"\bplease add\b|\bcould you add\b|\bcan you add\b|\badd (?:support|an option)", 2.0),
        (r"\bwish\b|\bsuggest(?:ion)?\b|\bidea\b", 1.4),
        (r"\broadmap\b|\bintegration with\b|\bsupport for\b", 1.2),
        (r"\bdark mode\b|\bapi endpoint\b", 1.0),
    ],
    "cancellation": [
        (r"\bcancel", 2.4),
        (r"\bclose (?:my|our) account|\bdelete (?:my|our) account|\bdeactivate", 2.4),
        (r"\bunsubscribe|\bend (?:my|our) subscription|\bstop (?:my|our) subscription", 2.0),
        (r"\bdowngrade", 1.6),
        (r"\bswitch(?:ing)? to\b|\bcompetitor|\bleaving\b", 1.2),
        (r"\bnot renew|\bdon'?t renew|\bauto-?renew", 1.6),
    ],
    "security": [
        (r"\bhack(?:ed|er)?\b|\bbreach", 2.6),
        (r"\bphishing|\bsuspicious (?:login|email|activity)", 2.4),
        (r"\bvulnerab|\bexploit|\bxss\b|\bsql injection|\bcve-", 2.6),
        (r"\bunauthori[sz]ed\b", 2.0),
        (r"\bcompromised?\b|\bleak(?:ed)?\b|\bexposed\b", 2.0),
        (r"\bsecurity\b", 1.4),
        (r"\bgdpr\b|\bdata protection", 0.8),
    ],
    "positive_feedback": [
        (r"\bthank(?:s| you)\b", 1.2),
        (r"\bgreat (?:job|work|product|support|team)", 1.8),
        (r"\blove\b", 1.4),
        (r"\bawesome\b|\bamazing\b|\bexcellent\b|\bfantastic\b|\bbrilliant\b", 1.4),
        (r"\bkudos\b|\bshout[- ]?out\b|\bappreciate", 1.6),
        (r"\bhelpful\b|\bsuper fast\b|\bsaved (?:me|us)\b", 1.0),
        (r"❤|👍|🙏|😊|🎉", 1.0),
        (r"\bgenius(?:es)?\b", 0.8),
    ],
}

_COMPILED: dict[str, list[tuple[re.Pattern[str], float]]] = {
    tag: [(re.compile(pattern, re.IGNORECASE), weight) for pattern, weight in rules]
    for tag, rules in LEXICON.items()
}

# Evidence of "none of the above": keeps confidence low when little matched.
_NULL_EVIDENCE = 1.2
_TEMPERATURE = 0.7
_MAX_CHARS = 20_000


class KeywordClassifier:
    """Tag by weighted keyword evidence; confidence is a softmax with a null class."""

    version = VERSION
    tags: tuple[str, ...] = DEFAULT_TAGS

    def predict(self, text: str) -> Prediction:
        text = text[:_MAX_CHARS]
        evidence = {
            tag: sum(weight for rx, weight in rules if rx.search(text))
            for tag, rules in _COMPILED.items()
        }
        signals = read_signals(text)
        if signals.has_complaint:
            # Praise words next to a complaint are not evidence of praise.
            evidence["positive_feedback"] *= 0.3
        exps = {tag: math.exp(score / _TEMPERATURE) for tag, score in evidence.items()}
        null = math.exp(_NULL_EVIDENCE / _TEMPERATURE)
        total = sum(exps.values()) + null
        scores = {tag: round(value / total, 4) for tag, value in exps.items()}
        # Ties break by tag order, so the answer is deterministic.
        tag = max(self.tags, key=lambda t: (scores[t], -self.tags.index(t)))
        notes = [f"complaint:{name}" for name in signals.complaints]
        if signals.sarcasm:
            notes.append("sarcasm")
        return Prediction(
            tag=tag,
            confidence=scores[tag],
            sentiment=signals.sentiment,
            scores=scores,
            model_version=self.version,
            notes=notes,
        )
