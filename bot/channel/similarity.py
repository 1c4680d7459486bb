"""How alike tickets are: the seam surge grouping uses.

`similarity(texts)` answers an N×N matrix of cosine similarities in [0, 1]. When the
classifier offers a representation (`embed(texts) -> array`), that is used; otherwise
TF-IDF over character shingles, which catches near-duplicates ("can't log in since
10:05" / "cannot login since 10:07") without any model and without the network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

TEXT_CHARS = 400  # the subject and the start of the body say what a ticket is about

Embedder = Callable[[Sequence[str]], "np.ndarray"]


def shingle_similarity(texts: Sequence[str]) -> np.ndarray:
    """Cosine similarity of TF-IDF vectors over 3–5 character shingles (within words)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    cleaned = [" ".join(t.lower().split())[:TEXT_CHARS] or "(empty)" for t in texts]
    if not cleaned:
        return np.zeros((0, 0))
    vectors = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, dtype=np.float32
    ).fit_transform(cleaned)
    return np.asarray((vectors @ vectors.T).todense(), dtype=np.float32).clip(0.0, 1.0)


def embedding_similarity(embed: Embedder, texts: Sequence[str]) -> np.ndarray:
    vectors = np.asarray(embed([t[:TEXT_CHARS] for t in texts]), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1.0, norms)
    return (vectors @ vectors.T).clip(0.0, 1.0)


def similarity(texts: Sequence[str], embed: Embedder | None = None) -> np.ndarray:
    """N×N similarities; the classifier's representation when given, shingles otherwise."""
    if embed is not None:
        try:
            return embedding_similarity(embed, texts)
        except Exception:  # a representation that fails must not stop grouping
            pass
    return shingle_similarity(texts)


def embedder_of(classifier: object) -> Embedder | None:
    """The classifier's `embed` method when it has one."""
    embed = getattr(classifier, "embed", None)
    return embed if callable(embed) else None
