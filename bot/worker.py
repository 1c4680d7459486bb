"""The background work of one process: classify new tickets, deliver queued Slack calls.

Three loops, so a slow or paced Slack never delays classification, a slow classifier
never delays delivery, and a click's chat.update (its own lane and rate bucket) never
waits behind a backlog of proposals. Classification runs in a worker thread, a batch of
tickets per model call, so the event loop stays free for clicks and intake. Each wakes when kicked (a ticket arrived, a button was clicked)
and otherwise polls, so work left by a crash or by another process is resumed. All
work is claimed in the store, so any number of processes may run this at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy.exc import DBAPIError

from bot.outbox import POSTS, UPDATES, OutboxDispatcher
from bot.service import TriageService

log = logging.getLogger(__name__)

MIN_WAKE_SECONDS = 0.01
# Woken by intake, classification waits until requests stop arriving for this long, so a
# burst gathers into a few batches (a few model calls and commits, not one each) ...
COALESCE_SECONDS = 0.05
# ... but never longer than this after it was woken: intake is answered first, yet a
# steady stream of requests cannot hold classification back.
MAX_DEFER_SECONDS = 2.0


async def _wait(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=max(timeout, MIN_WAKE_SECONDS))


STOP_GRACE_SECONDS = 3.0  # how long a stopping worker may finish its current pass
# While clicks' updates are being handed straight to the sender (their transitions lease
# them), the update lane has little to claim: it claims at most this often then, so a burst
# of clicks does not cost a claim each. Updates queued some other way wait at most this.
HANDED_COALESCE_SECONDS = 0.1


class Worker:
    """Two asyncio tasks per process; safe to run in several processes at once."""

    def __init__(
        self, service: TriageService, dispatcher: OutboxDispatcher, poll_seconds: float
    ) -> None:
        self.service = service
        self.dispatcher = dispatcher
        self.poll_seconds = poll_seconds
        self._classify_wake = asyncio.Event()
        self._deliver_wake = asyncio.Event()
        self._update_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._last_intake = float("-inf")  # time.monotonic() of the latest intake request

    def kick(self) -> None:
        """Ask for a pass now instead of at the next poll."""
        self._classify_wake.set()
        self.kick_delivery()

    def intake_arrived(self) -> None:
        """Tickets were stored: classify them once the requests around them are answered.
        Delivery is not woken: it has nothing new until classification queues the posts."""
        self._last_intake = time.monotonic()
        self._classify_wake.set()

    async def _quiet_intake(self) -> None:
        """Wait until no intake request arrived for COALESCE_SECONDS (at most MAX_DEFER_SECONDS):
        classification is CPU work in this process, and answering intake comes first."""
        await asyncio.sleep(COALESCE_SECONDS)
        deadline = time.monotonic() + MAX_DEFER_SECONDS
        while not self._stopping:
            now = time.monotonic()
            quiet = now - self._last_intake
            if quiet >= COALESCE_SECONDS or now >= deadline:
                return
            await asyncio.sleep(min(COALESCE_SECONDS - quiet, deadline - now))

    def kick_delivery(self) -> None:
        """A click queued Slack calls: send them now. Nothing new to classify, so the
        classification loop is left asleep (a burst of clicks must not wake it each time)."""
        self._deliver_wake.set()
        self._update_wake.set()

    async def classify_pending(self) -> int:
        """Classify every stored `new` ticket this process can claim."""
        total = 0
        while done := await asyncio.to_thread(self.service.process_new):
            total += done
            self._deliver_wake.set()
            if time.monotonic() - self._last_intake < COALESCE_SECONDS:
                await self._quiet_intake()  # intake is streaming in: answer it first
        return total

    async def run_once(self) -> None:
        """One full pass, for tests and one-shot commands: classify, then deliver."""
        await self.classify_pending()
        await self.dispatcher.drain()

    async def _classify_loop(self) -> None:
        while not self._stopping:
            self._classify_wake.clear()
            try:
                await self.classify_pending()
            except DBAPIError as exc:
                log.warning(
                    "store unavailable (%s); classification retries", type(exc.orig).__name__
                )
            except Exception:
                log.exception("classification pass failed; retrying at the next poll")
            await _wait(self._classify_wake, self.poll_seconds)
            if self._classify_wake.is_set() and not self._stopping:
                # Woken by intake: let a burst of arrivals gather into one batch, so a flood
                # of one-ticket requests costs a few model calls and commits, not one each.
                await self._quiet_intake()

    async def _deliver_loop(self, lane: str = POSTS) -> None:
        wake = self._update_wake if lane == UPDATES else self._deliver_wake
        while not self._stopping:
            if lane == UPDATES:
                since = time.monotonic() - self.dispatcher.handed_at
                if since < HANDED_COALESCE_SECONDS:
                    await asyncio.sleep(HANDED_COALESCE_SECONDS - since)
            wake.clear()
            try:
                await self.dispatcher.drain(lane)
            except DBAPIError as exc:
                log.warning("store unavailable (%s); delivery retries", type(exc.orig).__name__)
            except Exception:
                log.exception("delivery pass failed; retrying at the next poll")
            timeout = self.poll_seconds
            hint = self.dispatcher.next_wake(lane)
            if hint is not None:
                timeout = min(timeout, hint)
            await _wait(wake, timeout)

    def start(self) -> None:
        if not self._tasks:
            self._stopping = False
            self.dispatcher.stopping = False
            self.dispatcher.wake_updates = self._update_wake.set
            self.dispatcher.hand_updates()
            self._tasks = [
                asyncio.create_task(self._classify_loop(), name="triage-classify"),
                asyncio.create_task(self._deliver_loop(POSTS), name="triage-deliver"),
                asyncio.create_task(self._deliver_loop(UPDATES), name="triage-updates"),
            ]

    async def stop(self, timeout: float = 10.0, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop the loops: first let them end their pass (a call Slack accepted is marked
        sent, not left to be repeated by the next process), then cancel what is left. The
        flag ends them even when a cancellation is swallowed (Python 3.11's wait_for can
        lose one that races a wake-up), and every wait is bounded."""
        self._stopping = True
        self.dispatcher.stopping = True
        self.dispatcher.stop_handing()
        self.kick()
        started = time.monotonic()
        await self.dispatcher.finish_handed(grace)
        if self._tasks:
            remaining = max(0.0, grace - (time.monotonic() - started))
            _done, pending = await asyncio.wait(self._tasks, timeout=remaining)
            self._tasks = list(pending)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                log.warning("worker task %s did not stop in %.0f s", task.get_name(), timeout)
                task.cancel()
        self._tasks = []
