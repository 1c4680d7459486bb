"""The fast language detector and the one-pass no-go scan say exactly what the regex versions said."""

from __future__ import annotations

import random

from bot.classifier.language import detect
from bot.classifier.no_go import NO_GO_TOPICS, no_go_topics
from tests.classifier import reference_language
from tests.classifier.test_no_go_topics import CASES
from tests.classifier.test_signals_one_pass import WRITTEN, labelled_texts

ODD = [
    "asdfg qwrtz xcvbnm hjklö",
    "Ich kann mich nicht anmelden, bitte helfen Sie mir. Das ist nicht gut.",
    "Je ne peux pas me connecter à mon compte, merci de votre aide pour le problème.",
    "İstanbul ofisi: bu hesabım için değil, lütfen bir şey yapın ve çok",
    "Привет, не могу войти в аккаунт",
    "mail me at Uma.Tanaka@example.com the and is to my",
    "HTTP://WWW.EXAMPLE.COM the the the",
    "ſtraße hjkl rhythm crypt gym lynx myth strengths twelfths",
    "Ñandú ñññññ çççç 日本語のテキストです",
    "the and is To My YOU",
    "",
    "12345 !!!",
]


def generated(n: int = 3000) -> list[str]:
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyzäöüéñçßAEIOUBCDXYZ @.:/-'’ \nİſK"
    words = [
        "the",
        "and",
        "is",
        "to",
        "my",
        "i",
        "you",
        "not",
        "ich",
        "und",
        "der",
        "el",
        "la",
        "que",
        "le",
        "het",
        "och",
        "ve",
        "saya",
        "rhythm",
    ]
    out = []
    for _ in range(n):
        out.append("".join(rng.choice(letters) for _ in range(rng.randint(0, 80))))
        out.append(" ".join(rng.choice(words) for _ in range(rng.randint(0, 30))))
    return out


def test_language_detection_is_unchanged():
    texts = [*WRITTEN, *ODD, *labelled_texts(), *generated()]
    different = [
        t[:80]
        for t in texts
        if (d := detect(t), r := reference_language.detect(t))
        and (d.code, d.garbled) != (r.code, r.garbled)
    ]
    assert different == []


def test_no_go_scan_finds_what_each_topic_regex_finds():
    texts = [*WRITTEN, *CASES.values(), *labelled_texts()]
    texts.append(" ".join(CASES.values()) + " and I will report you to the FTC")
    names = list(NO_GO_TOPICS)
    for text in texts:
        assert no_go_topics(text, names) == [n for n in names if NO_GO_TOPICS[n].search(text)]


def test_a_topic_past_the_scan_limit_is_still_named():
    text = "word " * 50_000 + "my lawyer will call"
    assert no_go_topics(text, ["legal_threat"]) == ["legal_threat"]
