"""Which language a ticket is written in, well enough to refuse the ones we cannot route.

Deliberately small and bounded: it reads a sample of at most SAMPLE_CHARS, whatever the
ticket's size, with one pass for scripts and one for words. The script of the letters (Cyrillic, CJK, Arabic, …) and, for Latin
script, counts of very common words in a dozen languages. When the evidence is thin the
answer is "unknown", which never blocks a ticket: the guardrail fires only on a clear
detection of a language the deployment does not list (`languages` in `_global.yml`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from bot.classifier.textcache import text_cache
from bot.classifier.translate import ascii_fast

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
# Each stop word's languages (a few words are common to several).
_STOP_LANGUAGES: dict[str, tuple[str, ...]] = {
    word: tuple(lang for lang, stop in _STOPWORDS.items() if word in stop)
    for word in frozenset().union(*_STOPWORDS.values())
}
_SCRIPT_RANGES: dict[str, str] = {
    "cyrillic": r"[\u0400-\u04ff]",
    "greek": r"[\u0370-\u03ff]",
    "arabic": r"[\u0600-\u06ff]",
    "hebrew": r"[\u0590-\u05ff]",
    "devanagari": r"[\u0900-\u097f]",
    "thai": r"[\u0e00-\u0e7f]",
    "cjk": r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]",
}
# One pass: runs of letters of each script, named by group.
_SCRIPTS = re.compile("|".join(f"(?P<{name}>{rx}+)" for name, rx in _SCRIPT_RANGES.items()))
_NON_LATIN = re.compile(r"[\u0370-\u0e7f\u3040-\ud7af]")
SAMPLE_CHARS = 2000
_ASCII_NON_LETTERS = {c: " " for c in range(128) if not chr(c).isalpha()}
_non_letters_to_spaces = ascii_fast(_ASCII_NON_LETTERS)
_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
_VOWELS = "aeiouyäöüéèáíóúàâêîôûãõ"
_CONSONANTS = "bcdfghjklmnpqrstvwxz"
# Each letter of a word as its class: "c" a consonant, "v" a vowel (y included), any other
# letter as itself (never "c" or "v", which are consonants). Keyboard mash is a word with five
# consonants in a row or with no vowel at all: two substring tests on the translated word.
_CLASSES = ascii_fast(
    {**dict.fromkeys(map(ord, _CONSONANTS), "c"), **dict.fromkeys(map(ord, _VOWELS), "v")}
)
MIN_HITS = 3
_ADDRESS = re.compile(r"\S+@\S+|https?://\S+|www\.\S+", re.IGNORECASE)


_LINK_START = re.compile(r"(?:https?://|www\.)(?=\S)", re.IGNORECASE)  # and one more
_ASCII_SPACES = tuple(
    c for c in map(chr, range(128)) if c.isspace()
)  # what the pattern's `\s` matches
# Lower case with every ASCII space made " " (the same length): one find looks for them all.
_lower_spaced = ascii_fast(
    {**{c: chr(c).lower() for c in range(128)}, **dict.fromkeys(map(ord, _ASCII_SPACES), " ")}
)


def _address_chunk(chunk: str) -> str:
    """What `_ADDRESS.sub(" ", chunk)` leaves of one whitespace-free chunk."""
    if "@" in chunk[1:-1]:
        return " "  # `\\S+@\\S+` from the chunk's start to its end
    link = _LINK_START.search(chunk)
    return chunk if link is None else chunk[: link.start()] + " "


def _without_addresses(text: str) -> str:
    """`_ADDRESS.sub(" ", text)` up to whitespace: the same words, with e-mail addresses
    and links dropped. No match crosses whitespace, so ASCII text is read only around each
    "@", "http" and "www." (the pattern alone tries `\\S+@` at every position)."""
    if not text.isascii():
        return _ADDRESS.sub(" ", text)
    low = _lower_spaced(text)
    out: list[str] = []
    done = 0
    while True:
        hits = [i for i in (low.find(m, done) for m in ("@", "http", "www.")) if i != -1]
        if not hits:
            break
        at = min(hits)
        start = max(done, low.rfind(" ", done, at) + 1)
        end = low.find(" ", at)
        if end == -1:
            end = len(low)
        out += (text[done:start], _address_chunk(text[start:end]))
        done = end
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


@dataclass(frozen=True)
class Language:
    """`code` is an ISO 639-1 code, a script name, or None when unsure."""

    code: str | None
    garbled: bool = False


# A character outside ASCII that is not a letter as `_TOKEN` reads letters (its own classes,
# so the two agree on every character): found by a quick scan for non-ASCII characters.
_WIDE_NON_LETTER = re.compile(r"[^\x00-\x7f](?<=[\W\d])")


def _words(text: str) -> list[str]:
    """`_TOKEN.findall(text)`, the letter runs of the text: one translate and one split (in C)
    for ASCII text; other text has its non-ASCII non-letters made spaces first (a few, most
    often none)."""
    spaced = _non_letters_to_spaces(text)
    if not text.isascii() and _WIDE_NON_LETTER.search(spaced):
        spaced = _WIDE_NON_LETTER.sub(" ", spaced)
    return spaced.split()


_SHORT, _PLAIN, _MASHED = 0, 1, 2  # a word's kind: under four letters, a word, keyboard mash
KIND_CACHE = 50_000  # words whose kind is remembered (all forgotten when full)
_KINDS: dict[str, int] = {}


def _learn_kind(word: str) -> int:
    """The kind of the word in lower case (remembered): keyboard mash, among the words of
    four letters or more, has five consonants in a row or no vowel at all. (Lower-casing
    twice changes nothing, so a word already in lower case has its own kind.)"""
    if len(word) < 4:
        kind = _SHORT
    else:
        classes = _CLASSES(word.lower())
        kind = _MASHED if "ccccc" in classes or "v" not in classes else _PLAIN
    if len(_KINDS) >= KIND_CACHE:
        _KINDS.clear()
    _KINDS[word] = kind
    return kind


def _garbled(words: list[str]) -> bool:
    """Whether most of the words of four letters or more are keyboard mash: each word's
    kind is looked up (by `map`, in C) and the kinds are counted."""
    try:
        kinds = list(map(_KINDS.__getitem__, words))
    except KeyError:  # words never seen: their kinds are learned once each
        for word in set(words).difference(_KINDS):
            _learn_kind(word)
        try:
            kinds = list(map(_KINDS.__getitem__, words))
        except KeyError:  # the cache was cleared meanwhile
            get = _KINDS.get
            kinds = [k if (k := get(w)) is not None else _learn_kind(w) for w in words]
    long_words = len(kinds) - kinds.count(_SHORT)
    return long_words >= 4 and kinds.count(_MASHED) > 0.5 * long_words


# Every answer `detect` can give, built once (they are immutable): no object per ticket.
_ANSWERS = {
    (code, garbled): Language(code, garbled)
    for code in (None, *_STOPWORDS, *_SCRIPT_RANGES)
    for garbled in (False, True)
}


def _stop_word_language(words: list[str], garbled: bool) -> Language:
    """The language whose stop words lead clearly among the words, or None."""
    stop = _STOP_LANGUAGES
    found = [*filter(stop.__contains__, words)]
    if len(found) < MIN_HITS:  # a stop word counts once per language: none can lead
        return _ANSWERS[None, garbled]
    hits = dict.fromkeys(_STOPWORDS, 0)
    for word in found:  # a few words: a short loop
        for lang in stop[word]:
            hits[lang] += 1
    best = max(hits, key=hits.__getitem__)  # the first of equals, as a stable sort gives
    top = hits.pop(best)
    second = max(hits.values())
    if top < MIN_HITS or top < 1.5 * second:
        return _ANSWERS[None, garbled]
    return _ANSWERS[best, garbled]


@text_cache(512)
def detect(text: str) -> Language:
    """The ticket's language when the evidence is clear; whether its words look like keyboard mash."""
    sample = text[:SAMPLE_CHARS]
    low = sample.lower()
    # Capitalised words are left out of the stop word count: names ("Uma", "Del", "Van")
    # are not evidence of a language, while function words are mostly written in lower
    # case (every stop word is, so a word equal to one is in lower case). E-mail addresses
    # and links carry names too ("uma.tanaka@…").
    addresses = "@" in low or "http" in low or "www." in low
    if sample.isascii():
        # ASCII letters lower-case to letters in place, so the words as written are the
        # lower-case text's words in their own case: one translate and split reads both.
        words = _non_letters_to_spaces(sample).split()
        if not words:  # no letters at all
            return _ANSWERS[None, False]
        garbled = _garbled(words)
        return _stop_word_language(
            _words(_without_addresses(sample)) if addresses else words, garbled
        )
    words = _words(low)
    if not words:  # no letters at all
        return _ANSWERS[None, False]
    if _NON_LATIN.search(sample):
        letters = sum(map(len, words))
        per_script: Counter[str] = Counter()
        for m in _SCRIPTS.finditer(sample):
            per_script[m.lastgroup or ""] += m.end() - m.start()
        for name in _SCRIPT_RANGES:
            if per_script[name] > 0.5 * letters:
                return _ANSWERS[name, False]
    garbled = _garbled(words)
    plain = _without_addresses(sample) if addresses else sample
    return _stop_word_language(_words(plain), garbled)
