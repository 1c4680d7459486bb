"""While intake requests keep arriving, classification runs in small batches with pauses
between them (intake is answered first), yet it keeps going: a steady stream of requests
never holds it back entirely. A fake clock and sleep make the pacing exact."""

from __future__ import annotations

import asyncio

import pytest

from bot.worker import BUSY_BATCH, BUSY_YIELD, COALESCE_SECONDS, IDLE_BATCH, Worker


class FakeTime:
    """A clock that moves only when the worker sleeps or a batch works. While the worker
    sleeps the event loop answers intake: the first `arrivals` sleeps each end with a
    request answered."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []
        self.arrivals = 0
        self.worker: Worker | None = None

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.arrivals and self.worker is not None:
            self.arrivals -= 1
            self.worker.intake_arrived()
        await asyncio.sleep(0)


class Backlog:
    """Stands in for the triage service: `process_new` takes up to `limit` tickets, each
    costing `cost` seconds on the fake clock."""

    def __init__(self, clock: FakeTime, tickets: int, cost: float = 0.002) -> None:
        self.clock = clock
        self.left = tickets
        self.cost = cost
        self.limits: list[int] = []

    def process_new(self, limit: int) -> int:
        self.limits.append(limit)
        done = min(limit, self.left)
        self.left -= done
        self.clock.now += done * self.cost
        return done


def make(tickets: int) -> tuple[Worker, Backlog, FakeTime]:
    clock = FakeTime()
    backlog = Backlog(clock, tickets)
    worker = Worker(backlog, None, 1.0, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    clock.worker = worker
    return worker, backlog, clock


async def test_a_backlog_without_intake_goes_in_large_batches_without_pauses() -> None:
    worker, backlog, clock = make(450)
    assert await worker.classify_pending() == 450
    assert backlog.limits == [IDLE_BATCH, IDLE_BATCH, IDLE_BATCH, IDLE_BATCH]
    assert clock.slept == []


async def test_while_requests_keep_arriving_small_batches_with_pauses_and_all_get_done() -> None:
    worker, backlog, clock = make(40)
    clock.arrivals = 1_000  # requests keep arriving
    worker.intake_arrived()
    started = clock.now
    assert await worker.classify_pending() == 40
    assert backlog.left == 0
    assert set(backlog.limits) == {BUSY_BATCH}
    working = 40 * backlog.cost
    paused = clock.now - started - working
    # Classification had at most 1 / (1 + BUSY_YIELD) of the time, and at least a
    # COALESCE_SECONDS pause after each batch that found tickets (the empty one ends it).
    assert paused >= working * BUSY_YIELD
    assert paused >= (len(backlog.limits) - 1) * COALESCE_SECONDS - 1e-9


async def test_once_intake_goes_quiet_the_rest_goes_in_large_batches() -> None:
    worker, backlog, clock = make(300)
    clock.arrivals = 2  # requests are answered during the first two pauses only
    worker.intake_arrived()
    assert await worker.classify_pending() == 300
    assert backlog.limits[:3] == [BUSY_BATCH, BUSY_BATCH, BUSY_BATCH]
    assert set(backlog.limits[3:]) == {IDLE_BATCH}
    # The pause after the last busy batch ended once intake had been quiet for
    # COALESCE_SECONDS since the pause began (not at once: the batch may have held the
    # answers back), and the large batches went without pauses.
    assert clock.slept[-1] == pytest.approx(COALESCE_SECONDS)
    assert len(clock.slept) == 3
