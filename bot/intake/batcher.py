"""Group commit for the intake webhook: requests that arrive together share one transaction.

Each request still gets its answer only after its tickets are durably stored, and is told
exactly which of its tickets were new; only the commit is shared. While one transaction
is being written, the requests that arrive queue up and go into the next one, so a burst
of one-ticket requests costs a handful of commits instead of one each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError

from bot.group_commit import DrainQueue, fail_all
from bot.store import IntakeResult
from bot.tickets import TicketIn, id_key

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from bot.store import Store as TicketStore

Store = Callable[..., IntakeResult]
# Per request of a batch, what makes it unusable (empty: fine); run in the same thread hop
# as the store, so a request costs no round trip of its own.
Check = Callable[..., list[list[dict[str, object]]]]
# Opens one transaction (a context manager yielding its connection): with it, the check and
# the store run on that one connection, each called with `connection=`; one pool checkout
# and one commit per batch. Used only when the batch holds a request of several tickets;
# otherwise the store commits on its own.
Begin = Callable[[], AbstractContextManager[Any]]
# Stores a batch that needs no check (only one-ticket requests) from the event loop, without
# the thread hop (bot.intake_async: PostgreSQL and SQLite); committed when it returns.
StoreAsync = Callable[[list[TicketIn]], Awaitable[IntakeResult]]


# Before a batch is taken, requests whose bytes have already arrived are let in: the event
# loop runs while its passes keep bringing new ones (a request needs two: one to read it,
# one to run its handler up to the queue), stopping after QUIET_PASSES passes that brought
# none, or after MAX_GATHER_PASSES. No timer, so a lone request waits only a few passes of
# an idle loop; under a burst, batches grow about twofold, and each shared commit is the
# largest cost of a one-ticket request.
QUIET_PASSES = 2
MAX_GATHER_PASSES = 20


class Refused(Exception):
    """The request cannot be used (its problems, by item); nothing of it was stored."""

    def __init__(self, problems: list[dict[str, object]]) -> None:
        super().__init__(f"{len(problems)} unusable item(s)")
        self.problems = problems


class IntakeBatcher(DrainQueue[list[TicketIn], IntakeResult]):
    """Collects concurrent intake requests into shared transactions (no added delay)."""

    def __init__(
        self,
        store: Store,
        max_tickets: int = 2_000,
        check: Check | None = None,
        begin: Begin | None = None,
        store_async: StoreAsync | None = None,
    ) -> None:
        super().__init__()
        self._store = store
        self._check = check
        self._begin = begin
        self._store_async = store_async
        self._max_tickets = max_tickets

    async def submit(self, tickets: Sequence[TicketIn]) -> IntakeResult:
        """Store these tickets (with whatever else is waiting); raises what the store raised."""
        return await self._enqueue(list(tickets))

    def _take(self) -> list[tuple[list[TicketIn], asyncio.Future[IntakeResult]]]:
        batch, size = [], 0
        while self._pending and (not batch or size + len(self._pending[0][0]) <= self._max_tickets):
            request = self._pending.pop(0)
            batch.append(request)
            size += len(request[0])
        return batch

    def _checked_store(
        self, requests: list[list[TicketIn]]
    ) -> tuple[list[list[dict[str, object]]], IntakeResult]:
        # Only a request of several tickets is checked before the insert: one ticket is
        # all-or-nothing by itself, and the store never inserts a look-alike (its id_key is
        # unique), so a lone one is refused from the store's answer (_refuse_lone_lookalikes).
        # A batch of one-ticket requests thus costs the insert alone: no look-up, and on
        # PostgreSQL one round trip.
        checked = [i for i, tickets in enumerate(requests) if len(tickets) > 1]
        try:
            return self._write(requests, checked)
        except DBAPIError as exc:
            # A pooled connection the server dropped (restart, failover, a terminated
            # backend): SQLAlchemy has invalidated the pool, and a write that did not commit
            # is safe to repeat (ids already stored come back as duplicates). This takes the
            # place of a liveness ping before every batch (bot.db pings only idle ones).
            if not exc.connection_invalidated:
                raise
            return self._write(requests, checked)

    async def _store_on_loop(
        self, requests: list[list[TicketIn]]
    ) -> tuple[list[list[dict[str, object]]], IntakeResult]:
        """A batch of one-ticket requests (nothing to check) stored from the event loop."""
        assert self._store_async is not None
        problems: list[list[dict[str, object]]] = [[] for _ in requests]
        result = await self._store_async([tickets[0] for tickets in requests])
        return problems, _refuse_lone_lookalikes(requests, problems, result)

    def _write(
        self, requests: list[list[TicketIn]], checked: list[int]
    ) -> tuple[list[list[dict[str, object]]], IntakeResult]:
        if not (self._check and checked):
            return self._check_then_store(requests, [], {})
        if self._begin is None:
            return self._check_then_store(requests, checked, {})
        with self._begin() as connection:
            return self._check_then_store(requests, checked, {"connection": connection})

    def _check_then_store(
        self, requests: list[list[TicketIn]], checked: list[int], on: dict[str, Any]
    ) -> tuple[list[list[dict[str, object]]], IntakeResult]:
        problems: list[list[dict[str, object]]] = [[] for _ in requests]
        if checked and self._check:
            found = self._check([requests[i] for i in checked], **on)
            for index, refused in zip(checked, found, strict=True):
                problems[index] = refused
        usable = [
            t
            for tickets, refused in zip(requests, problems, strict=True)
            for t in tickets
            if not refused
        ]
        result = self._store(usable, **on) if usable else IntakeResult([], [], {})
        return problems, _refuse_lone_lookalikes(requests, problems, result)

    async def _gather(self) -> None:
        """Let requests already being read join the batch about to be taken."""
        seen, quiet = len(self._pending), 0
        for _ in range(MAX_GATHER_PASSES):
            await asyncio.sleep(0)
            if len(self._pending) == seen:
                quiet += 1
                if quiet >= QUIET_PASSES:
                    return
            else:
                seen, quiet = len(self._pending), 0

    async def _drain_pending(self) -> None:
        while self._pending:
            await self._gather()
            batch = self._take()
            requests = [tickets for tickets, _ in batch]
            try:
                if self._store_async is not None and all(len(t) == 1 for t in requests):
                    problems, result = await self._store_on_loop(requests)
                else:
                    problems, result = await asyncio.to_thread(self._checked_store, requests)
            except Exception as exc:
                fail_all(batch, exc)
                continue
            for (_, future), refused in zip(batch, problems, strict=True):
                if refused and not future.done():
                    future.set_exception(Refused(refused))
            batch = [
                request for request, refused in zip(batch, problems, strict=True) if not refused
            ]
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


def _refuse_lone_lookalikes(
    requests: list[list[TicketIn]], problems: list[list[dict[str, object]]], result: IntakeResult
) -> IntakeResult:
    """A one-ticket request whose id looks like a ticket stored before this batch is refused
    (into `problems`), as the look-up before the insert would have; one whose twin came in
    this same batch stays in `lookalikes` (answered beside the rest, as before)."""
    if not result.lookalikes:
        return result
    created = set(result.new_ids)
    lookalikes = dict(result.lookalikes)
    for index, tickets in enumerate(requests):
        if len(tickets) != 1 or problems[index]:
            continue
        other = lookalikes.get(tickets[0].id)
        if other is not None and other not in created:
            problems[index] = [{"index": 0, "error": lookalike_message(other)}]
            del lookalikes[tickets[0].id]
    return IntakeResult(result.new_ids, result.duplicate_ids, lookalikes)


def lookalike_message(other: str) -> str:
    return (
        f"ticket id looks like the existing ticket {other!r} (it differs only by invisible, "
        "bidi or compatibility characters)"
    )


def lookalike_problems(
    store: TicketStore, requests: list[list[TicketIn]], connection: Connection | None = None
) -> list[list[dict[str, object]]]:
    """Per request: items whose id only looks like a stored ticket's, or like another item's
    in the same body (one query for the whole batch)."""
    found = store.lookalikes([t.id for tickets in requests for t in tickets], connection)
    return [_lookalike_problems(found, tickets) for tickets in requests]


def _lookalike_problems(found: dict[str, str], tickets: list[TicketIn]) -> list[dict[str, object]]:
    seen: dict[str, str] = {}
    problems: list[dict[str, object]] = []
    for index, ticket in enumerate(tickets):
        key = id_key(ticket.id)
        other = found.get(ticket.id) or (
            seen[key] if key in seen and seen[key] != ticket.id else None
        )
        seen.setdefault(key, ticket.id)
        if other is not None:
            problems.append({"index": index, "error": lookalike_message(other)})
    return problems
