"""Splitting a ticket into the separate issues it raises ("1) … 2) …", "Also, unrelated: …").

A ticket about two areas needs a human to decide where it goes (or to split it); the
local model classifies each part and says so in a `multi_issue:` note when they disagree.
"""

from __future__ import annotations

import re
from itertools import pairwise

_MARKERS = re.compile(
    r"(?:^|\s)\(?[1-9][.)]\s"
    r"|\b(?:also,? unrelated|unrelated:|separately,|side ?note:|one more thing"
    r"|while i have you|p\.?s\.?:|another (?:issue|problem|question|thing)"
    r"|on another note|additionally,|second(?:ly)?,)",
    re.IGNORECASE | re.MULTILINE,
)
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


def _may_have_markers(text: str) -> bool:
    low = text.lower()
    return any(h in low for h in _HINTS) or _NUMBERED.search(text) is not None


def split_issues(text: str) -> list[str]:
    """The parts of a ticket separated by issue markers; one part when there are none."""
    if not _may_have_markers(text):
        return [text]
    cuts = [m.start() for m in _MARKERS.finditer(text)]
    if not cuts:
        return [text]
    bounds = [0, *cuts, len(text)]
    parts = [text[a:b] for a, b in pairwise(bounds)]
    return [p for p in parts if len(_WORDS.findall(p)) >= MIN_WORDS] or [text]
