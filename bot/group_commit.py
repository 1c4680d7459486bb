"""Group commit: concurrent callers that each need one small write share one transaction.

Each caller still gets its own answer only after the transaction that holds its item has
committed; only the commit (and the thread hop) is shared. While one transaction is being
written, new items queue up and go into the next one, so a burst costs a handful of
commits instead of one each, and a lone caller waits for nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class GroupCommit(Generic[Item, Answer]):
    """`write(items) -> answers` (same order) runs in a worker thread, one batch at a time."""

    def __init__(self, write: Callable[[Sequence[Item]], list[Answer]], max_items: int = 500):
        self._write = write
        self._max_items = max_items
        self._pending: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._draining = False

    async def submit(self, item: Item) -> Answer:
        """This item's answer, once its transaction committed; raises what the write raised."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if not self._draining:
            self._draining = True
            asyncio.create_task(self._drain())  # noqa: RUF006  (it ends when the queue is empty)
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_items]
                del self._pending[: self._max_items]
                try:
                    answers = await asyncio.to_thread(self._write, [item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), answer in zip(batch, answers, strict=True):
                    if not future.done():
                        future.set_result(answer)
        finally:
            self._draining = False
