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

Vectors are centred on the classifier's training tickets (CentredEmbedding): without that,
greetings and sign-offs make unrelated tickets look alike. The threshold was chosen with
scripts/surge_threshold.py on generated near-duplicates and real text (BANKING77 *train*
queries: different intents as the pairs that must stay apart); see docs/channel.md.
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
EMBEDDING_THRESHOLD = 0.73  # default of SURGE_SIMILARITY (scripts/surge_threshold.py)
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


class CentredEmbedding:
    """The static embedding of ticket texts, centred on the classifier's training tickets.

    Mean-pooled word-piece vectors share a large common direction: two unrelated tickets
    that both open with "Hi team, hope you're well" score about 0.8. Removing the mean of
    the model's training-ticket prototypes and their first principal component ("all but
    the top", Mu & Viswanath 2018) leaves what a ticket is about: near-duplicates of one
    report mostly stay above 0.73, unrelated ones rarely reach it (scripts/surge_threshold.py)."""

    def __init__(self, encode: Embedder, prototypes: np.ndarray) -> None:
        self.encode = encode
        reference = np.asarray(prototypes, dtype=np.float32)
        self.mean = reference.mean(axis=0)
        _, _, vt = np.linalg.svd(reference - self.mean, full_matrices=False)
        self.top = vt[0]

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.asarray(self.encode(texts), dtype=np.float32) - self.mean
        return vectors - np.outer(vectors @ self.top, self.top)


def _prototypes_of(classifier: object) -> np.ndarray | None:
    """The classifier's training-ticket prototypes (the local model's, or the local model
    an LLM classifier falls back to), else those of the model shipped in the package."""
    for owner in (classifier, getattr(classifier, "local", None)):
        found = getattr(owner, "prototypes", None)
        if isinstance(found, np.ndarray) and found.ndim == 2 and len(found) > 1:
            return found
    return _shipped_prototypes()


@lru_cache(maxsize=1)
def _shipped_prototypes() -> np.ndarray | None:
    try:
        from bot.classifier.local import BUNDLED_MODEL, read_model

        return read_model(BUNDLED_MODEL).prototypes
    except Exception:
        log.warning("the shipped model's prototypes could not be read")
        return None


@lru_cache(maxsize=1)
def _static_encode() -> Embedder | None:
    """The shipped static embedding's `encode`, or None when it cannot be loaded."""
    try:
        from bot.classifier.embedding import shared_embedding

        return shared_embedding().encode
    except Exception:
        log.warning("the static embedding could not be loaded; surge grouping uses shingles")
        return None


_CENTRED: dict[int, tuple[np.ndarray, CentredEmbedding]] = {}


def embedder_of(classifier: object) -> Embedder | None:
    """The classifier's `embed` method when it has one, else the shipped static embedding
    centred on the classifier's training tickets; None (shingles) when neither exists."""
    embed = getattr(classifier, "embed", None)
    if callable(embed):
        return embed
    encode = _static_encode()
    prototypes = _prototypes_of(classifier)
    if (
        encode is None
        or prototypes is None
        or prototypes.shape[1]
        != getattr(getattr(encode, "__self__", None), "dims", prototypes.shape[1])
    ):
        return None
    known = _CENTRED.get(id(prototypes))
    if known is None or known[0] is not prototypes:  # one per model (a reload brings a new one)
        _CENTRED.clear()
        known = (prototypes, CentredEmbedding(encode, prototypes))
        _CENTRED[id(prototypes)] = known
    return known[1]
