"""A model file's vocabulary as one UTF-8 text, so loading it is one decode and one split.

A vocabulary stored as a numpy string array is fixed-width UTF-32 (a 54,000-term
vocabulary is 7 MB to inflate) and becomes Python strings one by one; the same terms
joined by newlines are half a megabyte and split in C. Files written before this layout
(a `terms` string array) still load. The model files are also stored uncompressed: the
weights are floats that zlib hardly shrinks but takes milliseconds to inflate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat
from operator import itemgetter

import numpy as np

TEXT_KEY = "terms_text"  # the terms joined by "\n", as UTF-8 bytes (uint8)
ARRAY_KEY = "terms"  # the older layout: a numpy string array


def pack_terms(terms: Sequence[str]) -> dict[str, np.ndarray]:
    """The terms as the file stores them: one text, or (a term holding a newline or an
    empty term could not be split back) the older string array."""
    if all(terms) and not any("\n" in t for t in terms):
        text = "\n".join(terms).encode("utf-8", "surrogatepass")
        return {TEXT_KEY: np.frombuffer(text, dtype=np.uint8)}
    return {ARRAY_KEY: np.array(terms)}


def unpack_terms(data: Mapping[str, np.ndarray]) -> list[str]:
    """The terms of an open `.npz` in either layout (KeyError when it has neither)."""
    if TEXT_KEY in data:
        text = data[TEXT_KEY]
        if text.dtype != np.uint8 or text.ndim != 1:
            raise ValueError(f"{TEXT_KEY} is not a byte array")
        return text.tobytes().decode("utf-8", "surrogatepass").split("\n") if text.size else []
    return data[ARRAY_KEY].tolist()


def split_pairs(pairs: list[str]) -> tuple[list[str], list[str]]:
    """The first and second words of "first second" terms (split at the first space): one
    join and one split in C when every term has a single space, as vocabularies do."""
    halves = " ".join(pairs).split(" ")
    if len(halves) == 2 * len(pairs):  # first and second words alternate
        return halves[0::2], halves[1::2]
    split = list(map(str.partition, pairs, repeat(" ")))
    return list(map(itemgetter(0), split)), list(map(itemgetter(2), split))
