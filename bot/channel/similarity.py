"""How alike tickets are: the seam surge grouping uses.

`similarity(texts, embed)` answers an N×N matrix of cosine similarities in [0, 1] and the
threshold at which two tickets count as near-duplicates on that scale. The representation
is the classifier's: its own `embed(texts)` when it offers one, else the static sentence
embedding shipped with the local classifier (bot.classifier.embedding: one table lookup per
word piece, no network, no torch), whatever `CLASSIFIER` is set to. A ticket's vector is
computed once (VectorCache) and reused by every later batch that compares with it.

If no embedding can be loaded (a broken install), or it fails, grouping falls back to
TF-IDF over character shingles, which still catches near-duplicates ("can't log in since
10:05" / "cannot login since 10:07") but not rewordings; its scale differs, so it has its
own threshold.

The thresholds were chosen with scripts/surge_threshold.py (docs/channel.md, "How similar
is similar"): on BANKING77 *train* queries (real text), pairs from different intents reach
0.80 in 0.35% of cases while generated near-duplicates of one report never fall below 0.80;
reports of different generated problems never reach 0.74.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

log = logging.getLogger(__name__)

TEXT_CHARS = 400  # the subject and the start of the body say what a ticket is about
EMBEDDING_THRESHOLD = 0.8  # default of SURGE_SIMILARITY (see the module docstring)
SHINGLE_THRESHOLD = 0.5  # the fallback's scale: near-duplicates of one report reach it
CACHE_SIZE = 20_000  # ticket vectors kept (a surge window holds a few thousand tickets)

Embedder = Callable[[Sequence[str]], "np.ndarray"]


@dataclass(frozen=True)
class Similarities:
    matrix: np.ndarray  # N×N cosine similarities in [0, 1]
    threshold: float  # at or above it, two tickets are near-duplicates
    representation: str  # "embedding" or "shingles"


def _clean(text: str) -> str:
    return " ".join(text.split())[:TEXT_CHARS]


def shingle_similarity(texts: Sequence[str]) -> np.ndarray:
    """Cosine similarity of TF-IDF vectors over 3–5 character shingles (within words)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    cleaned = [_clean(t.lower()) or "(empty)" for t in texts]
    if not cleaned:
        return np.zeros((0, 0))
    vectors = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, dtype=np.float32
    ).fit_transform(cleaned)
    return np.asarray((vectors @ vectors.T).todense(), dtype=np.float32).clip(0.0, 1.0)


class VectorCache:
    """Unit vectors by ticket text (a digest as the key): each text is embedded once.

    One embedder at a time (another one, e.g. a reloaded model, empties it); bounded: when
    full it is emptied, which costs one re-embedding of what is still needed."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._owner: object = None
        self._vectors: dict[bytes, np.ndarray] = {}

    def vectors(self, embed: Embedder, texts: Sequence[str]) -> np.ndarray:
        owner = getattr(embed, "__self__", embed)
        keys = [
            hashlib.blake2b(t.encode("utf-8", "replace"), digest_size=16).digest() for t in texts
        ]
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}
        if owner is not self._owner or len(self._vectors) + len(todo) > self.size:
            self._owner = owner
            self._vectors = {}
            todo = dict(zip(keys, texts, strict=True))
        if todo:
            computed = _unit(np.asarray(embed(list(todo.values())), dtype=np.float32))
            self._vectors.update(zip(todo, computed, strict=True))
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys])


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


_CACHE = VectorCache()


def embedding_similarity(
    embed: Embedder, texts: Sequence[str], cache: VectorCache | None = None
) -> np.ndarray:
    cleaned = [_clean(t) for t in texts]
    if cache is None:
        vectors = _unit(np.asarray(embed(cleaned), dtype=np.float32))
    else:
        vectors = cache.vectors(embed, cleaned)
    if vectors.size == 0:
        return np.zeros((len(texts), len(texts)), dtype=np.float32)
    return (vectors @ vectors.T).clip(0.0, 1.0)


def similarity(
    texts: Sequence[str],
    embed: Embedder | None = None,
    threshold: float = EMBEDDING_THRESHOLD,
    cache: VectorCache | None = _CACHE,
) -> Similarities:
    """N×N similarities by the embedding when given (with `threshold`), shingles otherwise."""
    if embed is not None:
        try:
            return Similarities(embedding_similarity(embed, texts, cache), threshold, "embedding")
        except Exception:  # a representation that fails must not stop grouping
            log.exception("ticket embedding failed; grouping by character shingles instead")
    return Similarities(shingle_similarity(texts), SHINGLE_THRESHOLD, "shingles")


@lru_cache(maxsize=1)
def static_embedder() -> Embedder | None:
    """The shipped static embedding's `encode`, or None when it cannot be loaded."""
    try:
        from bot.classifier.embedding import shared_embedding

        return shared_embedding().encode
    except Exception:
        log.warning("the static embedding could not be loaded; surge grouping uses shingles")
        return None


def embedder_of(classifier: object) -> Embedder | None:
    """The classifier's `embed` method when it has one, else the shipped static embedding."""
    embed = getattr(classifier, "embed", None)
    return embed if callable(embed) else static_embedder()
