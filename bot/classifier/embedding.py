"""A static sentence embedding: MiniLM's knowledge of English in one lookup table.

TF-IDF only knows the words of its own training tickets; a stolen card is "billing" to it
when "card" mostly meant billing there. This table, distilled at build time from
all-MiniLM-L6-v2 (Apache-2.0; see data/MiniLM-LICENSE and data/MiniLM-NOTICE) by
scripts/build_embedding.py, gives every word piece a 256-dim vector that carries meaning
learned from a billion sentences. A ticket's vector is the mean of its pieces' rows,
L2-normalised: one tokenizer call and one gather, thousands of tickets per second on one
core, no torch and no network.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain, repeat
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
MAX_TOKENS = 512  # word pieces read per ticket: the start carries the topic
MAX_CHARS = 3000  # cut before tokenising, so the cost is bounded whatever the ticket's length
BATCH = 256  # texts per call
WORD_CACHE = 100_000  # distinct words whose pieces are remembered (cleared when full)


class StaticEmbedding:
    """Texts → (n, dims) float32 unit vectors (all zeros for a text without known pieces)."""

    def __init__(self, table: np.ndarray, tokenizer, unk_id: int, info: dict[str, str]) -> None:
        self.dims = int(table.shape[1])
        self._stored = table
        # A float16 table's rows are widened to float32 (exactly) the first time a text uses
        # them, into a compact table of the rows in use (`_slot` maps a piece to its row):
        # loading reads nothing, and a run touches the memory of the rows it uses only.
        if table.dtype == np.float32:
            self._slot, self._wide, self._used = None, table, table.shape[0]
        else:
            self._slot = np.full(table.shape[0], -1, dtype=np.intp)
            self._wide = np.empty((0, self.dims), dtype=np.float32)
            self._used = 0
        self.tokenizer = tokenizer
        self.unk_id = unk_id
        self.info = info
        # The word cache: a word's number, and per number where its pieces start in `_flat`
        # and how many there are. A batch's words become numbers in one `map` (in C) and
        # their pieces one gather, with no Python step per word or piece.
        self._numbers: dict[str, int] = {}
        self._start = np.zeros(1024, dtype=np.intp)
        self._count = np.zeros(1024, dtype=np.intp)
        self._flat = np.zeros(4096, dtype=np.intp)
        self._flat_used = 0
        self._lock = threading.Lock()  # the cache and the compact table: one batch at a time

    @classmethod
    def load(cls, directory: Path = DATA_DIR) -> StaticEmbedding:
        from tokenizers import Tokenizer

        # Memory-mapped as stored (float16): nothing is read or converted up front, and a
        # text's rows are widened to float32 (exactly) when it is encoded.
        table = np.asarray(np.load(directory / "embedding.npy", mmap_mode="r", allow_pickle=False))
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.no_truncation()  # new words are tokenised many at a time (see `_learn`)
        unk = tokenizer.token_to_id("[UNK]")
        info_path = directory / "embedding.json"
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        return cls(table, tokenizer, -1 if unk is None else int(unk), info)

    @property
    def table_sha256(self) -> str:
        return str(self.info.get("table_sha256", ""))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) <= BATCH:
            return self._encode_batch([t[:MAX_CHARS] for t in texts])
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            chunk = [t[:MAX_CHARS] for t in texts[start : start + BATCH]]
            out[start : start + len(chunk)] = self._encode_batch(chunk)
        return out

    def pieces(self, text: str) -> list[int]:
        """Word-piece ids of the text (no [UNK], at most MAX_TOKENS), via a per-word cache.

        BERT's pre-tokenizer never joins across whitespace, so the pieces of a text are the
        pieces of its whitespace-separated chunks in order; chunks repeat a lot, so each is
        tokenised once (the tokenizer normalises it exactly as inside a whole text).
        """
        with self._lock:
            return self._batch_pieces([text])[0].tolist()

    def _learn(self, words: list[str]) -> None:
        """Number the new words and store their pieces. They are tokenised as one text,
        joined by spaces (nothing joins across whitespace), and each piece goes to the word
        its first character comes from: one tokenizer call, not one per word."""
        numbers = self._numbers
        if len(numbers) + len(words) > WORD_CACHE:
            numbers.clear()
            self._flat_used = 0
        encoding = self.tokenizer.encode(" ".join(words), add_special_tokens=False)
        found = np.fromiter(encoding.ids, np.intp, len(encoding.ids))
        first = np.fromiter((start for start, _ in encoding.offsets), np.intp, found.size)
        lengths = np.fromiter(map(len, words), np.intp, len(words))
        begins = np.cumsum(lengths + 1) - lengths - 1
        owner = np.searchsorted(begins, first, side="right") - 1
        known = found != self.unk_id
        found, owner = found[known], owner[known]
        counts = np.bincount(owner, minlength=len(words))
        begin, end = len(numbers), len(numbers) + len(words)
        self._reserve(end, self._flat_used + found.size)
        self._flat[self._flat_used : self._flat_used + found.size] = found
        self._start[begin:end] = self._flat_used + np.cumsum(counts) - counts
        self._count[begin:end] = counts
        self._flat_used += found.size
        numbers.update(zip(words, range(begin, end), strict=True))

    def _reserve(self, words: int, pieces: int) -> None:
        """Room for `words` numbered words and `pieces` stored pieces."""
        if words > self._start.size:
            size = max(words, 2 * self._start.size)
            self._start = np.resize(self._start, size)
            self._count = np.resize(self._count, size)
        if pieces > self._flat.size:
            self._flat = np.resize(self._flat, max(pieces, 2 * self._flat.size))

    def _batch_pieces(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(the batch's piece ids, text after text, at most MAX_TOKENS each; each text's
        count): every word of the batch numbered at once (in C), new words learned first."""
        words = [text.split() for text in texts]
        flat = list(chain.from_iterable(words))
        get = self._numbers.get
        nums = np.fromiter(map(get, flat, repeat(-1)), np.intp, len(flat))
        missing = np.flatnonzero(nums < 0).tolist()
        if missing:
            new = list(dict.fromkeys(map(flat.__getitem__, missing)))
            if len(self._numbers) + len(new) > WORD_CACHE:
                # The cache is cleared: every word is new again, every place looked up again.
                self._learn(list(dict.fromkeys(flat)))
                nums = np.fromiter(map(get, flat, repeat(-1)), np.intp, len(flat))
            else:  # only the places that were missing (most words were known)
                self._learn(new)
                nums[missing] = list(map(get, map(flat.__getitem__, missing)))
        sizes = self._count[nums]
        ends = np.cumsum(sizes)
        total = int(ends[-1]) if ends.size else 0
        ids = self._flat[np.arange(total) + np.repeat(self._start[nums] - (ends - sizes), sizes)]
        # Each text's pieces: the words' pieces between its first and last word.
        last = np.cumsum(np.fromiter(map(len, words), np.intp, len(words)))
        upto = np.concatenate(([0], ends))[last]
        counts = np.diff(upto, prepend=0)
        if counts.size and counts.max() > MAX_TOKENS:
            position = np.arange(ids.size) - np.repeat(upto - counts, counts)
            ids = ids[position < MAX_TOKENS]
            counts = np.minimum(counts, MAX_TOKENS)
        return ids, counts

    def _rows(self, ids: np.ndarray) -> np.ndarray:
        """The pieces' rows in the float32 table, widening the rows never used before."""
        slot = self._slot
        if slot is None:
            return ids
        rows = slot[ids]
        if rows.size and rows.min() < 0:
            fresh = np.unique(ids[rows < 0])
            used = self._used
            if used + fresh.size > self._wide.shape[0]:
                size = max(2 * self._wide.shape[0], used + fresh.size, 1024)
                grown = np.empty((size, self.dims), dtype=np.float32)
                grown[:used] = self._wide[:used]
                self._wide = grown
            self._wide[used : used + fresh.size] = self._stored[fresh]
            slot[fresh] = np.arange(used, used + fresh.size)
            self._used = used + fresh.size
            rows = slot[ids]
        return rows

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            ids, counts = self._batch_pieces(texts)
            rows = self._rows(ids)
            table = self._wide
        sums = _sums(table, rows, counts)
        # Each vector over its norm, where it has one: the norm is each row's own dot product
        # (`matmul` of 1 x 1 blocks calls BLAS's dot per row, as `total @ total` does).
        norms = np.sqrt(np.matmul(sums[:, None, :], sums[:, :, None]).reshape(-1))
        vectors = np.zeros((len(texts), self.dims), dtype=np.float32)
        has = norms > 0
        vectors[has] = sums[has] / norms[has, None]
        return vectors


