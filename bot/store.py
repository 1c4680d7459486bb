"""The bot's durable store: tickets, proposals, decisions, the audit log, the outbox, pauses.

All methods are synchronous (sqlmodel); async callers run them with asyncio.to_thread.
Every state change that must not be lost is one transaction together with its audit
row and the Slack calls it causes (transactional outbox).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, or_, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import configure_mappers
from sqlmodel import Session, col, select

from bot import observability
from bot.intake_writer import IntakeWriter, driver_cursor, own_transaction
from bot.models import (
    AuditEvent,
    ControlMessage,
    Decision,
    JobRun,
    OutboxMessage,
    OutboxStatus,
    Pause,
    Proposal,
    SeenEvent,
    SeenSlackRequest,
    Ticket,
    TicketStatus,
    utcnow,
)
from bot.tickets import TicketIn, id_key

log = logging.getLogger(__name__)

_UNDECIDED = frozenset({TicketStatus.REVIEW.value, TicketStatus.AUTO_ROUTED.value})
# Other tables that hold ticket text or personal data erase it here: each is called with
# the session of the erasing transaction and the ids being erased (see Store.erase_tickets).
ERASERS: list[Callable[[Session, list[str]], None]] = []


def control_block_ids(payload: dict[str, Any]) -> list[str]:
    """The block_ids of the clickable controls in a message payload: actions blocks, and
    sections with a button or select accessory (a routed summary's or a surge group's
    member lines, one control per ticket)."""
    blocks = payload.get("blocks") if isinstance(payload, dict) else None
    found: list[str] = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict) or not block.get("block_id"):
            continue
        accessory = block.get("accessory")
        clickable = isinstance(accessory, dict) and accessory.get("action_id")
        if block.get("type") == "actions" or (block.get("type") == "section" and clickable):
            found.append(str(block["block_id"]))
    return found


UPDATE_PRIORITY = 5  # outbox priority of chat.update: before every new post
# Calls a transition hands straight to the sender (Store.hand_updates_to): a click's answer.
HANDED_METHODS = frozenset({"chat.update"})


def unindexed(column: Any) -> Any:
    """`column` as an expression no index serves (it is NOT NULL, so the value is the same).

    For a filter by key plus a condition on an indexed status: SQLite without statistics
    plans `id IN (…) AND status = 'new'` by the status index, reading every ticket of the
    backlog (or every sent outbox row) per statement, where the key reads a handful."""
    return func.coalesce(column, "")


# An outbox row found by its id that must still be pending (checked without the pending
# index, which would read the whole queue to find it).
_STILL_PENDING = unindexed(OutboxMessage.status) == OutboxStatus.PENDING.value


def _superseding(message_ids: Iterable[int]) -> Any:
    """The UPDATE marking these still-pending outbox rows superseded."""
    return (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(sorted(set(message_ids))),
            _STILL_PENDING,
        )
        .values(status=OutboxStatus.SUPERSEDED.value)
    )


@dataclass
class _Batch:
    """Transitions sharing one transaction (Store.batched): its connection, and what to do
    once it has committed (hand updates over, log the audit rows, settle)."""

    connection: Connection
    after: list[Callable[[], None]] = field(default_factory=list)


@dataclass(frozen=True)
class OutboxItem:
    """A Slack Web API call to make once the transaction that caused it commits."""

    dedupe_key: str
    method: str
    payload: dict[str, Any]
    ticket_id: str | None = None
    purpose: str = ""
    priority: int = 50

    @classmethod
    def message_update(
        cls,
        dedupe_key: str,
        channel: str | None,
        ts: str | None,
        text: str,
        blocks: list[dict[str, Any]],
        ticket_id: str | None = None,
    ) -> OutboxItem:
        """`chat.update` of a message already in Slack: first in line (an agent waits on it)."""
        return cls(
            dedupe_key=dedupe_key[:255],
            method="chat.update",
            payload={"channel": channel, "ts": ts, "text": text, "blocks": blocks},
            ticket_id=ticket_id,
            purpose="update",
            priority=UPDATE_PRIORITY,
        )


@dataclass(frozen=True)
class ProposalRecord:
    """One classified ticket, ready to store: plain values, no ORM object (the hot path)."""

    ticket_id: str
    status: TicketStatus
    proposal: dict[str, Any]  # columns of `proposals` (ticket_id included)
    outbox: list[OutboxItem]
    auto_tag: str | None = None


@dataclass(frozen=True)
class NewTickets:
    """Tickets claimed for classification; the claim holds until `session` commits."""

    session: Session
    tickets: list[Ticket]


@dataclass(frozen=True)
class IntakeResult:
    new_ids: list[str]
    duplicate_ids: list[str]
    # Refused: id -> the stored ticket's id it only looks like (bot.tickets.id_key).
    lookalikes: dict[str, str] = field(default_factory=dict)


def intake_keys(tickets: Iterable[TicketIn]) -> tuple[dict[str, TicketIn], dict[str, str]]:
    """A batch's tickets by id (the first of a repeated id wins) and each id's `id_key`."""
    unique: dict[str, TicketIn] = {}
    for ticket in tickets:
        unique.setdefault(ticket.id, ticket)
    return unique, {i: id_key(i) for i in unique}


def intake_result(
    unique: dict[str, TicketIn], created: set[str], lookalikes: dict[str, str], source: str
) -> IntakeResult:
    """What a batch's insert did, in the order the tickets came, counted as received."""
    fresh = [i for i in unique if i in created]
    duplicates = [i for i in unique if i not in created and i not in lookalikes]
    observability.tickets_received(source, len(fresh))
    return IntakeResult(new_ids=fresh, duplicate_ids=duplicates, lookalikes=lookalikes)


@dataclass(frozen=True)
class Transition:
    """The outcome of a conditional state change on a ticket."""

    applied: bool
    ticket: Ticket | None  # the ticket as it is now, when the change was refused


def _columns(row: Any) -> dict[str, Any]:
    """A model object's column values for a Core insert (an unset primary key left out)."""
    values = {c.name: getattr(row, c.name) for c in type(row).__table__.columns}
    if values.get("id") is None:
        values.pop("id", None)
    return values


# The columns of an outbox row that _outbox_row leaves to their defaults.
_UNSENT: dict[str, Any] = {
    "last_error": None,
    "sent_at": None,
    "result_channel": None,
    "result_ts": None,
}


