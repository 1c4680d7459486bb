"""Text → features for the local model, shared by training (scikit-learn) and inference (numpy).

One function is used on both sides, so a trained model sees exactly the features it was
trained on. Word uni/bi-grams carry topic; character 3-5-grams of words survive typos
("pasword", "invocie") and carry some signal across languages.
"""

from __future__ import annotations

import re
import string
from itertools import pairwise

from bot.classifier.translate import ascii_fast

MAX_CHARS = 3000  # the first screenful decides the topic; long threads add noise and time
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)


# ASCII text's word characters are letters and digits; everything else (the underscore
# included) separates words, except the apostrophe the word pattern allows inside a word.
_ASCII_SEPARATORS = {c: " " for c in range(128) if not chr(c).isalnum() and chr(c) != "'"}
_ASCII_DIGITS = "0123456789"
_separate = ascii_fast(_ASCII_SEPARATORS)
_zero_digits = ascii_fast({ord(d): "0" for d in _ASCII_DIGITS})


_EMAIL_LOCAL = string.ascii_letters + string.digits + "_.+-"  # its local part's characters, ASCII


def _sub_emails(text: str) -> str:
    """`_EMAIL.sub(" emailtoken ", text)` for ASCII text, trying the pattern only at an "@".

    A match's "@" is the first one after its start (the local part cannot hold one), and
    its leftmost start is where the run of local-part characters before that "@" begins
    (never before the previous match's end, where the scan resumes). The pattern alone
    would try its leading character class at every position of the text."""
    out: list[str] = []
    done = 0
    at = text.find("@")
    while at != -1:
        start = done + len(text[done:at].rstrip(_EMAIL_LOCAL))  # back over the local part
        found = _EMAIL.match(text, start) if start < at else None
        if found is None:
            at = text.find("@", at + 1)
            continue
        out += (text[done:start], " emailtoken ")
        done = found.end()
        at = text.find("@", done)
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def normalise(text: str) -> str:
    """Lower-case text with URLs, e-mail addresses and numbers collapsed to placeholders."""
    text = text[:MAX_CHARS].lower()
    if "http" in text or "www." in text:  # cheap guards: most tickets have neither
        text = _URL.sub(" urltoken ", text)
    if "@" in text:
        text = _sub_emails(text) if text.isascii() else _EMAIL.sub(" emailtoken ", text)
    if not text.isascii():
        return _DIGITS.sub("0", text)
    # Every digit becomes 0 (bytes translate), then runs of 0 halve until single: the same
    # text as the pattern's substitution, in a few C calls. No 0 after it: no digit at all.
    zeroed = _zero_digits(text)
    if "0" not in zeroed:
        return text
    while "00" in zeroed:
        zeroed = zeroed.replace("00", "0")
    return zeroed


def _plain_apostrophes(spaced: str) -> bool:
    """Whether every apostrophe of the separated ASCII text sits inside a word ("don't"),
    at most one per chunk: then each chunk is exactly one word of the pattern. Only the
    apostrophes are visited (a few per ticket), never every chunk."""
    at = spaced.find("'")
    last = len(spaced) - 1
    previous = -1
    while at != -1:
        if at == 0 or at == last or spaced[at - 1] in " '" or spaced[at + 1] in " '":
            return False
        if previous != -1 and spaced.find(" ", previous, at) == -1:
            return False  # two in one chunk ("rock'n'roll")
        previous = at
        at = spaced.find("'", at + 1)
    return True


def tokens(text: str) -> list[str]:
    """The words of the normalised text, in order.

    ASCII text is split by one bytes `translate` and one `split` (in C) into chunks no word
    crosses; only a chunk with an apostrophe needs the pattern. Other text uses the pattern."""
    text = normalise(text)
    if not text.isascii():
        return _WORD.findall(text)
    spaced = _separate(text)
    chunks = spaced.split()
    if "'" not in text or _plain_apostrophes(spaced):
        return chunks
    find = _WORD.findall
    return [w for c in chunks for w in ((c,) if "'" not in c else find(c))]


def char_grams(word: str) -> list[str]:
    """`c:` character 3-5-grams of one word, padded with spaces at both ends."""
    padded = f" {word} "
    size = len(padded)
    return [f"c:{padded[i : i + n]}" for n in (3, 4, 5) for i in range(size - n + 1)]


def analyze(text: str) -> list[str]:
    """Feature strings: `w:word`, `w:word word` and `c:` character n-grams of each distinct word."""
    words = tokens(text)
    feats = [f"w:{w}" for w in words]
    feats.extend(f"w:{a} {b}" for a, b in pairwise(words))
    for word in set(words):
        feats.extend(char_grams(word))
    return feats
