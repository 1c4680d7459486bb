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
from functools import cache

from bot.classifier.no_go_patterns import NO_GO_PATTERNS
from bot.classifier.signals import MAX_SCAN_CHARS, no_go_among
from bot.classifier.textcache import text_cache

__all__ = ["NO_GO_PATTERNS", "no_go_topics"]  # and NO_GO_TOPICS, built on first use


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


@cache
def _topics() -> dict[str, re.Pattern[str]]:
    """Each topic as one alternation: what the one-pass scan must agree with (and what reads
    a text longer than the scan's limit). Compiled on first use: most processes never need
    them."""
    return {name: _rx(*patterns) for name, patterns in NO_GO_PATTERNS.items()}


def __getattr__(name: str) -> dict[str, re.Pattern[str]]:
    if name == "NO_GO_TOPICS":
        return _topics()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@text_cache()
def _found(text: str) -> frozenset[str]:
    """The topics of a text longer than the scan reads: such a ticket goes to review anyway,
    but its topics are still named (one search per topic, remembered)."""
    return frozenset(name for name, rx in _topics().items() if rx.search(text))


def no_go_topics(text: str, enabled: list[str]) -> list[str]:
    """The enabled no-go topics the text touches, in the configured order."""
    if not enabled:
        return []
    if len(text) > MAX_SCAN_CHARS:
        found = _found(text)
        return [name for name in enabled if name in found]
    return no_go_among(text, enabled)  # the guardrail signals' one pass finds them too