def _outbox_row(item: OutboxItem, now: datetime) -> dict[str, Any]:
    """An outbox row's columns, defaults filled in (Core inserts bypass the model)."""
    return {
        "dedupe_key": item.dedupe_key,
        "method": item.method,
        "payload": item.payload,
        "ticket_id": item.ticket_id,
        "purpose": item.purpose,
        "priority": item.priority,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


# Built once: read on every click (a statement object keeps its cache key).
_LATEST_PROPOSAL = (
    select(Proposal)
    .where(Proposal.ticket_id == bindparam("ticket_id"))
    .order_by(Proposal.id.desc())  # type: ignore[union-attr]
    .limit(1)
)

_TICKETS = Ticket.__table__  # type: ignore[attr-defined]
_PROPOSALS = Proposal.__table__  # type: ignore[attr-defined]
_TICKET_ROW = select(_TICKETS).where(_TICKETS.c.id == bindparam("ticket_id"))
_LATEST_PROPOSAL_ROW = (
    select(_PROPOSALS)
    .where(_PROPOSALS.c.ticket_id == bindparam("ticket_id"))
    .order_by(_PROPOSALS.c.id.desc())
    .limit(1)
)


class Store:
    """Repository over the engine. One instance per process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Objects filled from Core rows (model_construct) read their columns through the
        # ORM's attributes, which exist only once the mappers are configured.
        configure_mappers()
        # Set while this process's update lane runs (OutboxDispatcher.hand_updates): the
        # chat.update rows a transition queues are leased to this process in the same
        # transaction and handed to it in memory once committed, so a click's answer goes
        # out without a claim. A crash leaves them leased: sent when the lease runs out.
        self._handoff: tuple[Callable[[list[OutboxMessage]], None], timedelta] | None = None
        # Set in a thread while it runs transitions together (batched): per thread.
        self._local = threading.local()

    def hand_updates_to(
        self, take: Callable[[list[OutboxMessage]], None] | None, lease: timedelta = timedelta()
    ) -> None:
        """Lease a transition's chat.update rows at birth and pass them to `take` (called
        from the committing thread); None stops it (the rows are claimed as usual)."""
        self._handoff = (take, lease) if take is not None else None

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # --- transitions made together ----------------------------------------------------------

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Reads (`reading`) and transitions made in this thread inside the block share one
        connection and one transaction, committed at its end: a few queued clicks cost one
        commit instead of one each. What a transition does once committed (hand its updates
        over, log its audit rows, `after_commit` hooks) runs after that commit; if anything
        inside raises, everything is rolled back and none of it runs (the caller retries
        each alone). Only for work that writes through this store's connection alone: on
        SQLite a write on another connection would wait for this transaction."""
        if self._current_batch() is not None:
            raise RuntimeError("transitions are already batched in this thread")
        with self.engine.connect() as connection:
            batch = _Batch(connection)
            self._local.batch = batch
            try:
                yield
                connection.commit()
            finally:
                self._local.batch = None
        for hook in batch.after:
            try:
                hook()
            except Exception:  # the decisions are committed; a hook's failure is its own
                log.exception("a step after a batch of transitions failed")

    def _current_batch(self) -> _Batch | None:
        return getattr(self._local, "batch", None)

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run `hook` once this thread's batch has committed, or now when there is none."""
        batch = self._current_batch()
        if batch is None:
            hook()
        else:
            batch.after.append(hook)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection to read with: the batch's (it sees the batch's own changes) or a
        new one."""
        batch = self._current_batch()
        if batch is not None:
            yield batch.connection
            return
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def reading_session(self) -> Iterator[Session]:
        """A session to read with: on the batch's connection inside `batched` (it sees the
        decisions made before it in the same transaction, and never commits), else its own."""
        with (
            self.reading() as connection,
            Session(
                bind=connection, expire_on_commit=False, join_transaction_mode="rollback_only"
            ) as session,
        ):
            yield session

    # --- health -----------------------------------------------------------------------------

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    # --- tickets ----------------------------------------------------------------------------

    @functools.cached_property
    def _intake_writer(self) -> IntakeWriter:
        """The intake hot path's statements for this store's database (built once)."""
        return IntakeWriter(self.engine.dialect)

    def _lookalikes(
        self, connection: Connection | Session, skipped: dict[str, str]
    ) -> dict[str, str]:
        """Of the skipped ids (id -> key), those whose key belongs to a different stored id."""
        if not skipped:
            return {}
        tickets = Ticket.__table__  # type: ignore[attr-defined]
        owners: dict[str, str] = {}
        keys = sorted(set(skipped.values()))
        for start in range(0, len(keys), 500):
            for row in connection.execute(
                select(tickets.c.id, tickets.c.id_key).where(
                    tickets.c.id_key.in_(keys[start : start + 500])
                )
            ):
                owners[row.id_key] = row.id
        suspects = [t for t, k in skipped.items() if k in owners and owners[k] != t]
        stored = (
            {
                r[0]
                for r in connection.execute(select(tickets.c.id).where(tickets.c.id.in_(suspects)))
            }
            if suspects
            else set()
        )  # the same id stored before its key was known is a repeat, not a look-alike
        return {t: owners[skipped[t]] for t in suspects if t not in stored}

    def add_tickets(
        self,
        tickets: Sequence[TicketIn],
        source: str,
        actor: str = "intake",
        connection: Connection | None = None,
    ) -> IntakeResult:
        """Store tickets not seen before; a known id is skipped, never stored twice.

        The hot path of intake: fixed statements through the driver (bot.intake_writer),
        no ORM session, one transaction (the intake batcher groups concurrent requests
        into it); on PostgreSQL one statement in autocommit, one round trip. Committed,
        and so durable, before this returns. An id that only looks like a stored one (same
        id_key: zero-width or bidi characters, compatibility forms) is refused and reported
        in `lookalikes`. With `connection`, the writes join that open transaction (the
        intake batcher's look-up and insert share one connection) and are durable once
        its caller commits.
        """
        unique, keys = intake_keys(tickets)
        if not unique:
            return IntakeResult([], [])
        writer = self._intake_writer
        if connection is not None:
            with driver_cursor(connection) as cursor:
                created = writer.insert(cursor, unique.values(), keys, source, actor)
            lookalikes = self._lookalikes(connection, writer.skipped(unique, keys, created))
        else:
            # One statement (PostgreSQL) is its own transaction: committed, and durable
            # (synchronous commit), when it returns; no BEGIN and COMMIT round trips.
            with own_transaction(self.engine, autocommit=writer.one_statement) as cursor:
                created = writer.insert(cursor, unique.values(), keys, source, actor)
            lookalikes = self.skipped_lookalikes(writer.skipped(unique, keys, created))
        return intake_result(unique, created, lookalikes, source)

    def skipped_lookalikes(self, skipped: dict[str, str]) -> dict[str, str]:
        """Of ids an insert skipped (id -> key), those that only look like a stored ticket's
        (id -> that ticket's id); the rest were repeats. Rare, so read on its own connection."""
        if not skipped:
            return {}
        with self.engine.connect() as own:
            return self._lookalikes(own, skipped)

    def lookalikes(
        self, ids: Sequence[str], connection: Connection | None = None
    ) -> dict[str, str]:
        """Which of these ids only look like a stored ticket's id (id -> that ticket's id)."""
        keys = {i: id_key(i) for i in dict.fromkeys(ids)}
        if connection is not None:
            return self._lookalikes(connection, keys)
        with self.engine.connect() as own:
            return self._lookalikes(own, keys)

    def get_ticket(self, ticket_id: str) -> Ticket | None:
        with self.session() as session:
            return session.get(Ticket, ticket_id)

    def tickets_with_status(self, status: TicketStatus, limit: int = 100) -> list[Ticket]:
        with self.session() as session:
            rows = session.exec(
                select(Ticket)
                .where(Ticket.status == status.value)
                .order_by(Ticket.received_at, Ticket.id)  # type: ignore[arg-type]
                .limit(limit)
            ).all()
            return list(rows)

    def count_tickets(self) -> int:
        with self.session() as session:
            return int(session.exec(select(func.count()).select_from(Ticket)).one())

    def latest_proposal(self, ticket_id: str) -> Proposal | None:
        with self.session() as session:
            return session.exec(_LATEST_PROPOSAL, params={"ticket_id": ticket_id}).first()

    def ticket_with_proposal(
        self, ticket_id: str, connection: Connection | None = None
    ) -> tuple[Ticket | None, Proposal | None]:
        """A ticket and its latest proposal, read-only: what every click reads first.

        Two prebuilt Core selects on one connection (the caller's, if given), the objects
        filled from every column (no ORM session, identity map or validation: less than
        half the cost on a click)."""
        if connection is None:
            with self.engine.connect() as own:
                return self.ticket_with_proposal(ticket_id, own)
        params = {"ticket_id": ticket_id}
        row = connection.execute(_TICKET_ROW, params).first()
        if row is None:
            return None, None
        latest = connection.execute(_LATEST_PROPOSAL_ROW, params).first()
        ticket = Ticket.model_construct(**row._mapping)
        return ticket, Proposal.model_construct(**latest._mapping) if latest else None

    def decisions(self, ticket_id: str) -> list[Decision]:
        with self.session() as session:
            return list(
                session.exec(
                    select(Decision).where(Decision.ticket_id == ticket_id).order_by(Decision.id)  # type: ignore[arg-type]
                ).all()
            )

    # --- proposals and decisions --------------------------------------------------------------

    @contextmanager
    def claim_new_tickets(self, limit: int) -> Iterator[NewTickets]:
        """Claim up to `limit` tickets in status `new` for classification by this process.

        PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED` in a transaction that lasts until the
        caller commits, so several processes never classify the same ticket, and a claim
        dies with its process (no lease to wait out). SQLite has one writer anyway.
        """
        with self.session() as session:
            tickets = list(
                session.exec(
                    select(Ticket)
                    .where(Ticket.status == TicketStatus.NEW.value)
                    .order_by(Ticket.received_at, Ticket.id)  # type: ignore[arg-type]
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                ).all()
            )
            session.expunge_all()  # the row locks stay; edits to these objects are not saved
            yield NewTickets(session=session, tickets=tickets)

    def record_proposal(
        self,
        proposal: Proposal,
        new_status: TicketStatus,
        outbox: Iterable[OutboxItem],
        auto_tag: str | None = None,
        session: Session | None = None,
    ) -> bool:
        """Store a proposal, move the ticket out of `new`, queue its Slack posts; once only.

        With `session` (from claim_new_tickets) the caller commits; otherwise this commits.
        """
        if session is not None:
            return self._record_proposal(session, proposal, new_status, outbox, auto_tag)
        with self.session() as own:
            if not self._record_proposal(own, proposal, new_status, outbox, auto_tag):
                own.rollback()
                return False
            own.commit()
            return True

    def _record_proposal(
        self,
        session: Session,
        proposal: Proposal,
        new_status: TicketStatus,
        outbox: Iterable[OutboxItem],
        auto_tag: str | None,
    ) -> bool:
        values: dict[str, Any] = {
            "status": new_status.value,
            "proposed_tag": proposal.tag,
            "policy": proposal.policy,
        }
        if auto_tag is not None:
            values.update(final_tag=auto_tag, decided_by="bot", decided_at=utcnow())
        tickets = Ticket.__table__  # type: ignore[attr-defined]
        with session.no_autoflush:  # inserts are flushed together, one statement per table
            claimed = session.execute(
                update(tickets)
                .where(
                    tickets.c.id == proposal.ticket_id, tickets.c.status == TicketStatus.NEW.value
                )
                .values(**values)
            )
        if claimed.rowcount != 1:
            return False
        session.add(proposal)
        session.add(
            AuditEvent(
                actor="bot",
                action="proposed",
                ticket_id=proposal.ticket_id,
                policy=proposal.policy,
                detail={
                    "tag": proposal.tag,
                    "confidence": proposal.confidence,
                    "sentiment": proposal.sentiment,
                    "decision": proposal.decision,
                    "reasons": proposal.reasons,
                    "guardrails": proposal.guardrails,
                    "model_version": proposal.model_version,
                },
            )
        )
        if auto_tag is not None:
            session.add(
                Decision(
                    ticket_id=proposal.ticket_id,
                    action="auto",
                    tag=auto_tag,
                    proposed_tag=proposal.tag,
                    actor="bot",
                )
            )
        self._enqueue(session, outbox)
        return True

    def record_proposals(self, session: Session, records: Sequence[ProposalRecord]) -> list[str]:
        """`record_proposal` for a whole claimed batch, in the caller's transaction.

        Core statements, a few per batch instead of several per ticket: one conditional
        UPDATE … RETURNING per (status, tag, policy) group moves tickets out of `new` (a
        ticket already moved is skipped, so each is proposed once), then one multi-row
        INSERT per table for proposals, audit events, decisions and outbox rows.
        Returns the ids recorded.
        """
        if not records:
            return []
        now = utcnow()
        groups: dict[tuple[str, str, str | None, str | None], list[str]] = {}
        for record in records:
            key = (
                record.status.value,
                str(record.proposal["tag"]),
                record.proposal.get("policy"),
                record.auto_tag,
            )
            groups.setdefault(key, []).append(record.ticket_id)
        moved: set[str] = set()
        for (status, tag, policy, auto_tag), ids in groups.items():
            params: dict[str, Any] = {
                "p_ids": ids,
                "p_status": status,
                "p_tag": tag,
                "p_policy": policy,
            }
            if auto_tag is not None:
                params.update(p_final=auto_tag, p_at=now)
            result = session.execute(self._proposed_statement(auto_tag is not None), params)
            moved.update(row[0] for row in result)
        done = [r for r in records if r.ticket_id in moved]
        if not done:
            return []
        session.execute(
            insert(Proposal.__table__),  # type: ignore[attr-defined]
            [{"created_at": now, **r.proposal} for r in done],
        )
        audit_rows = [
            {
                "at": now,
                "actor": "bot",
                "action": "proposed",
                "ticket_id": r.ticket_id,
                "policy": r.proposal.get("policy"),
                "detail": {
                    key: r.proposal.get(key)
                    for key in (
                        "tag",
                        "confidence",
                        "sentiment",
                        "decision",
                        "reasons",
                        "guardrails",
                        "model_version",
                    )
                },
            }
            for r in done
        ]
        session.execute(insert(AuditEvent.__table__), audit_rows)  # type: ignore[attr-defined]
        # Plain rows, not ORM objects: logging reads only their attributes after commit.
        observability.emit_after_commit(session, [SimpleNamespace(**row) for row in audit_rows])
        decisions = [
            {
                "ticket_id": r.ticket_id,
                "action": "auto",
                "tag": r.auto_tag,
                "proposed_tag": r.proposal["tag"],
                "actor": "bot",
                "at": now,
            }
            for r in done
            if r.auto_tag is not None
        ]
        if decisions:
            session.execute(insert(Decision.__table__), decisions)  # type: ignore[attr-defined]
        outbox = [_outbox_row(item, now) for r in done for item in r.outbox]
        if outbox:
            session.execute(insert(OutboxMessage.__table__), outbox)  # type: ignore[attr-defined]
        return [r.ticket_id for r in done]

    @functools.lru_cache(maxsize=2)  # noqa: B019  (one store per process; two shapes)
    def _proposed_statement(self, auto: bool) -> Any:
        """`record_proposals`' UPDATE of one group of tickets (same status, tag and policy),
        built once per shape (routed by the bot or not): a batch has a group per tag and
        decision, and building each one at every batch cost the worker about a tenth of
        its rate."""
        tickets = Ticket.__table__  # type: ignore[attr-defined]
        values: dict[str, Any] = {
            "status": bindparam("p_status", type_=tickets.c.status.type),
            "proposed_tag": bindparam("p_tag", type_=tickets.c.proposed_tag.type),
            "policy": bindparam("p_policy", type_=tickets.c.policy.type),
        }
        if auto:
            values.update(
                final_tag=bindparam("p_final", type_=tickets.c.final_tag.type),
                decided_by="bot",
                decided_at=bindparam("p_at", type_=tickets.c.decided_at.type),
            )
        return (
            update(tickets)
            .where(
                tickets.c.id.in_(bindparam("p_ids", expanding=True)),
                unindexed(tickets.c.status) == TicketStatus.NEW.value,
            )
            .values(values)
            .returning(tickets.c.id)
        )

    def transition(
        self,
        ticket_id: str,
        allowed_from: Iterable[TicketStatus],
        values: dict[str, Any],
        decision: Decision | None,
        audit: AuditEvent,
        outbox: Iterable[OutboxItem] = (),
    ) -> Transition:
        """Change a ticket only if it is still in an allowed status: one click, one decision.

        Core statements in one transaction (a click is on the path to its chat.update):
        the conditional UPDATE, then the decision, audit and outbox rows.
        """
        statement = self._transition_statement(tuple(values), tuple(s.value for s in allowed_from))
        params = {f"v_{name}": value for name, value in values.items()}
        params["ticket_id"] = ticket_id
        add_decision, add_audit, add_outbox = self._transition_inserts
        handoff = self._handoff
        handed: list[OutboxMessage] = []

        def write(connection: Connection) -> bool:
            if connection.execute(statement, params).rowcount != 1:
                return False
            if decision is not None:
                connection.execute(add_decision, _columns(decision))
            connection.execute(add_audit, _columns(audit))
            now = utcnow()
            rows = [_outbox_row(item, now) for item in outbox]
            if handoff is not None:
                rows = self._insert_handed(connection, rows, now + handoff[1], handed)
            if rows:
                connection.execute(add_outbox, rows)
            return True

        def committed() -> None:
            observability.emit_committed([audit])
            if handed and handoff is not None:
                try:
                    handoff[0](handed)
                except Exception:  # the rows stay leased: the update lane sends them later
                    log.exception("could not hand %d chat.update calls to the sender", len(handed))

        batch = self._current_batch()
        if batch is not None:  # committed with the others (batched)
            if not write(batch.connection):
                return Transition(False, self.ticket_with_proposal(ticket_id, batch.connection)[0])
            batch.after.append(committed)
            return Transition(applied=True, ticket=None)
        with self.engine.begin() as connection:
            moved = write(connection)
        if not moved:
            return Transition(applied=False, ticket=self.get_ticket(ticket_id))
        committed()
        return Transition(applied=True, ticket=None)

    def _insert_handed(
        self,
        connection: Connection,
        rows: list[dict[str, Any]],
        leased_until: datetime,
        handed: list[OutboxMessage],
    ) -> list[dict[str, Any]]:
        """Insert the chat.update rows one by one, leased as if claimed (their ids are
        needed to mark them sent), append them to `handed`; the other rows are returned."""
        add_outbox = self._transition_inserts[2]
        rest: list[dict[str, Any]] = []
        for row in rows:
            if row["method"] not in HANDED_METHODS:
                rest.append(row)
                continue
            row.update(attempts=1, next_attempt_at=leased_until)
            key = connection.execute(add_outbox, row).inserted_primary_key
            handed.append(OutboxMessage.model_construct(id=key[0], **_UNSENT, **row))
        return rest

    @functools.cached_property
    def _transition_inserts(self) -> tuple[Any, Any, Any]:
        return (
            insert(Decision.__table__),  # type: ignore[attr-defined]
            insert(AuditEvent.__table__),  # type: ignore[attr-defined]
            insert(OutboxMessage.__table__),  # type: ignore[attr-defined]
        )

    @functools.lru_cache(maxsize=64)  # noqa: B019  (one store per process; a few shapes)
    def _transition_statement(self, names: tuple[str, ...], allowed: tuple[str, ...]) -> Any:
        """The conditional UPDATE of a transition, built once per shape (which columns it
        sets, from which statuses): a click's transition then costs no statement building."""
        tickets = Ticket.__table__  # type: ignore[attr-defined]
        return (
            update(tickets)
            # OR of equalities, not IN: an IN list is expanded again at every execution.
            .where(
                tickets.c.id == bindparam("ticket_id"),
                or_(*(tickets.c.status == status for status in allowed)),
            )
            .values({name: bindparam(f"v_{name}", type_=tickets.c[name].type) for name in names})
        )

    # --- audit ------------------------------------------------------------------------------

    def audit(self, event: AuditEvent, outbox: Iterable[OutboxItem] = ()) -> None:
        with self.session() as session:
            session.add(event)
            self._enqueue(session, outbox)
            session.commit()

    def audit_events(
        self, ticket_id: str | None = None, since: datetime | None = None
    ) -> list[AuditEvent]:
        with self.session() as session:
            query = select(AuditEvent)
            if ticket_id is not None:
                query = query.where(AuditEvent.ticket_id == ticket_id)
            if since is not None:
                query = query.where(AuditEvent.at >= since)
            return list(session.exec(query.order_by(AuditEvent.id)).all())  # type: ignore[arg-type]

    # --- outbox -----------------------------------------------------------------------------

    @staticmethod
    def _enqueue(session: Session, items: Iterable[OutboxItem]) -> None:
        for item in items:
            session.add(
                OutboxMessage(
                    dedupe_key=item.dedupe_key,
                    method=item.method,
                    payload=item.payload,
                    ticket_id=item.ticket_id,
                    purpose=item.purpose,
                    priority=item.priority,
                )
            )

    def enqueue(self, items: Iterable[OutboxItem]) -> int:
        """Queue Slack calls outside a state change; a repeated dedupe_key is skipped."""
        added = 0
        for item in items:
            with self.session() as session:
                self._enqueue(session, [item])
                try:
                    session.commit()
                    added += 1
                except IntegrityError:
                    session.rollback()
        return added

    def claim_outbox(
        self,
        limit: int,
        lease: timedelta,
        exclude_channels: Iterable[str] = (),
        *,
        only_methods: Iterable[str] | None = None,
        skip_methods: Iterable[str] = (),
    ) -> list[OutboxMessage]:
        """Take due messages, most urgent first, and lease them so no other process sends them.

        `SELECT … FOR UPDATE SKIP LOCKED`: concurrent claimers never get the same row, and a
        row whose claimer died becomes due again when its lease runs out. Channels that this
        process may not post to right now (paced or rate-limited) are left for later.
        `only_methods` / `skip_methods` split the queue into lanes (chat.update has its own).
        """
        now = utcnow()
        excluded = sorted(set(exclude_channels))
        claim = self._claim_statement(
            limit,
            None if only_methods is None else tuple(sorted(set(only_methods))),
            tuple(sorted(set(skip_methods))),
            bool(excluded),
        )
        params: dict[str, Any] = {"c_now": now, "c_until": now + lease}
        if excluded:
            params["c_excluded"] = excluded
        with self.session() as session:
            rows = list(session.execute(claim, params).scalars().all())
            rows = self._drop_superseded(session, rows)
            session.commit()
        return sorted(rows, key=lambda row: (row.priority, row.id or 0))

    @functools.lru_cache(maxsize=64)  # noqa: B019  (one store per process; a few shapes)
    def _claim_statement(
        self, limit: int, only: tuple[str, ...] | None, skipped: tuple[str, ...], excluding: bool
    ) -> Any:
        """`claim_outbox`'s UPDATE, built once per lane (its methods, whether channels are
        left out, its batch size): the times and the channels left out are parameters, so a
        claim, several a second while the queue drains, costs no statement building."""
        outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
        when = outbox.c.next_attempt_at.type
        method = col(OutboxMessage.method)
        due: tuple[Any, ...] = (OutboxMessage.next_attempt_at <= bindparam("c_now", type_=when),)
        if only is not None:
            due = (*due, method.in_(only))
        if skipped:
            due = (*due, method.not_in(skipped))
        pending = OutboxMessage.status == OutboxStatus.PENDING.value
        candidates = select(OutboxMessage.id).where(pending, *due)
        if excluding:
            channel = func.coalesce(OutboxMessage.payload["channel"].as_string(), "")  # type: ignore[index]
            candidates = candidates.where(channel.not_in(bindparam("c_excluded", expanding=True)))
        candidates = (
            candidates.order_by(OutboxMessage.priority, OutboxMessage.id)  # type: ignore[arg-type]
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        # One UPDATE … RETURNING: atomic on SQLite too, where FOR UPDATE does not exist. The
        # candidates walk the queue in order by the pending index; the UPDATE takes them by
        # id (checking them again), instead of reading the whole queue to find them.
        return (
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(candidates.scalar_subquery()), _STILL_PENDING, *due)  # type: ignore[union-attr]
            .values(
                next_attempt_at=bindparam("c_until", type_=when),
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(OutboxMessage)
            .execution_options(synchronize_session=False)
        )

    @staticmethod
    def _drop_superseded(session: Session, rows: list[OutboxMessage]) -> list[OutboxMessage]:
        """Claimed chat.update rows for which a newer update of the same message is queued
        or sent are marked superseded and not returned: the newest replaces the whole
        message, and an older one sent after it (a retry, a row whose lease ran out, a
        rebuild queued while a click's update was on its way) would bring stale buttons
        back. Ids order the updates of one message: each is built after the state it shows
        was read, and a decision whose update may have read a stale state queues a newer
        rebuild once it has committed (SurgeChannel.settle)."""
        updates = [r for r in rows if r.method in HANDED_METHODS and r.payload.get("ts")]
        if not updates:
            return rows
        channel = OutboxMessage.payload["channel"].as_string()  # type: ignore[index]
        ts = OutboxMessage.payload["ts"].as_string()  # type: ignore[index]
        newest: dict[tuple[str, str], int] = {}
        for row_id, row_channel, row_ts in session.execute(
            select(OutboxMessage.id, channel, ts).where(
                col(OutboxMessage.id) >= min(r.id or 0 for r in updates),
                col(OutboxMessage.method).in_(sorted(HANDED_METHODS)),
                unindexed(OutboxMessage.status).in_(
                    [OutboxStatus.PENDING.value, OutboxStatus.SENT.value]
                ),
                ts.in_(sorted({str(r.payload["ts"]) for r in updates})),
            )
        ):
            key = (str(row_channel or ""), str(row_ts))
            newest[key] = max(newest.get(key, 0), int(row_id))
        stale = {
            r.id
            for r in updates
            if newest.get((str(r.payload.get("channel") or ""), str(r.payload["ts"])), 0)
            > (r.id or 0)
        }
        if not stale:
            return rows
        session.execute(_superseding(stale).execution_options(synchronize_session=False))
        return [r for r in rows if r.id not in stale]

    def outbox_superseded(self, message_ids: Sequence[int]) -> None:
        """Updates this process will not send: a newer update of the same message went out."""
        if not message_ids:
            return
        with self.engine.begin() as connection:
            connection.execute(_superseding(message_ids))

    def outbox_release(self, message_ids: Sequence[int]) -> None:
        """Give back claimed rows that were not tried (pacing): due now, attempt not counted."""
        if not message_ids:
            return
        with self.session() as session:
            session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(list(message_ids)),  # type: ignore[union-attr]
                    _STILL_PENDING,
                )
                .values(next_attempt_at=utcnow(), attempts=OutboxMessage.attempts - 1)
            )
            session.commit()

    def oldest_pending_outbox(self) -> datetime | None:
        """When the oldest unsent Slack call was queued (for /healthz)."""
        with self.session() as session:
            return session.exec(
                select(func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.status == OutboxStatus.PENDING.value
                )
            ).one()

    def outbox_sent(self, message_id: int, channel: str | None, ts: str | None) -> None:
        """Mark a call accepted by Slack (Core, two statements: this runs once per post)."""
        self.outbox_sent_many([(message_id, channel, ts)])

    def outbox_sent_many(self, marks: Sequence[tuple[int, str | None, str | None]]) -> list[None]:
        """`outbox_sent` for calls Slack accepted at about the same time, in one transaction
        (group commit: a burst of chat.update answers costs a few commits, not one each)."""
        with self.engine.begin() as connection:
            for message_id, channel, ts in marks:
                self._outbox_sent(connection, message_id, channel, ts)
        return [None] * len(marks)

    def _outbox_sent(
        self, session: Connection, message_id: int, channel: str | None, ts: str | None
    ) -> None:
        mark, placed = self._sent_statements
        row = session.execute(
            mark, {"b_id": message_id, "b_sent_at": utcnow(), "b_channel": channel, "b_ts": ts}
        ).first()
        if row is not None and row.ticket_id and row.purpose == "proposal" and ts:
            session.execute(placed, {"b_ticket": row.ticket_id, "b_channel": channel, "b_ts": ts})
        if row is not None and channel and ts:
            payload = row.payload if isinstance(row.payload, dict) else {}
            self._record_controls(session, channel, ts, control_block_ids(payload))

    @functools.cached_property
    def _sent_statements(self) -> tuple[Any, Any]:
        """`outbox_sent`'s statements, built once (mark the call sent, place the ticket's
        message): a burst of chat.update answers, one mark each, then costs no statement
        building."""
        outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
        tickets = Ticket.__table__  # type: ignore[attr-defined]
        mark = (
            update(outbox)
            .where(outbox.c.id == bindparam("b_id"))
            .values(
                status=OutboxStatus.SENT.value,
                sent_at=bindparam("b_sent_at", type_=outbox.c.sent_at.type),
                result_channel=bindparam("b_channel", type_=outbox.c.result_channel.type),
                result_ts=bindparam("b_ts", type_=outbox.c.result_ts.type),
                last_error=None,
            )
            .returning(outbox.c.ticket_id, outbox.c.purpose, outbox.c.payload)
        )
        placed = (
            update(tickets)
            .where(tickets.c.id == bindparam("b_ticket"))
            .values(
                message_channel=bindparam("b_channel", type_=tickets.c.message_channel.type),
                message_ts=bindparam("b_ts", type_=tickets.c.message_ts.type),
            )
        )
        return mark, placed

    def _insert_new_only(self, table: Any) -> Any:
        """INSERT … ON CONFLICT DO NOTHING in this store's dialect (SQLite or PostgreSQL)."""
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        return insert(table).on_conflict_do_nothing()

    def outbox_retry(self, message_id: int, error: str, delay: timedelta) -> None:
        with self.session() as session:
            row = session.get(OutboxMessage, message_id)
            if row is None:
                return
            row.last_error = error[:500]
            row.next_attempt_at = utcnow() + delay
            session.add(row)
            session.commit()

    def outbox_failed(self, message_id: int, error: str) -> None:
        with self.session() as session:
            row = session.get(OutboxMessage, message_id)
            if row is None:
                return
            row.status = OutboxStatus.FAILED.value
            row.last_error = error[:500]
            session.add(row)
            session.add(
                AuditEvent(
                    actor="bot",
                    action="slack_call_failed",
                    ticket_id=row.ticket_id,
                    detail={"method": row.method, "purpose": row.purpose, "error": error[:200]},
                )
            )
            session.commit()

    def outbox_counts(self, states: Iterable[str] | None = None) -> dict[str, int]:
        """Outbox rows per status (a status with none is absent). With `states`, only
        those are counted, through the prefix of the pending index: a health check then
        costs what is waiting or failed, not every call ever sent, which grows for good."""
        query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        if states is not None:
            query = query.where(col(OutboxMessage.status).in_(list(states)))
        with self.session() as session:
            return {status: int(count) for status, count in session.exec(query).all()}

    def outbox_messages(self, ticket_id: str | None = None) -> list[OutboxMessage]:
        with self.session() as session:
            query = select(OutboxMessage)
            if ticket_id is not None:
                query = query.where(OutboxMessage.ticket_id == ticket_id)
            return list(session.exec(query.order_by(OutboxMessage.id)).all())  # type: ignore[arg-type]

    # --- pauses -----------------------------------------------------------------------------

    def active_pauses(self) -> list[Pause]:
        now = utcnow()
        with self.session() as session:
            rows = session.exec(select(Pause).order_by(Pause.policy)).all()  # type: ignore[arg-type]
            return [p for p in rows if p.until is None or p.until > now]

    def active_pauses_including_expired(self) -> list[Pause]:
        with self.session() as session:
            return list(session.exec(select(Pause).order_by(Pause.policy)).all())  # type: ignore[arg-type]

    def paused_names(self) -> set[str]:
        return {p.policy for p in self.active_pauses()}

    def set_pause(self, pause: Pause, audit: AuditEvent, outbox: Iterable[OutboxItem] = ()) -> None:
        with self.session() as session:
            existing = session.get(Pause, pause.policy)
            if existing is not None:
                session.delete(existing)
                session.flush()
            session.add(pause)
            session.add(audit)
            self._enqueue(session, outbox)
            session.commit()

    def clear_pause(
        self,
        policy: str,
        audit: AuditEvent,
        outbox: Iterable[OutboxItem] = (),
        expired_by: datetime | None = None,
    ) -> bool:
        """Delete a pause with its audit row and announcement; exactly one process wins.

        With `expired_by`, only a timed pause whose time is up is lifted, so a pause set
        again meanwhile (by another process) is left alone.
        """
        condition = [col(Pause.policy) == policy]
        if expired_by is not None:
            condition += [col(Pause.until).is_not(None), col(Pause.until) <= expired_by]
        with self.session() as session:
            result = session.exec(delete(Pause).where(*condition))  # type: ignore[call-overload]
            if result.rowcount != 1:
                session.rollback()
                return False
            session.add(audit)
            self._enqueue(session, outbox)
            session.commit()
        return True

    # --- retention and erasure -------------------------------------------------------------------

    def erase_tickets(
        self, ticket_ids: Sequence[str], *, actor: str, reason: str, notice: str = ""
    ) -> list[str]:
        """Erase the text and personal data of these tickets; returns the ids erased now.

        Subject, body and requester become empty and `erased_at` is set; the row stays, so
        the id is still known (a re-sent or re-polled ticket is not stored again) and the
        decisions, proposals and the append-only audit trail keep their metadata, which
        never held ticket text or personal data. Slack calls queued for these tickets lose
        their text: unsent ones are dropped, sent ones keep only where they went. With a
        `notice`, every Slack message the bot posted for a ticket is replaced by it (the
        buttons of a ticket still waiting for a human are kept). Each erased ticket gets an
        `erased` audit row saying why. Other tables that hold ticket text join in through
        ERASERS.
        """
        erased: list[str] = []
        ids = list(dict.fromkeys(ticket_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            now = utcnow()
            with self.session() as session:
                statuses = {
                    row[0]: row[1]
                    for row in session.execute(
                        update(Ticket)
                        .where(col(Ticket.id).in_(chunk), col(Ticket.erased_at).is_(None))
                        .values(subject="", body="", requester="", erased_at=now)
                        .returning(col(Ticket.id), col(Ticket.status))
                    )
                }
                done = [tid for tid in chunk if tid in statuses]
                if not done:
                    session.rollback()
                    continue
                undecided = {t for t, st in statuses.items() if st in _UNDECIDED}
                notices = self._scrub_outbox(session, done, notice, undecided)
                for eraser in ERASERS:
                    eraser(session, done)
                session.execute(
                    AuditEvent.__table__.insert(),  # type: ignore[attr-defined]
                    [
                        {
                            "at": now,
                            "actor": actor[:64],
                            "action": "erased",
                            "ticket_id": tid,
                            "detail": {"reason": reason},
                        }
                        for tid in done
                    ],
                )
                self._enqueue(session, notices)
                session.commit()
            erased.extend(done)
        return erased

    @staticmethod
    def _scrub_outbox(
        session: Session, ticket_ids: list[str], notice: str, undecided: set[str]
    ) -> list[OutboxItem]:
        """Drop the text from these tickets' Slack calls; with `notice`, updates to post.

        The buttons of a message stay only while its ticket still waits for a decision.
        """
        rows = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.ticket_id).in_(ticket_ids))
        ).all()
        updates: list[OutboxItem] = []
        for row in rows:
            payload = row.payload or {}
            channel = row.result_channel or payload.get("channel")
            shown = row.status == OutboxStatus.SENT.value and row.method == "chat.postMessage"
            if notice and shown and row.result_ts and channel:
                controls = [
                    b
                    for b in payload.get("blocks", [])
                    if isinstance(b, dict) and b.get("type") == "actions"
                ]
                if row.ticket_id not in undecided:
                    controls = []
                section = {"type": "section", "text": {"type": "mrkdwn", "text": notice}}
                updates.append(
                    OutboxItem(
                        dedupe_key=f"erase:{row.ticket_id}:{channel}:{row.result_ts}"[:255],
                        method="chat.update",
                        payload={
                            "channel": channel,
                            "ts": row.result_ts,
                            "text": notice,
                            "blocks": [section, *controls],
                        },
                        ticket_id=row.ticket_id,
                        purpose="update",
                        priority=20,
                    )
                )
            row.payload = {"channel": channel, "erased": True}
            if row.status == OutboxStatus.PENDING.value:
                row.status = OutboxStatus.FAILED.value
                row.last_error = "not sent: the ticket's text was erased"
            session.add(row)
        session.flush()
        return updates

    def tickets_received_before(self, cutoff: datetime, limit: int = 5000) -> list[str]:
        """Ids of tickets received before `cutoff` whose text is not erased yet (oldest first)."""
        with self.session() as session:
            return list(
                session.exec(
                    select(Ticket.id)
                    .where(col(Ticket.received_at) < cutoff, col(Ticket.erased_at).is_(None))
                    .order_by(col(Ticket.received_at), col(Ticket.id))
                    .limit(limit)
                ).all()
            )

    def tickets_of_requester(self, requester: str) -> list[str]:
        """Ids of tickets whose requester is this address or name (`Ana <ana@x>` too)."""
        wanted = requester.strip().lower()
        if not wanted:
            return []
        lowered = func.lower(Ticket.requester)
        with self.session() as session:
            return list(
                session.exec(
                    select(Ticket.id)
                    .where((lowered == wanted) | lowered.contains(f"<{wanted}>", autoescape=True))
                    .order_by(col(Ticket.id))
                ).all()
            )

    def scrub_old_outbox(self, cutoff: datetime) -> int:
        """Sent or failed Slack calls older than `cutoff` keep only where they went."""
        outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
        with self.session() as session:
            rows = session.execute(
                select(outbox.c.id, outbox.c.payload, outbox.c.result_channel).where(
                    outbox.c.created_at < cutoff,
                    outbox.c.status != OutboxStatus.PENDING.value,
                )
            ).all()
            changes = [
                {
                    "oid": r.id,
                    "scrubbed": {
                        "channel": r.result_channel or (r.payload or {}).get("channel"),
                        "erased": True,
                    },
                }
                for r in rows
                if not (r.payload or {}).get("erased")
            ]
            if changes:
                session.execute(
                    update(outbox)
                    .where(outbox.c.id == bindparam("oid"))
                    .values(payload=bindparam("scrubbed")),
                    changes,
                )
            session.commit()
            return len(changes)

    # --- once-per-tick jobs across processes ----------------------------------------------------

    def claim_run(self, run_key: str, owner: str = "") -> bool:
        """True for exactly one caller per run key (e.g. `digest:2026-11-27`), across processes."""
        with self.session() as session:
            session.add(JobRun(run_key=run_key, owner=owner[:128]))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
            return True

    def finish_run(self, run_key: str) -> None:
        with self.session() as session:
            row = session.get(JobRun, run_key)
            if row is not None:
                row.finished_at = utcnow()
                session.add(row)
                session.commit()

    def release_run(self, run_key: str) -> None:
        """Forget a claimed run that failed, so a later tick can try it again."""
        with self.session() as session:
            row = session.get(JobRun, run_key)
            if row is not None and row.finished_at is None:
                session.delete(row)
                session.commit()

    def prune_runs(self, prefix: str, before: datetime) -> int:
        """Forget finished runs of one job older than `before`; frequent jobs stay small."""
        with self.session() as session:
            result = session.exec(  # type: ignore[call-overload]
                delete(JobRun).where(
                    JobRun.run_key.startswith(prefix),  # type: ignore[attr-defined]
                    JobRun.finished_at.is_not(None),  # type: ignore[union-attr]
                    JobRun.started_at < before,  # type: ignore[arg-type]
                )
            )
            session.commit()
            return int(result.rowcount or 0)

    # --- Slack event de-duplication -------------------------------------------------------------

    def first_sighting(self, event_id: str) -> bool:
        """True the first time an event id is seen; Slack's retries get False."""
        with self.session() as session:
            session.add(SeenEvent(event_id=event_id))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
            return True

    # --- replayed Slack requests ---------------------------------------------------------------

    def first_slack_request(self, signature: str, request_ts: int) -> bool:
        """True the first time a signed Slack request is seen; a replay of it gets False.

        Shared by every process on the store, so a captured request cannot be replayed
        against another `serve` process either.
        """
        with self.session() as session:
            session.add(SeenSlackRequest(signature=signature[:80], request_ts=request_ts))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
            return True

    def first_slack_requests(self, requests: Sequence[tuple[str, int]]) -> list[bool]:
        """`first_slack_request` for many requests in one transaction (group commit): one
        INSERT … ON CONFLICT DO NOTHING RETURNING; within the batch the first copy wins."""
        rows: dict[str, int] = {}
        for signature, request_ts in requests:
            rows.setdefault(signature[:80], request_ts)
        if not rows:
            return []
        now = utcnow()
        with self.engine.begin() as connection:
            stored = {
                row[0]
                for row in connection.execute(
                    self._first_requests_statement,
                    [{"signature": k, "request_ts": v, "seen_at": now} for k, v in rows.items()],
                )
            }
        answers = []
        for signature, _ in requests:
            key = signature[:80]
            answers.append(key in stored)
            stored.discard(key)  # a second copy in the same batch is a replay
        return answers

    @functools.cached_property
    def _first_requests_statement(self) -> Any:
        """`first_slack_requests`' INSERT, built once; executed with one parameter set per
        request, which SQLAlchemy sends as one multi-row INSERT … RETURNING."""
        table = SeenSlackRequest.__table__  # type: ignore[attr-defined]
        return self._insert_new_only(table).returning(table.c.signature)

    def prune_slack_requests(self, older_than_ts: int) -> int:
        """Forget signatures of requests that Slack's 5-minute window already refuses."""
        with self.session() as session:
            result = session.exec(  # type: ignore[call-overload]
                delete(SeenSlackRequest).where(col(SeenSlackRequest.request_ts) < older_than_ts)
            )
            session.commit()
            return int(result.rowcount or 0)

    # --- where controls are shown ---------------------------------------------------------------

    def _record_controls(
        self, session: Session | Connection, channel: str, ts: str, block_ids: Iterable[str]
    ) -> None:
        rows = [
            {"channel": channel, "ts": ts, "block_id": block_id, "recorded_at": utcnow()}
            for block_id in dict.fromkeys(block_ids)
        ]
        if rows:
            session.execute(self._controls_statement, rows)

    @functools.cached_property
    def _controls_statement(self) -> Any:
        """`_record_controls`' INSERT, built once: every sent mark with controls runs it."""
        return self._insert_new_only(ControlMessage.__table__)  # type: ignore[attr-defined]

    def record_controls(
        self,
        channel: str,
        ts: str,
        block_ids: Iterable[str],
        session: Session | None = None,
    ) -> None:
        """Record that the message at (channel, ts) shows these controls (actions blocks).

        Every message sent through the outbox is recorded automatically when Slack accepts
        it (`outbox_sent`: each actions block's block_id, e.g. `triage:<ticket id>`,
        `handoff:<ticket id>`, `triage-group:<group id>`). Code that posts controls some
        other way records them here. With `session`, the caller commits.
        """
        if isinstance(block_ids, str):
            raise TypeError("block_ids is a list of block ids, e.g. ['triage:T-1']")
        if session is not None:
            self._record_controls(session, channel, ts, block_ids)
            return
        with self.session() as own:
            self._record_controls(own, channel, ts, block_ids)
            own.commit()

    def controls_at(self, channel: str, ts: str) -> set[str]:
        """The block_ids of the controls recorded at the message (channel, ts)."""
        with self.session() as session:
            rows = session.exec(
                select(ControlMessage.block_id).where(
                    ControlMessage.channel == channel, ControlMessage.ts == ts
                )
            ).all()
            return set(rows)

    def shows_control(
        self, channel: str, ts: str, block_id: str, ticket_id: str | None = None
    ) -> bool:
        """Does the message (channel, ts) show the control `block_id`? A ticket's own
        proposal message (tickets.message_channel/ts) always counts as showing it."""
        if not channel or not ts or not block_id:
            return False
        shown, own_message = self._control_statements
        params = {"channel": channel, "ts": ts, "block_id": block_id, "ticket_id": ticket_id}
        with self.engine.connect() as connection:
            if connection.execute(shown, params).first() is not None:
                return True
            return (
                ticket_id is not None
                and connection.execute(own_message, params).first() is not None
            )

    @functools.cached_property
    def _control_statements(self) -> tuple[Any, Any]:
        """shows_control's two Core statements, built once: it runs on every click, ahead
        of its decision, where an ORM get (and building a statement) costs several times
        more."""
        controls = ControlMessage.__table__  # type: ignore[attr-defined]
        tickets = Ticket.__table__  # type: ignore[attr-defined]
        shown = select(controls.c.ts).where(
            controls.c.channel == bindparam("channel"),
            controls.c.ts == bindparam("ts"),
            controls.c.block_id == bindparam("block_id"),
        )
        own_message = select(tickets.c.id).where(
            tickets.c.id == bindparam("ticket_id"),
            tickets.c.message_channel == bindparam("channel"),
            tickets.c.message_ts == bindparam("ts"),
        )
        return shown, own_message
