"""Splitting a ticket into the separate issues it raises ("1) … 2) …", "Also, unrelated: …").

A ticket about two areas needs a human to decide where it goes (or to split it); the
local model classifies each part and says so in a `multi_issue:` note when they disagree.

A number before a full stop is not an enumeration by itself ("… for 5. Next I tried …"):
numbered items count only as a run that counts up from 1 ("1. … 2. …", "(1) … (2) …").
Ordinary tickets are then one part, and only real enumerations are scored part by part.
"""

from __future__ import annotations

import re
from itertools import islice, pairwise

import ahocorasick

_WORDED = re.compile(
    r"\b(?:also,? unrelated|unrelated:|separately,|side ?note:|one more thing"
    r"|while i have you|p\.?s\.?:|another (?:issue|problem|question|thing)"
    r"|on another note|additionally,|second(?:ly)?,)",
    re.IGNORECASE,
)
# A numbered item: its number (one digit) after the start of a line or a space.
_NUMBERED_MARKERS = re.compile(r"(?:^|\s)\(?([1-9])[.)]\s", re.MULTILINE)
_WORDS = re.compile(r"[^\W\d_]{2,}")
MIN_WORDS = 5
MIN_ITEMS = 2  # "1." alone is a list of one: not separate issues


# Every worded marker above contains one of these (in lower case): a cheap test that lets
# most tickets skip the slow alternation scan.
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
_NUMBERED = re.compile(r"1[.)]\s")  # every enumeration has an item 1: a prefilter


def _hint_automaton() -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for hint in _HINTS:
        automaton.add_word(hint, hint)
    automaton.make_automaton()
    return automaton


# All the hints in one pass over the text (about twice as fast as one search per hint).
_HINT_SCAN = _hint_automaton()


def _has_worded_hint(low: str) -> bool:
    return next(_HINT_SCAN.iter(low), None) is not None


def _enough_words(part: str) -> bool:
    """Whether the part has MIN_WORDS words, reading no further than the last one needed."""
    return sum(1 for _ in islice(_WORDS.finditer(part), MIN_WORDS)) >= MIN_WORDS


def enumeration_starts(text: str) -> list[int]:
    """Where the items of counted lists begin: runs 1, 2, 3 … of at least MIN_ITEMS items.

    A "1" starts a new run; an item continuing the current run (its number one more than
    the last) extends it; any other number ("for 5. Next", "version 2. It") is ignored."""
    if _NUMBERED.search(text) is None:
        return []
    found: list[int] = []
    run: list[int] = []
    for m in _NUMBERED_MARKERS.finditer(text):
        number = int(m.group(1))
        if number == 1:
            if len(run) >= MIN_ITEMS:
                found.extend(run)
            run = [m.start()]
        elif run and number == len(run) + 1:
            run.append(m.start())
    if len(run) >= MIN_ITEMS:
        found.extend(run)
    return found


def split_issues(text: str) -> list[str]:
    """The parts of a ticket separated by issue markers; one part when there are none."""
    cuts = enumeration_starts(text)
    if _has_worded_hint(text.lower()):
        cuts = sorted({*cuts, *(m.start() for m in _WORDED.finditer(text))})
    if not cuts:
        return [text]
    bounds = [0, *cuts, len(text)]
    parts = [text[a:b] for a, b in pairwise(bounds)]
    return [p for p in parts if _enough_words(p)] or [text]
