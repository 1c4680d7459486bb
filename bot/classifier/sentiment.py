"""Tone of a ticket: sentiment, sarcasm and a learned complaint signal, from one small model.

Three linear heads share one vocabulary and one feature vector, so a ticket is tokenised
once and scored with one sparse product:

* `sentiment`  negative / neutral / positive, trained on real labelled short messages;
* `sarcasm`    sarcastic or ironic vs sincere, trained on real sarcastic posts;
* `complaint`  none / money / access / broken / cancel, trained on real support requests.

Besides words and word pairs, three dense features come from the VADER lexicon (MIT):
its valences are an array aligned with the vocabulary, so the lexicon costs one gather,
never a Python loop over a lexicon. The file is plain arrays plus JSON in one `.npz`
(no pickle); `scripts/build_sentiment_model.py` rebuilds it from pinned sources.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, compress, pairwise, repeat
from operator import not_
from pathlib import Path
from typing import Any

import numpy as np

from bot.classifier.base import ModelFileError
from bot.classifier.sparse import SegmentProduct
from bot.classifier.termsfile import split_pairs, unpack_terms
from bot.classifier.textcache import TextCache
from bot.classifier.translate import ascii_fast
from bot.frozen import fast_init

FORMAT = 1
BUNDLED_TONE_MODEL = Path(__file__).resolve().parent / "data" / "tone-model.npz"
REBUILD = "rebuild it with: python scripts/build_sentiment_model.py"
HEAD_CHARS = 1000  # tone lives at the start of a ticket ...
TAIL_CHARS = 500  # ... and in its last lines ("... I want my money back.")
SENTIMENTS = ("negative", "neutral", "positive")
COMPLAINTS = ("none", "money", "access", "broken", "cancel")
N_DENSE = 3

_URL = re.compile(r"https?://\S+|www\.\S+")
_USER = re.compile(r"@\w+")


def _token_table() -> dict[int, str]:
    """One `str.translate` table that turns text into space-separated words: punctuation
    becomes a space and every digit reads as 0. Every entry maps to one ASCII character,
    which keeps CPython on its fast path for ASCII text."""
    table: dict[int, str] = {ord(c): " " for c in '"#$%&()*+,-./:;<=>@[\\]^_`{|}~'}
    table.update({ord(c): "0" for c in "123456789"})
    table.update({c: " " for c in range(0x2000, 0x2070)})  # dashes, quotes, ellipsis …
    table[ord("’")] = "'"
    return table


_TABLE = _token_table()
_to_words = ascii_fast(_TABLE)
# Emoticons that carry tone, counted in C rather than found by a regex.
_EMOTICONS = (":)", ":-)", ":(", ":-(", ":d", ";)", ":p", ":'(", "<3")
_EMOJI = re.compile(r"[\u2600-\u27bf\U0001f300-\U0001faff]")


def cut(text: str) -> str:
    """The part of a ticket the tone model reads: bounded, whatever the ticket's size."""
    if len(text) <= HEAD_CHARS + TAIL_CHARS:
        return text
    return f"{text[:HEAD_CHARS]}\n{text[-TAIL_CHARS:]}"


def tone_tokens(text: str) -> list[str]:
    """Lower-case words of the cut text (URLs and @handles as placeholders), with `!`, `?`
    and emoji as tokens in place, then one token per emoticon.

    A few `replace`, one `translate` and one `split`, all in C: tokenising is most of the
    model's cost. The rare substitutions run only when their trigger is present."""
    low = cut(text).lower()
    if "http" in low or "www." in low:
        low = _URL.sub(" urltoken ", low)
    if "@" in low:
        low = _USER.sub(" usertoken ", low)
    # Every emoticon holds ":", ";)" or "<3": most texts need not look for each one.
    hinted = ":" in low or ";)" in low or "<3" in low
    marks = [m for m in _EMOTICONS if m in low] if hinted else []
    low = low.replace("!", " ! ").replace("?", " ? ")
    if not low.isascii():
        low = _EMOJI.sub(r" \g<0> ", low)
    words = _to_words(low).split()
    for mark in marks:
        words += [mark] * low.count(mark)
    return words


def tone_terms(words: list[str]) -> list[str]:
    """Feature strings: each word, and each pair of neighbouring words."""
    return [*words, *(f"{a} {b}" for a, b in pairwise(words))]


