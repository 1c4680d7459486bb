"""The local model's TF-IDF features for a whole batch at once: the same features as
`bot.classifier.features.analyze`, counted with a handful of numpy calls per batch.

Each word gets a number once: the words of the vocabulary's unigrams and bigrams at load,
any other word the first time it is seen. Per number the table keeps the word's unigram
id and its character n-gram ids (in one flat array), and a bigram is found by its pair of
numbers in one sorted array. A batch is then: tokenise each text (C string calls), one
`map` of all its words to numbers, and array operations for unigrams, bigrams, each text's
distinct words and their n-grams; no Python step per feature and no numpy call per text.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import chain, compress, repeat
from operator import itemgetter, not_

import numpy as np

from bot.classifier.features import char_grams, tokens
from bot.classifier.termsfile import split_pairs

LEARNED_WORDS = 50_000  # words outside the vocabulary remembered (all forgotten when full)


class BatchFeaturiser:
    """Texts -> sorted (row, feature id, count) of their features in the vocabulary."""

    def __init__(self, terms: Sequence[str]) -> None:
        n = len(terms)
        self.width = n
        self._vocab = dict(zip(terms, range(n), strict=True))
        # The word features ("w:word", "w:first second"), split by `compress` and `map` (in
        # C): no Python step per term, so loading stays fast.
        is_word = list(map(str.startswith, terms, repeat("w:")))
        at = list(compress(range(n), is_word))
        words = list(map(itemgetter(slice(2, None)), compress(terms, is_word)))
        paired = list(map(str.__contains__, words, repeat(" ")))
        single = list(map(not_, paired))
        unigrams = dict(zip(compress(words, single), compress(at, single), strict=True))
        firsts, seconds = split_pairs(list(compress(words, paired)))
        # Numbered words: the unigrams first (number k is the k-th), then the pairs' words.
        fixed = list(
            dict.fromkeys(chain(unigrams, chain.from_iterable(zip(firsts, seconds, strict=True))))
        )
        self._fixed_words = fixed
        self._fixed = len(fixed)
        self._numbers: dict[str, int] = dict(zip(fixed, range(len(fixed)), strict=True))
        self._capacity = self._fixed + LEARNED_WORDS
        self._unigram = np.full(self._capacity, -1, dtype=np.int64)
        self._unigram[: len(unigrams)] = list(unigrams.values())
        number = self._numbers.__getitem__
        keys = np.fromiter(map(number, firsts), np.int64, len(firsts)) * self._fixed
        keys += np.fromiter(map(number, seconds), np.int64, len(seconds))
        order = np.argsort(keys, kind="stable")
        self._pair_keys = keys[order] if keys.size else np.array([-1], dtype=np.int64)
        self._pair_ids = (
            np.array(list(compress(at, paired)), dtype=np.int64)[order]
            if keys.size
            else np.array([0], dtype=np.int64)
        )
        self._learned: list[str] = []
        self._lock = threading.Lock()
        self._forget_grams()

    def _forget_grams(self) -> None:
        """Drop every learned word and every word's n-grams (they are found again on use)."""
        for word in self._learned:
            del self._numbers[word]
        self._learned = []
        self._gram_start = np.zeros(self._capacity, dtype=np.int64)
        self._gram_count = np.full(self._capacity, -1, dtype=np.int64)  # -1: not yet found
        self._grams = np.zeros(1 << 16, dtype=np.int64)
        self._grams_used = 0

    def _number(self, words: list[str]) -> np.ndarray:
        """The words' numbers, learning the words never seen."""
        get = self._numbers.get
        nums = np.fromiter(map(get, words, repeat(-1)), np.int64, len(words))
        missing = np.flatnonzero(nums < 0).tolist()
        if missing:
            new = list(dict.fromkeys(map(words.__getitem__, missing)))
            forgot = len(self._learned) + len(new) > LEARNED_WORDS
            if forgot:
                self._forget_grams()
                new = list(dict.fromkeys(w for w in words if w not in self._numbers))
            start = self._fixed + len(self._learned)
            self._reserve(start + len(new))
            self._numbers.update(zip(new, range(start, start + len(new)), strict=True))
            self._learned.extend(new)
            if forgot:  # learned words were numbered anew: every place is looked up again
                return np.fromiter(map(get, words, repeat(-1)), np.int64, len(words))
            # Otherwise only the places that were missing (most words were known).
            nums[missing] = list(map(get, map(words.__getitem__, missing)))
        return nums

    def _reserve(self, size: int) -> None:
        """Room for `size` numbered words (one batch may bring more than LEARNED_WORDS)."""
        if size <= self._capacity:
            return
        more = size - self._capacity
        self._unigram = np.concatenate([self._unigram, np.full(more, -1, dtype=np.int64)])
        self._gram_start = np.concatenate([self._gram_start, np.zeros(more, dtype=np.int64)])
        self._gram_count = np.concatenate([self._gram_count, np.full(more, -1, dtype=np.int64)])
        self._capacity = size

    def _find_grams(self, nums: np.ndarray) -> None:
        """Fill in the n-gram ids of the numbered words not looked up yet: all their
        n-grams made in one list and looked up by one `map` (in C)."""
        todo = nums[self._gram_count[nums] < 0]
        if not todo.size:
            return
        todo = np.unique(todo)  # a word new to several texts of the batch: once
        fixed, learned, n_fixed = self._fixed_words, self._learned, self._fixed
        words = [fixed[k] if k < n_fixed else learned[k - n_fixed] for k in todo.tolist()]
        grams = list(map(char_grams, words))
        sizes = np.fromiter(map(len, grams), np.int64, len(grams))
        ids = np.fromiter(
            map(self._vocab.get, chain.from_iterable(grams), repeat(-1)), np.int64, int(sizes.sum())
        )
        known = ids >= 0
        counts = np.bincount(np.repeat(np.arange(todo.size), sizes)[known], minlength=todo.size)
        found = ids[known]
        end = self._grams_used + found.size
        if end > self._grams.size:
            grown = np.zeros(max(end, 2 * self._grams.size), dtype=np.int64)
            grown[: self._grams_used] = self._grams[: self._grams_used]
            self._grams = grown
        self._grams[self._grams_used : end] = found
        self._gram_start[todo] = self._grams_used + np.cumsum(counts) - counts
        self._gram_count[todo] = counts
        self._grams_used = end

    def counts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, feature id, count) of every feature of the texts, sorted by row then id."""
        # The word table is learned as it goes: one batch at a time, whichever thread asks.
        with self._lock:
            return self._counts(texts)

    def _counts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        words = [tokens(text) for text in texts]
        flat = list(chain.from_iterable(words))
        nums = self._number(flat)
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), list(map(len, words)))
        unigram = self._unigram[nums]
        has = unigram >= 0
        # Bigrams: neighbours in one text, both words of the vocabulary's pairs. They are
        # looked up in sorted order (a binary search is several times faster on sorted
        # needles), each pair's text carried in the low digits of its sort key.
        first, second = nums[:-1], nums[1:]
        pair = (rows[:-1] == rows[1:]) & (first < self._fixed) & (second < self._fixed)
        n = max(len(texts), 1)
        keyed = np.sort((first[pair] * self._fixed + second[pair]) * n + rows[:-1][pair])
        keys = keyed // n
        pair_rows = keyed - keys * n
        at = np.minimum(np.searchsorted(self._pair_keys, keys), self._pair_keys.size - 1)
        hit = self._pair_keys[at] == keys
        # Character n-grams of each text's distinct words.
        distinct = np.sort(rows * self._capacity + nums)
        if distinct.size:
            distinct = distinct[np.concatenate(([True], distinct[1:] != distinct[:-1]))]
        word_row = distinct // self._capacity
        word_num = distinct - word_row * self._capacity
        self._find_grams(word_num)
        sizes = self._gram_count[word_num]
        total = int(sizes.sum())
        ends = np.cumsum(sizes)
        at_gram = np.arange(total, dtype=np.int64) + np.repeat(
            self._gram_start[word_num] - (ends - sizes), sizes
        )
        ids = np.concatenate([unigram[has], self._pair_ids[at[hit]], self._grams[at_gram]])
        owner = np.concatenate([rows[has], pair_rows[hit], np.repeat(word_row, sizes)])
        keys = owner * self.width + ids
        if n * self.width < 1 << 31:
            keys = keys.astype(np.int32)  # sorts about twice as fast as int64
        keys.sort()
        if not keys.size:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        tf = np.diff(np.append(starts, keys.size))
        keys = keys[starts].astype(np.int64)
        row = keys // self.width
        return row, keys - row * self.width, tf
