"""Splitting a ticket into the separate issues it raises ("1) … 2) …", "Also, unrelated: …").

A ticket about two areas needs a human to decide where it goes (or to split it); the
local model classifies each part and says so in a `multi_issue:` note when they disagree.
"""

from __future__ import annotations

import re
from itertools import islice, pairwise

_MARKERS = re.compile(
    r"(?:^|\s)\(?[1-9][.)]\s"
    r"|\b(?:also,? unrelated|unrelated:|separately,|side ?note:|one more thing"
    r"|while i have you|p\.?s\.?:|another (?:issue|problem|question|thing)"
    r"|on another note|additionally,|second(?:ly)?,)",
    re.IGNORECASE | re.MULTILINE,
)
# The numbered-item marker alone: what `_MARKERS` finds in a text without any worded marker.
_NUMBERED_MARKERS = re.compile(r"(?:^|\s)\(?[1-9][.)]\s", re.MULTILINE)
_WORDS = re.compile(r"[^\W\d_]{2,}")
MIN_WORDS = 5


# Every marker above contains one of these (in lower case) or a numbered item: a cheap
# test that lets most tickets skip the slow alternation scan.
_HINTS = (
    "unrelated",
    "separately,",
    "side note",
    "sidenote",
    "one more thing",
    "while i have you",
    "ps:",
    "ps.:",
    "p.s:",
    "p.s.:",
    "another issue",
    "another problem",
    "another question",
    "another thing",
    "on another note",
    "additionally,",
    "second,",
    "secondly,",
)
_NUMBERED = re.compile(r"[1-9][.)]\s")  # looser than the marker itself: a prefilter


def _has_worded_hint(low: str) -> bool:
    return any(h in low for h in _HINTS)


def _enough_words(part: str) -> bool:
    """Whether the part has MIN_WORDS words, reading no further than the last one needed."""
    return sum(1 for _ in islice(_WORDS.finditer(part), MIN_WORDS)) >= MIN_WORDS


def split_issues(text: str) -> list[str]:
    """The parts of a ticket separated by issue markers; one part when there are none."""
    if _has_worded_hint(text.lower()):
        markers = _MARKERS
    elif _NUMBERED.search(text) is not None:
        markers = _NUMBERED_MARKERS  # no worded marker can match: the cheaper scan finds the same
    else:
        return [text]
    cuts = [m.start() for m in markers.finditer(text)]
    if not cuts:
        return [text]
    bounds = [0, *cuts, len(text)]
    parts = [text[a:b] for a, b in pairwise(bounds)]
    return [p for p in parts if _enough_words(p)] or [text]
