"""Text → features for the local model, shared by training (scikit-learn) and inference (numpy).

One function is used on both sides, so a trained model sees exactly the features it was
trained on. Word uni/bi-grams carry topic; character 3-5-grams of words survive typos
("pasword", "invocie") and carry some signal across languages.
"""

from __future__ import annotations

import re
from itertools import pairwise

MAX_CHARS = 3000  # the first screenful decides the topic; long threads add noise and time
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)


def normalise(text: str) -> str:
    """Lower-case text with URLs, e-mail addresses and numbers collapsed to placeholders."""
    text = text[:MAX_CHARS].lower()
    if "http" in text or "www." in text:  # cheap guards: most tickets have neither
        text = _URL.sub(" urltoken ", text)
    if "@" in text:
        text = _EMAIL.sub(" emailtoken ", text)
    return _DIGITS.sub("0", text)


def tokens(text: str) -> list[str]:
    """The words of the normalised text, in order."""
    return _WORD.findall(normalise(text))


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
