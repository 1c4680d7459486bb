"""A cache of per-text results bounded by the characters it holds, not only by entries.

The guardrails and the model read the same ticket several times (signals, tone, no-go
topics, language), so their results are remembered per text. Keyed by the text itself, a
plain `lru_cache(maxsize=2048)` could pin 2,048 tickets of 200 KB (400 MB and more); this
one also stops at a total number of characters and forgets everything when either bound
is reached. The functions are pure, so what is forgotten is only computed again: the
answers never change.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_ENTRIES = 2048
MAX_CHARS = 2_000_000  # about 8 MB of text at most per cache, whatever the tickets' size


class TextCache(Generic[T]):
    """`fn(text)` remembered for up to `max_entries` texts holding `max_chars` in all."""

    def __init__(
        self, fn: Callable[[str], T], max_entries: int = MAX_ENTRIES, max_chars: int = MAX_CHARS
    ) -> None:
        self.__wrapped__ = fn
        self.max_entries = max_entries
        self.max_chars = max_chars
        self.found: dict[str, T] = {}
        self.chars = 0
        update_wrapper(self, fn)

    def __call__(self, text: str) -> T:
        found = self.found.get(text, self)
        if found is not self:
            return found  # type: ignore[return-value]
        value = self.__wrapped__(text)
        self.remember(text, value)
        return value

    def remember(self, text: str, value: T) -> None:
        """Keep one answer, forgetting all first when it would not fit."""
        size = len(text)
        if size > self.max_chars:
            return  # never held: one such text alone would break the bound
        if len(self.found) >= self.max_entries or self.chars + size > self.max_chars:
            self.cache_clear()
        self.found[text] = value
        self.chars += size

    def get(self, text: str) -> T | None:
        return self.found.get(text)

    def __contains__(self, text: str) -> bool:
        return text in self.found

    def __len__(self) -> int:
        return len(self.found)

    def cache_clear(self) -> None:
        self.found.clear()
        self.chars = 0


def text_cache(
    max_entries: int = MAX_ENTRIES, max_chars: int = MAX_CHARS
) -> Callable[[Callable[[str], T]], TextCache[T]]:
    """Decorator form of TextCache."""

    def wrap(fn: Callable[[str], T]) -> TextCache[T]:
        return TextCache(fn, max_entries, max_chars)

    return wrap
