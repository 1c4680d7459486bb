"""One sparse-times-dense product for a batch of texts, in numpy.

A batch is a list of (row, feature, weight) triples sorted by row. Gathering whole rows of
the weight matrix and summing them per text (`reduceat` along axis 0) walks a
(features x classes) array several times; doing it per class on a transposed copy works on
contiguous 1-D arrays and is about four times faster on a batch, while a single short text
is quicker the first way (three numpy calls instead of three per class). Both sum in the
same order, so the results are bit-identical, and a text scores the same alone or in a
batch.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

PER_CLASS_FROM = 1000  # features in a call from which the per-class walk is the faster


class SegmentProduct:
    """Weights (features x classes), kept row-major and transposed, in float64 (exactly).

    Each layout is made the first time it is used: a run of one short text never needs
    the transposed one, a run of batches hardly ever the row-major one."""

    def __init__(self, coef: np.ndarray) -> None:
        self._coef = coef

    @cached_property
    def rows(self) -> np.ndarray:
        return np.ascontiguousarray(self._coef, dtype=np.float64)

    @cached_property
    def columns(self) -> np.ndarray:
        return np.ascontiguousarray(self._coef.T, dtype=np.float64)

    def __call__(self, idx: np.ndarray, weights: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Per segment (a text's features begin at each of `starts`), the sum of
        weight x the feature's row: (len(starts), classes)."""
        if idx.size < PER_CLASS_FROM:
            terms = self.rows[idx]
            terms *= weights[:, None]
            return np.add.reduceat(terms, starts, axis=0)
        # One buffer for every class's gathered terms and one row of the result per class:
        # no array allocated per class. (The ids are the vocabulary's, so `clip` never
        # clips; it only skips the bounds check.)
        terms = np.empty(idx.size, dtype=np.float64)
        out = np.empty((self.columns.shape[0], starts.size), dtype=np.float64)
        for k, column in enumerate(self.columns):
            np.take(column, idx, out=terms, mode="clip")
            np.multiply(terms, weights, out=terms)
            np.add.reduceat(terms, starts, out=out[k])
        return out.T
