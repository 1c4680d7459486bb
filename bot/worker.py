"""The background loop: classify new tickets, then deliver queued Slack calls.

It wakes when kicked (a ticket arrived, a button was clicked) and otherwise polls,
so work left by a crash or by another process is resumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.outbox import OutboxDispatcher
from bot.service import TriageService

log = logging.getLogger(__name__)


class Worker:
    """One asyncio task per process; safe to run in several processes at once."""

    def __init__(
        self, service: TriageService, dispatcher: OutboxDispatcher, poll_seconds: float
    ) -> None:
        self.service = service
        self.dispatcher = dispatcher
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()

    def kick(self) -> None:
        """Ask for a pass now instead of at the next poll."""
        self._wake.set()

    async def run_once(self) -> None:
        while await asyncio.to_thread(self.service.process_new):
            await self.dispatcher.drain()
        await self.dispatcher.drain()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            self._idle.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("worker pass failed; retrying at the next poll")
            self._idle.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="triage-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
