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
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import chain, islice
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
        if table.dtype == np.float32:
            self.table, self._stored, self._ready = table, table, None
        else:
            # Rows are widened to float32 (exactly) the first time a text uses them, so
            # loading reads nothing; the zeroed table takes memory only where it is filled.
            self._stored = table
            self.table = np.zeros(table.shape, dtype=np.float32)
            self._ready = np.zeros(table.shape[0], dtype=bool)
        self.tokenizer = tokenizer
        self.unk_id = unk_id
        self.info = info
        self._cache: dict[str, tuple[int, ...]] = {}

    @classmethod
    def load(cls, directory: Path = DATA_DIR) -> StaticEmbedding:
        from tokenizers import Tokenizer

        # Memory-mapped as stored (float16): nothing is read or converted up front, and a
        # text's rows are widened to float32 (exactly) when it is encoded.
        table = np.asarray(np.load(directory / "embedding.npy", mmap_mode="r", allow_pickle=False))
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        unk = tokenizer.token_to_id("[UNK]")
        info_path = directory / "embedding.json"
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        return cls(table, tokenizer, -1 if unk is None else int(unk), info)

    @property
    def table_sha256(self) -> str:
        return str(self.info.get("table_sha256", ""))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
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
        return list(islice(self._pieces(text), MAX_TOKENS))

    def _pieces(self, text: str) -> Iterator[int]:
        """All word-piece ids of the text, lazily: every known word is looked up in C."""
        cache = self._cache
        words = text.split()
        try:
            found = list(map(cache.__getitem__, words))
        except KeyError:  # new words: tokenised once each, then looked up as the others
            for word in set(words).difference(cache):
                self._learn(word)
            try:
                found = list(map(cache.__getitem__, words))
            except KeyError:  # the cache was cleared meanwhile
                found = [cache[w] if w in cache else self._learn(w) for w in words]
        return chain.from_iterable(found)

    def _learn(self, word: str) -> tuple[int, ...]:
        cache = self._cache
        ids = cache.get(word)
        if ids is None:
            if len(cache) >= WORD_CACHE:
                cache.clear()
            pieces = self.tokenizer.encode(word, add_special_tokens=False).ids
            ids = tuple(i for i in pieces if i != self.unk_id)
            cache[word] = ids
        return ids

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dims), dtype=np.float32)
        table = self.table
        pieces = [np.fromiter(islice(self._pieces(text), MAX_TOKENS), np.intp) for text in texts]
        if self._ready is not None and pieces:
            # The batch's rows are widened at once (never twice): one check per batch.
            used = np.concatenate(pieces)
            fresh = used[~self._ready[used]]
            if fresh.size:
                table[fresh] = self._stored[fresh]
                self._ready[fresh] = True
        for row, ids in enumerate(pieces):
            if ids.size:
                # One text at a time: a small gather stays in cache (a whole-batch
                # np.add.reduceat was 20x slower), and a text's vector never depends
                # on its batch.
                total = np.add.reduce(table[ids], axis=0)  # `.sum(axis=0)`, without its wrapper
                norm = float(np.sqrt(total @ total))
                if norm > 0:
                    vectors[row] = total / norm
        return vectors


@lru_cache(maxsize=1)
def shared_embedding() -> StaticEmbedding:
    """The shipped table, mapped once per process (about 16 MB of float16)."""
    return StaticEmbedding.load(DATA_DIR)
