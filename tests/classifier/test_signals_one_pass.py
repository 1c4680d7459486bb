"""The one-pass signal scanner says exactly what the former pattern-by-pattern reader said."""

from __future__ import annotations

import csv
import re

import pytest

from bot.classifier import signals
from bot.classifier.signals import GROUPS, PatternError, anchors, keyword_signals, scan
from tests.classifier import reference_signals
from tests.classifier.conftest import ROOT
from tests.classifier.test_guardrails import SARCASM

WRITTEN = [
    SARCASM,
    "Oh great, the export crashed again. Really loving this update.",
    "Thanks a lot for nothing. Third time I ask about my refund and nobody answers.",
    "Wonderful service, truly. Please cancel my account, switching to a cheaper tool.",
    "Fantastic, another invoice with the wrong amount. Well done 👏",
    "Thanks in advance! I can't log in since this morning, the reset link never arrives.",
    "Many thanks for your help. The export is still broken though, please have a look.",
    "I really love your product, but I was charged twice this month and need a refund.",
    "Sorry to bother you again. The invoice for March is missing our VAT number.",
    "Thanks a lot for your help, you guys are geniuses! Kudos to the team.",
    "The calendar sync is not working since Monday.\n\nOn Friday, Support wrote:\n> Great news!\n",
    "CAN'T LOG IN!!! Charged TWICE. Unacceptable!!!",
    "thanks!\nbest,\nAnna",
    "İstanbul office: the export keeps crashing, again.",  # a letter that lower-cases longer
    "",
    "!!!!",
]


def labelled_texts() -> list[str]:
    texts = []
    for name in ("tickets_test.csv", "tickets_train.csv"):
        with (ROOT / "data" / name).open(encoding="utf-8", newline="") as handle:
            texts += [f"{r['subject']}\n{r['body']}".strip() for r in csv.DictReader(handle)]
    return texts


def as_tuple(s) -> tuple:
    return (s.complaints, s.sarcasm, s.sentiment)


@pytest.mark.parametrize("text", WRITTEN)
def test_written_examples_read_the_same_as_before(text: str):
    assert as_tuple(keyword_signals(text)) == as_tuple(reference_signals.read_signals(text))


def test_every_labelled_ticket_reads_the_same_as_before():
    texts = labelled_texts()
    assert len(texts) > 5000
    different = [
        t[:80]
        for t in texts
        if as_tuple(keyword_signals(t)) != as_tuple(reference_signals.read_signals(t))
    ]
    assert different == []


def test_each_group_finds_what_its_patterns_find_one_by_one():
    text = "\n".join(WRITTEN + labelled_texts()[:300])
    found = scan(text)
    for group, patterns in GROUPS.items():
        one_by_one = any(re.search(p, text, re.IGNORECASE | re.M) for p in patterns)
        assert bool(found.get(group)) == one_by_one, group


def test_every_pattern_has_a_literal_start_and_a_pattern_without_one_is_refused():
    for patterns in GROUPS.values():
        for pattern in patterns:
            assert all(a and len(a) <= signals.ANCHOR_CHARS for a in anchors(pattern))
    with pytest.raises(PatternError):
        anchors(r"\b\w+ing\b")


def test_the_scan_is_one_automaton_pass_whatever_the_number_of_patterns(monkeypatch):
    # Only patterns whose start the automaton found are tried, each at that spot.
    tried: list[int] = []
    real = signals._PATTERNS
    counting = [signals._Pattern(p.group, p.order, _Counting(p.rx, tried)) for p in real]
    monkeypatch.setattr(signals, "_PATTERNS", counting)
    scan("The summary looks as expected and the numbers add up. " * 100)
    assert tried == []
    found = scan("I was charged twice.\n" * 100)
    assert len(found["complaint:money"]) == 100
    assert 100 <= len(tried) <= 100 * 6  # a few candidate patterns per spot, not all of them


class _Counting:
    def __init__(self, rx: re.Pattern[str], tried: list[int]) -> None:
        self.rx, self.tried = rx, tried

    def match(self, text: str, pos: int):
        self.tried.append(pos)
        return self.rx.match(text, pos)
