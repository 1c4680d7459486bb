"""One sparse-times-dense product for a batch of texts, in numpy, one column at a time.

A batch is a list of (row, feature, weight) triples sorted by row. Gathering whole rows of
the weight matrix and summing them per text (`reduceat` along axis 0) walks a
(features x classes) array several times; doing it per class on a transposed copy works on
contiguous 1-D arrays and is about four times faster. The sums run in the same order, so
the results are bit-identical, and a text scores the same alone or in a batch.
"""

from __future__ import annotations

import numpy as np


def transposed(coef: np.ndarray) -> np.ndarray:
    """(classes, features) float64 copy of a (features, classes) weight matrix."""
    return np.ascontiguousarray(np.asarray(coef, dtype=np.float64).T)


def segment_product(
    coef_t: np.ndarray, idx: np.ndarray, weights: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """Per segment (a text's features begin at each of `starts`), the sum of
    weight x the feature's row: (len(starts), classes)."""
    out = np.empty((starts.size, coef_t.shape[0]), dtype=np.float64)
    for k, column in enumerate(coef_t):
        out[:, k] = np.add.reduceat(column[idx] * weights, starts)
    return out
