"""No-go topics: things a bot must never route alone, whatever tag they get.

A wrong route of a legal threat or an account deletion costs far more than a human's
minute, so these are detected by named, readable patterns (English plus the common
European phrasings) and switched on per deployment in `_global.yml` (`no_go_topics`)
or per policy. Each match names the topic in the ticket's review reasons.

All topics are found in the same one pass over the whole text as the complaint signals
(bot.classifier.signals scans for both with one automaton), not by one regex search per
topic.
"""

from __future__ import annotations

import re

from bot.classifier.textcache import text_cache

NO_GO_PATTERNS: dict[str, tuple[str, ...]] = {
    "legal_threat": (
        r"\b(?:my|our) (?:lawyer|attorney|solicitor|legal (?:team|counsel|department))\b",
        r"\blegal action\b",
        r"\b(?:sue|suing)\b",
        r"\blawsuit\b",
        r"\bsmall claims\b",
        r"\bin court\b",
        r"\bconsumer (?:protection|rights) (?:agency|authority|office)\b",
        r"\b(?:report|complain)\w* (?:you )?to the (?:regulator|authorit|ombudsman|ftc|ico|bbb)",
        r"\banwalt\b|\babogado\b|\bavocat\b|\badvogado\b",
    ),
    "account_deletion": (
        r"\bdelete (?:all (?:of )?)?(?:my |our |the )?(?:whole |entire )?(?:account|data|workspace|personal data)",
        r"\b(?:erase|remove|wipe) (?:all )?(?:my|our) (?:data|personal data|information)",
        r"\bright to (?:be forgotten|erasure)\b",
        r"\bgdpr (?:deletion|erasure)\b",
        r"\bart(?:icle|\.)? ?17\b",
    ),
    "chargeback": (
        r"\bcharge ?back\b",
        r"\bdisput(?:e|ing) (?:the|this|a) (?:charge|payment|transaction)",
        r"\b(?:call|contact)(?:ing)? my bank\b",
    ),
    "refund_or_discount_promise": (
        r"\b(?:promised?|guarantee[ds]?) (?:me |us )?(?:a |an )?(?:full )?(?:refund|discount|credit)",
        r"\b(?:you|your \w+) (?:said|told me|told us) (?:i|we) would get (?:a |an )?(?:refund|discount|credit)",
    ),
}


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# Each topic as one alternation: what the one-pass scan must agree with (and what reads a
# text longer than the scan's limit).
NO_GO_TOPICS: dict[str, re.Pattern[str]] = {
    name: _rx(*patterns) for name, patterns in NO_GO_PATTERNS.items()
}


@text_cache()
def _found(text: str) -> frozenset[str]:
    from bot.classifier.signals import MAX_SCAN_CHARS, no_go_found

    if len(text) > MAX_SCAN_CHARS:  # such a ticket goes to review anyway; still name the topic
        return frozenset(name for name, rx in NO_GO_TOPICS.items() if rx.search(text))
    return no_go_found(text)  # the guardrail signals' one pass over the text finds them too


def no_go_topics(text: str, enabled: list[str]) -> list[str]:
    """The enabled no-go topics the text touches, in the configured order."""
    if not enabled:
        return []
    found = _found(text)
    return [name for name in enabled if name in found]
