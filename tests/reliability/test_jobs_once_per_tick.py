"""Scheduled jobs run once per tick across processes (`bot.scheduler.once_per_tick`)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.db import make_engine
from bot.scheduler import once_per_tick
from bot.store import Store


def run_in_own_loop(store: Store, ran: list[str], name: str, barrier: threading.Barrier) -> bool:
    """One "process": its own engine, event loop and wrapped job, started together."""

    async def job() -> None:
        ran.append(name)

    barrier.wait()
    return asyncio.run(once_per_tick(store, "digest_test", 3600, job)())


def test_three_processes_firing_the_same_tick_run_the_job_once(database_url: str):
    stores = [Store(make_engine(database_url)) for _ in range(3)]
    ran: list[str] = []
    results: list[bool] = []
    barrier = threading.Barrier(3)
    threads = [
        threading.Thread(
            target=lambda i=i: results.append(run_in_own_loop(stores[i], ran, str(i), barrier))
        )
        for i in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert len(ran) == 1 and sorted(results) == [False, False, True]
        # The next firing in the same tick is skipped too.
        again = asyncio.run(once_per_tick(stores[0], "digest_test", 3600, _never)())
        assert again is False
    finally:
        for store in stores:
            store.engine.dispose()


async def _never() -> None:
    raise AssertionError("ran twice in one tick")


async def test_a_failed_run_releases_its_tick_for_a_retry(database_url: str):
    store = Store(make_engine(database_url))
    attempts: list[int] = []

    async def flaky() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("boom")

    job = once_per_tick(store, "flaky_test", 3600, flaky)
    try:
        with pytest.raises(RuntimeError):
            await job()
        assert await job() is True
        assert len(attempts) == 2
        assert await job() is False
    finally:
        store.engine.dispose()
