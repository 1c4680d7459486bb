"""Group commit for the intake webhook: requests that arrive together share one transaction.

Each request still gets its answer only after its tickets are durably stored, and is told
exactly which of its tickets were new; only the commit is shared. While one transaction
is being written, the requests that arrive queue up and go into the next one, so a burst
of one-ticket requests costs a handful of commits instead of one each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from bot.store import IntakeResult
from bot.tickets import TicketIn

Store = Callable[[Sequence[TicketIn]], IntakeResult]


class IntakeBatcher:
    """Collects concurrent intake requests into shared transactions (no added delay)."""

    def __init__(self, store: Store, max_tickets: int = 2_000) -> None:
        self._store = store
        self._max_tickets = max_tickets
        self._pending: list[tuple[list[TicketIn], asyncio.Future[IntakeResult]]] = []
        self._draining = False

    async def submit(self, tickets: Sequence[TicketIn]) -> IntakeResult:
        """Store these tickets (with whatever else is waiting); raises what the store raised."""
        future: asyncio.Future[IntakeResult] = asyncio.get_running_loop().create_future()
        self._pending.append((list(tickets), future))
        if not self._draining:
            self._draining = True
            asyncio.create_task(self._drain())  # noqa: RUF006  (it ends when the queue is empty)
        return await future

    def _take(self) -> list[tuple[list[TicketIn], asyncio.Future[IntakeResult]]]:
        batch, size = [], 0
        while self._pending and (not batch or size + len(self._pending[0][0]) <= self._max_tickets):
            request = self._pending.pop(0)
            batch.append(request)
            size += len(request[0])
        return batch

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._take()
                try:
                    result = await asyncio.to_thread(
                        self._store, [t for tickets, _ in batch for t in tickets]
                    )
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                created = set(result.new_ids)
                for tickets, future in batch:
                    new: list[str] = []
                    known: list[str] = []
                    lookalikes: dict[str, str] = {}
                    for ticket_id in dict.fromkeys(t.id for t in tickets):
                        if ticket_id in result.lookalikes:
                            lookalikes[ticket_id] = result.lookalikes[ticket_id]
                            continue
                        # The first request that carried a new id is the one that stored it.
                        (new if ticket_id in created else known).append(ticket_id)
                        created.discard(ticket_id)
                    if not future.done():
                        future.set_result(
                            IntakeResult(new_ids=new, duplicate_ids=known, lookalikes=lookalikes)
                        )
        finally:
            self._draining = False
