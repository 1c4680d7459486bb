"""The no-go topics' patterns, by topic (see bot.classifier.no_go).

A module of their own below both readers: the guardrail signals' one-pass scanner
(bot.classifier.signals) scans for them, and bot.classifier.no_go names what it found.
"""

from __future__ import annotations

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