def _sums(table: np.ndarray, rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each text's rows of `table` summed in the text's order, in float32 (a text's vector
    never depends on its batch): (texts, dims), -0.0 for a text without rows.

    Position by position over a batch of many short texts (a few numpy calls per position,
    the longest texts first); text by text when the texts are few or long. Both add a
    text's rows one after the other from the first, so the sums are bit-identical."""
    n = counts.size
    total = np.full((n, table.shape[1]), -0.0, dtype=np.float32)  # -0.0 + x == x, always
    if not rows.size:
        return total
    longest = int(counts.max())
    starts = np.cumsum(counts) - counts
    if 2 * longest >= 3 * n:
        for i, (start, count) in enumerate(zip(starts.tolist(), counts.tolist(), strict=True)):
            if count:
                total[i] = np.add.reduce(table[rows[start : start + count]], axis=0)
        return total
    order = np.argsort(-counts, kind="stable")
    # at[j, r]: the row at position j of the r-th longest text.
    text = np.repeat(np.arange(n), counts)
    rank = np.empty(n, dtype=np.intp)
    rank[order] = np.arange(n)
    at = np.zeros((longest, n), dtype=np.intp)
    at[np.arange(rows.size) - starts[text], rank[text]] = rows
    active = n - np.cumsum(np.bincount(counts, minlength=longest))[:longest]
    for j, m in enumerate(active.tolist()):
        total[:m] += table.take(at[j, :m], axis=0, mode="clip")  # valid rows: no check
    out = np.empty_like(total)
    out[order] = total
    return out


@lru_cache(maxsize=1)
def shared_embedding() -> StaticEmbedding:
    """The shipped table, mapped once per process (about 16 MB of float16)."""
    return StaticEmbedding.load(DATA_DIR)
