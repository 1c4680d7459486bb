"""What a click did, and what it reads first: shared by the service, the surge groups below
it and the click handlers above it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, exists, or_, select

from bot.channel.models import GroupMember, MemberKind
from bot.models import ControlMessage, OutboxMessage, Proposal, Ticket

if TYPE_CHECKING:
    from bot.store import Store


@dataclass(frozen=True)
class ClickOutcome:
    """What a click did; `message` is for the clicker (ephemeral) when nothing changed."""

    applied: bool
    message: str | None = None


@dataclass(frozen=True)
class ClickFacts:
    """What a click's decision needs to know before it changes anything, read at once.

    `grouped`: the clicked message is one of our summary or group messages (then the
    decision reads which one); `apart`: the ticket is a surge member shown apart in a batch
    message (then the decision reads that batch). Both are usually false: a click on a
    ticket's own proposal then reads nothing more before its transition."""

    ticket: Ticket | None
    proposal: Proposal | None
    grouped: bool
    apart: bool


_CONTROLS = ControlMessage.__table__  # type: ignore[attr-defined]
_TICKETS = Ticket.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
_MEMBERS = GroupMember.__table__  # type: ignore[attr-defined]

# Every question a click asks before its decision, as one statement (built once): is the
# control shown in the clicked message (recorded there, or the ticket's own proposal), is
# that message a summary or group, is the ticket a member shown apart.
_PROBE = select(
    exists().where(
        _CONTROLS.c.channel == bindparam("channel"),
        _CONTROLS.c.ts == bindparam("ts"),
        _CONTROLS.c.block_id == bindparam("block_id"),
    ),
    exists().where(
        _TICKETS.c.id == bindparam("own"),
        _TICKETS.c.message_channel == bindparam("channel"),
        _TICKETS.c.message_ts == bindparam("ts"),
    ),
    exists().where(
        _OUTBOX.c.result_channel == bindparam("channel"),
        _OUTBOX.c.result_ts == bindparam("ts"),
        # OR of equalities, not IN: an IN list is expanded again at every execution.
        or_(*(_OUTBOX.c.purpose == purpose for purpose in ("summary", "group", "group_list"))),
    ),
    exists().where(
        _MEMBERS.c.ticket_id == bindparam("ticket_id"),
        _MEMBERS.c.kind == MemberKind.APART.value,
        _MEMBERS.c.list_key.is_not(None),
    ),
)


def read_click(
    store: Store, clicked: tuple[str, str], block_id: str, own: str | None, ticket_id: str
) -> ClickFacts | None:
    """The facts of a click on `block_id` in message `clicked`, or None when that control
    is not shown there (`own`: the ticket whose own proposal message counts as showing it).

    One connection (the batch's, when clicks are decided together: Store.batched), three
    statements (the probe, the ticket, its latest proposal), instead of a connection per
    question."""
    channel, ts = clicked
    if not channel or not ts or not block_id:
        return None
    params = {
        "channel": channel,
        "ts": ts,
        "block_id": block_id,
        "own": own,
        "ticket_id": ticket_id,
    }
    with store.reading() as connection:
        shown, own_message, grouped, apart = connection.execute(_PROBE, params).one()
        if not (shown or (own is not None and own_message)):
            return None
        ticket, proposal = store.ticket_with_proposal(ticket_id, connection)
    return ClickFacts(ticket, proposal, bool(grouped), bool(apart))
