"""Group commit: concurrent callers that each need one small write share one transaction.

Each caller still gets its own answer only after the transaction that holds its item has
committed; only the commit (and the thread hop) is shared. While one transaction is being
written, new items queue up and go into the next one, so a burst costs a handful of
commits instead of one each, and a lone caller waits for nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Answer = TypeVar("Answer")


def fail_all(batch: Sequence[tuple[Any, asyncio.Future[Any]]], exc: BaseException) -> None:
    """Answer every caller of a batch still waiting with `exc`."""
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)


class DrainQueue(Generic[Item, Answer]):
    """Items queued with their callers' futures, emptied by one task at a time.

    The first item of an idle queue starts the task; items that arrive while it writes a
    batch queue up for the next one; the task ends when the queue is empty. Subclasses say
    how a batch is taken and answered (`_drain_pending`)."""

    def __init__(self) -> None:
        self._pending: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._draining = False

    async def _enqueue(self, item: Item) -> Answer:
        """Queue `item` and wait for its answer (or what its batch raised)."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if not self._draining:
            self._draining = True
            asyncio.create_task(self._drain())  # noqa: RUF006  (it ends when the queue is empty)
        return await future

    async def _drain(self) -> None:
        try:
            await self._drain_pending()
        finally:
            self._draining = False

    async def _drain_pending(self) -> None:
        """Take and answer batches while any item is pending."""
        raise NotImplementedError


class GroupCommit(DrainQueue[Item, Answer]):
    """`write(items) -> answers` (same order) runs in a worker thread, one batch at a time."""

    def __init__(self, write: Callable[[Sequence[Item]], list[Answer]], max_items: int = 500):
        super().__init__()
        self._write = write
        self._max_items = max_items

    async def submit(self, item: Item) -> Answer:
        """This item's answer, once its transaction committed; raises what the write raised."""
        return await self._enqueue(item)

    async def _drain_pending(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_items]
            del self._pending[: self._max_items]
            try:
                answers = await asyncio.to_thread(self._write, [item for item, _ in batch])
            except Exception as exc:
                fail_all(batch, exc)
                continue
            for (_, future), answer in zip(batch, answers, strict=True):
                if not future.done():
                    future.set_result(answer)


class SerialLane(DrainQueue[Callable[[], Any], Any]):
    """Runs blocking calls first come, first served, a few per thread hop.

    For clicks: a burst of 200 would otherwise interleave in the thread pool and all finish
    together at the end of the burst; in a lane the first click is decided (and its
    chat.update queued) first, and a batch shares one thread hop. One that raises fails
    only its own caller.

    With `together` (Store.batched), the calls of a hop run inside it: their transitions
    share one transaction and one commit. If any call raises there, that transaction is
    rolled back and every call of the hop runs again alone (its own transactions), so a
    failing click never takes the others with it. Callers are answered only once their
    work has committed.

    The lane has a thread of its own (`executor`): a click never waits for a free thread
    of the shared pool, which classification, claims and marks also use."""

    def __init__(
        self,
        per_hop: int = 4,
        together: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> None:
        super().__init__()
        self._per_hop = per_hop
        self.together = together
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="click-lane")
        self._running = 0  # calls in the hop under way
        self._room_waiters: list[tuple[int, asyncio.Future[None]]] = []

    @property
    def depth(self) -> int:
        """Calls queued or running."""
        return len(self._pending) + self._running

    async def room(self, depth: int, timeout: float) -> bool:
        """Wait until fewer than `depth` calls are queued or running, at most `timeout`
        seconds; True if there is room. Lets a caller hold back new work (a burst of
        clicks being acknowledged) while the lane's own work is decided first."""
        if self.depth < depth:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (depth, waiter)
        self._room_waiters.append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout=timeout)
            return True
        except TimeoutError:
            return False
        finally:
            if entry in self._room_waiters:
                self._room_waiters.remove(entry)

    def _wake_room(self) -> None:
        """Wake waiters in arrival order, as many as there is room for."""
        room = self.depth
        still: list[tuple[int, asyncio.Future[None]]] = []
        for depth, waiter in self._room_waiters:
            if waiter.done():
                continue
            if room < depth:
                waiter.set_result(None)
                room += 1  # it is about to add its call
            else:
                still.append((depth, waiter))
        self._room_waiters = still

    async def run(self, call: Callable[[], Answer]) -> Answer:
        """`call()`'s answer, once it ran (and, in a hop run together, committed)."""
        return await self._enqueue(call)

    def _run_all(self, calls: list[Callable[[], Any]]) -> list[tuple[bool, Any]]:
        if self.together is None or len(calls) < 2:
            return self._run_each(calls)
        try:
            with self.together():
                answers = [call() for call in calls]
        except Exception as exc:  # rolled back: each alone, so only the failing one fails
            log.info(
                "a batch of %d calls failed (%s); running each alone",
                len(calls),
                type(exc).__name__,
            )
            return self._run_each(calls)
        return [(True, answer) for answer in answers]

    @staticmethod
    def _run_each(calls: list[Callable[[], Any]]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        for call in calls:
            try:
                outcomes.append((True, call()))
            except Exception as exc:
                outcomes.append((False, exc))
        return outcomes

    async def _drain_pending(self) -> None:
        while self._pending:
            batch = self._pending[: self._per_hop]
            del self._pending[: self._per_hop]
            self._running = len(batch)
            try:
                outcomes = await asyncio.get_running_loop().run_in_executor(
                    self.executor, self._run_all, [c for c, _ in batch]
                )
            except BaseException as exc:  # cancelled: fail the callers, not silently
                fail_all(batch, RuntimeError(f"lane stopped: {exc!r}"))
                raise
            finally:
                self._running = 0
                self._wake_room()
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