def dense_features(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """VADER-style features from summed positive and negative valences: (n, 3)."""
    total = pos + neg + 1.0
    net = pos - neg
    return np.stack([pos / total, neg / total, net / np.sqrt(net * net + 15.0)], axis=-1)


def _dense(pos: float, neg: float) -> np.ndarray:
    """`dense_features` of one text, in plain floats (numpy is slow on arrays of one)."""
    total = pos + neg + 1.0
    net = pos - neg
    return np.array([pos / total, neg / total, net / math.sqrt(net * net + 15.0)])


@fast_init
@dataclass(frozen=True)
class Tone:
    """The tone heads' answer for one text."""

    sentiment: str
    probs: tuple[float, float, float]  # negative, neutral, positive
    sarcasm: float
    complaint: str  # "none" or the most likely complaint kind
    complaint_score: float  # 1 - P(none)

    @property
    def positive_margin(self) -> float:
        """How far positive leads the best other class (negative when it does not lead)."""
        neg, neu, pos = self.probs
        return pos - max(neg, neu)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class ToneModel:
    """The three heads; deterministic, numpy only, never raises on text."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.meta: dict[str, Any] = data["meta"]
        self.version = str(self.meta["version"])
        terms: list[str] = data["terms"]
        n = len(terms)
        # Words are looked up in a dict; word pairs are found by number (first id * n +
        # second id) in one sorted array, so a pair costs no string and no Python step.
        # Every pair in the vocabulary has both its words in it (a pair seen in two texts
        # means each word was), so nothing is lost.
        # Built by `map` and `compress` (in C), no Python step per term: loading stays fast.
        spaced = list(map(str.__contains__, terms, repeat(" ")))
        self._vocab = vocab = dict(compress(zip(terms, range(n), strict=True), map(not_, spaced)))
        at = list(compress(range(n), spaced))
        firsts, seconds = split_pairs(list(map(terms.__getitem__, at)))
        first = np.fromiter(map(vocab.get, firsts, repeat(-1)), np.int64, len(at))
        second = np.fromiter(map(vocab.get, seconds, repeat(-1)), np.int64, len(at))
        known = (first >= 0) & (second >= 0)
        keys = first[known] * n + second[known]
        order = np.argsort(keys, kind="stable")
        self._pair_keys = keys[order] if keys.size else np.array([-1], dtype=np.int64)
        self._pair_ids = (
            np.asarray(at, dtype=np.int64)[known][order]
            if keys.size
            else np.array([0], dtype=np.int64)
        )
        self._idf = data["idf"]
        self._valence = data["valence"]
        self._coef = data["coef"]  # (n_terms + N_DENSE, 3 + 1 + 5)
        self._product = SegmentProduct(self._coef)
        self._intercept = data["intercept"]
        self._dense_ids = np.arange(n, n + N_DENSE)
        self.sentiment_bias = np.asarray(self.meta["sentiment_bias"], dtype=np.float64)
        self.sarcasm_threshold = float(self.meta["sarcasm_threshold"])
        self.complaint_threshold = float(self.meta["complaint_threshold"])
        self.praise_margin = float(self.meta["praise_margin"])

    @classmethod
    def load(cls, path: Path = BUNDLED_TONE_MODEL) -> ToneModel:
        if not path.is_file():
            raise ModelFileError(f"tone model {path} does not exist; {REBUILD}")
        try:
            with np.load(path, allow_pickle=False) as npz:
                data = {
                    "meta": json.loads(str(npz["meta"])),
                    "terms": unpack_terms(npz),
                    "idf": npz["idf"].astype(np.float32, copy=False),
                    "valence": npz["valence"].astype(np.float32, copy=False),
                    "coef": npz["coef"].astype(np.float32, copy=False),
                    "intercept": npz["intercept"].astype(np.float32, copy=False),
                }
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise ModelFileError(
                f"tone model {path} is corrupt ({type(exc).__name__}); {REBUILD}"
            ) from None
        n = len(data["terms"])
        if (
            data["meta"].get("format") != FORMAT
            or data["coef"].shape != (n + N_DENSE, 9)
            or data["idf"].shape != (n,)
            or data["valence"].shape != (n,)
        ):
            raise ModelFileError(f"tone model {path} has an unexpected layout; {REBUILD}")
        return cls(data)

    def scores_many(self, texts: Sequence[str]) -> np.ndarray:
        """Raw head scores for a batch: the batch is one sparse matrix (row, term, count),
        found with one sort, and one segment sum per row gives the product; no numpy call
        per text. A row's sums run over its own terms, so a text scores the same alone or
        in a batch."""
        n_texts = len(texts)
        n = len(self._idf)
        words = [tone_tokens(text) for text in texts]
        sizes = np.fromiter(map(len, words), np.int64, n_texts)
        vocab = self._vocab
        uni = np.fromiter(
            map(vocab.get, chain.from_iterable(words), repeat(-1)), np.int64, int(sizes.sum())
        )
        rows = np.repeat(np.arange(n_texts, dtype=np.int64), sizes)
        # Word pairs: neighbours in the same text, both in the vocabulary.
        first, second = uni[:-1], uni[1:]
        both = (first >= 0) & (second >= 0) & (rows[:-1] == rows[1:])
        keys = first[both] * n + second[both]
        # Looked up in increasing order, the binary searches walk the table in order (about
        # twice as fast); the pairs' order is lost anyway when they are sorted by row below.
        order = np.argsort(keys)
        keys = keys[order]
        at = np.minimum(np.searchsorted(self._pair_keys, keys), len(self._pair_keys) - 1)
        hit = self._pair_keys[at] == keys
        known = uni >= 0
        ids = np.concatenate([uni[known], self._pair_ids[at[hit]]])
        owner = np.concatenate([rows[known], rows[:-1][both][order][hit]])
        out = np.zeros((n_texts, self._coef.shape[1]), dtype=np.float64)
        pos = np.zeros(n_texts)
        neg = np.zeros(n_texts)
        if ids.size:
            # np.unique(..., return_counts=True) by one sort and one comparison (faster).
            found = np.sort(owner * (n + N_DENSE) + ids)
            runs = np.flatnonzero(np.concatenate(([True], found[1:] != found[:-1])))
            uniq, tf = found[runs], np.diff(np.append(runs, found.size))
            row = uniq // (n + N_DENSE)
            idx = uniq - row * (n + N_DENSE)
            w = (1.0 + np.log(tf)) * self._idf[idx]
            norms = np.sqrt(np.bincount(row, weights=w * w, minlength=n_texts))
            w /= np.where(norms > 0, norms, 1.0)[row]
            starts = np.flatnonzero(np.concatenate(([True], row[1:] != row[:-1])))
            out[row[starts]] = self._product(idx, w, starts)
            val = self._valence[idx] * tf
            pos = np.bincount(row, weights=np.where(val > 0, val, 0.0), minlength=n_texts)
            neg = pos - np.bincount(row, weights=val, minlength=n_texts)
        # Written out rather than a matrix product: BLAS may sum a batch in another order.
        dense = dense_features(pos, neg)
        for k in range(N_DENSE):
            out += dense[:, k : k + 1] * self._coef[n + k]
        return out + self._intercept

    def read_many(self, texts: Sequence[str]) -> list[Tone]:
        raw = self.scores_many(texts)
        senti = _softmax(raw[:, :3] + self.sentiment_bias)
        sarcasm = 1.0 / (1.0 + np.exp(-raw[:, 3]))
        complaint = _softmax(raw[:, 4:])
        none = 1.0 - complaint[:, 0]
        kinds = (np.argmax(complaint[:, 1:], axis=1) + 1).tolist()
        return [
            Tone(
                sentiment=SENTIMENTS[best],
                probs=(neg, neu, pos),
                sarcasm=sc,
                complaint=COMPLAINTS[kind] if score >= 0.5 else "none",
                complaint_score=score,
            )
            for best, (neg, neu, pos), sc, kind, score in zip(
                np.argmax(senti, axis=1).tolist(),
                senti.tolist(),
                sarcasm.tolist(),
                kinds,
                none.tolist(),
                strict=True,
            )
        ]

    def read(self, text: str) -> Tone:
        return self.read_many([text])[0]


@lru_cache(maxsize=1)
def tone_model() -> ToneModel:
    """The shipped tone model, loaded once per process."""
    return ToneModel.load()


TONE_CACHE = 2048  # texts whose tone is remembered (guardrails and the model share it)
# Bounded in characters too: 2,048 tickets of 200 KB must not stay in memory.
_tones: TextCache[Tone] = TextCache(lambda text: tone_model().read(text), TONE_CACHE)


def read_tones(texts: Sequence[str]) -> list[Tone]:
    """The tones of many texts with the shipped model, in one batch for those not yet read."""
    held = _tones.found
    wanted = list(dict.fromkeys(texts))
    missing = [t for t in wanted if t not in held]
    if not missing:
        return list(map(held.__getitem__, texts))
    if len(wanted) > TONE_CACHE:  # more than the cache holds: answer, remember none
        found = dict(zip(wanted, tone_model().read_many(wanted), strict=True))
        return list(map(found.__getitem__, texts))
    if len(held) + len(missing) > TONE_CACHE:
        _tones.cache_clear()
        missing = wanted
    found = dict(zip(missing, tone_model().read_many(missing), strict=True))
    answers = (
        found  # a batch of new texts: the usual case
        if len(found) == len(wanted)
        else {t: found[t] if t in found else held[t] for t in wanted}
    )
    for text, tone in found.items():
        _tones.remember(text, tone)  # may forget older texts: the answers are already taken
    return list(map(answers.__getitem__, texts))


def read_tone(text: str) -> Tone:
    """The tone of one text with the shipped model (cached: guardrails and the model share it)."""
    found = _tones.get(text)
    return found if found is not None else read_tones([text])[0]
