"""Batches of what is ready: full batches from a file, small ones from a slow pipe.

A reader thread pulls items into a bounded queue (constant memory however long the input);
the consumer takes whatever has arrived, up to `size`, so a batch never waits for input
that is not there yet and output keeps flowing while the input is still being written.
A regular file never keeps a reader waiting: `full_batches` reads it in the consumer's
own thread, without the hand-over of every item between two threads.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def ready_batches(
    items: Iterable[T], size: int = 256, buffered: int | None = None
) -> Iterator[list[T]]:
    """Lists of at most `size` items, in order; an error while reading is raised here.

    At most `buffered` (default `size`) items wait in the queue: memory stays bounded by
    about two batches, even when every ticket is a 200 KB one.
    """
    pipe: queue.Queue[object] = queue.Queue(maxsize=buffered or size)
    stop = threading.Event()

    def read() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        pipe.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            pipe.put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            pipe.put(_Failed(exc))

    reader = threading.Thread(target=read, name="ready-batches", daemon=True)
    reader.start()
    try:
        while True:
            first = pipe.get()
            batch: list[T] = []
            ended = False
            item = first
            while True:
                if item is _END:
                    ended = True
                    break
                if isinstance(item, _Failed):
                    if batch:
                        yield batch
                    raise item.error
                batch.append(item)  # type: ignore[arg-type]
                if len(batch) >= size:
                    break
                try:
                    item = pipe.get_nowait()
                except queue.Empty:
                    break
            if batch:
                yield batch
            if ended:
                return
    finally:
        stop.set()


def full_batches(
    items: Iterable[T],
    size: int = 256,
    cost: Callable[[T], int] | None = None,
    budget: int = 0,
) -> Iterator[list[T]]:
    """Lists of `size` items (the last may be shorter), in order, read in this thread: for
    input that is always ready (a regular file). With `cost` and `budget`, a batch also
    ends once its items' costs reach the budget (long tickets go in smaller batches: a
    model call on 256 of them sorts and gathers arrays too large for the cache). As with
    `ready_batches`, an error while reading is raised here, after the items read before it.
    """
    batch: list[T] = []
    spent = 0
    try:
        for item in items:
            batch.append(item)
            if cost is not None:
                spent += cost(item)
            if len(batch) >= size or (budget and spent >= budget):
                yield batch
                batch = []
                spent = 0
    except BaseException:
        if batch:
            yield batch
        raise
    if batch:
        yield batch
