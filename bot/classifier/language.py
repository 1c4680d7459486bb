"""Which language a ticket is written in, well enough to refuse the ones we cannot route.

Deliberately small: the script of the letters (Cyrillic, CJK, Arabic, …) and, for Latin
script, counts of very common words in a dozen languages. When the evidence is thin the
answer is "unknown", which never blocks a ticket: the guardrail fires only on a clear
detection of a language the deployment does not list (`languages` in `_global.yml`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the and is to my i you it not for with this that can of in we have please our "
        "was are your me be do does an at on",
        "de": "ich und der die das nicht ist mit sie wir bitte unser ein eine zu den kann mich "
        "mein es für auf wurde habe keine",
        "es": "el la que en mi no los las por para con una un es me se puedo cuenta pero "
        "muy del al",
        "fr": "le la les et je ne pas est pour une un mon ma nous vous des du que avec merci "
        "notre depuis",
        "pt": "que não do da em um uma para com meu minha os as por foi está conta vocês",
        "nl": "de het een en van ik niet is op te dat die voor met wij ons onze klopt",
        "it": "il lo la di che non per un una sono mio mia con del della grazie posso ho questo",
        "pl": "nie się jest na że do to mój moje jak mam konto proszę dla",
        "sv": "och att det som en är inte jag på för med har vi kan mitt min",
        "tr": "ve bir bu için değil ile çok ben hesabım lütfen mi ne",
        "id": "saya tidak dan yang di ini itu untuk dengan akun bisa tolong",
    }.items()
}
_SCRIPTS: dict[str, re.Pattern[str]] = {
    "cyrillic": re.compile(r"[\u0400-\u04ff]"),
    "greek": re.compile(r"[\u0370-\u03ff]"),
    "arabic": re.compile(r"[\u0600-\u06ff]"),
    "hebrew": re.compile(r"[\u0590-\u05ff]"),
    "devanagari": re.compile(r"[\u0900-\u097f]"),
    "thai": re.compile(r"[\u0e00-\u0e7f]"),
    "cjk": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]"),
}
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{5,}")
MIN_HITS = 3
_ADDRESS = re.compile(r"\S+@\S+|https?://\S+|www\.\S+", re.IGNORECASE)


@dataclass(frozen=True)
class Language:
    """`code` is an ISO 639-1 code, a script name, or None when unsure."""

    code: str | None
    garbled: bool = False


@lru_cache(maxsize=512)
def detect(text: str) -> Language:
    """The ticket's language when the evidence is clear; whether its words look like keyboard mash."""
    sample = text[:4000]
    letters = _LETTER.findall(sample)
    if not letters:
        return Language(None)
    for name, rx in _SCRIPTS.items():
        if len(rx.findall(sample)) > 0.5 * len(letters):
            return Language(name)
    words = [w.lower() for w in _TOKEN.findall(sample)]
    long_words = [w for w in words if len(w) >= 4]
    mashed = sum(
        1
        for w in long_words
        if _CONSONANT_RUN.search(w) or not re.search(r"[aeiouyäöüéèáíóúàâêîôûãõ]", w)
    )
    garbled = len(long_words) >= 4 and mashed > 0.5 * len(long_words)
    # Capitalised words are left out of the count: names ("Uma", "Del", "Van") are not
    # evidence of a language, while function words are mostly written in lower case.
    # E-mail addresses and links carry names too ("uma.tanaka@…").
    small = [w for w in _TOKEN.findall(_ADDRESS.sub(" ", sample)) if w.islower()]
    hits = {lang: sum(1 for w in small if w in stop) for lang, stop in _STOPWORDS.items()}
    ranked = sorted(hits.items(), key=lambda item: -item[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < MIN_HITS or top < 1.5 * second:
        return Language(None, garbled)
    return Language(best, garbled)
