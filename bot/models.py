"""The bot's own tables (sqlmodel). Schema changes go through Alembic migrations.

Times are timezone-aware UTC everywhere (sqlmodel's UTCDateTime stores them so).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC now: the one clock format stored in every table."""
    return datetime.now(UTC)


class TicketStatus(StrEnum):
    NEW = "new"  # stored, not yet classified
    REVIEW = "review"  # posted, waiting for a human decision
    AUTO_ROUTED = "auto_routed"  # routed by the bot, still correctable
    HANDED_OFF = "handed_off"  # "not sure": waiting for the policy owner to claim it
    CLAIMED = "claimed"  # a human took the handoff and will decide
    ROUTED = "routed"  # a human decided; final


class Ticket(SQLModel, table=True):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("id_key", name="uq_tickets_id_key"),
        # The worker's claim (oldest `new` first) reads only the rows it takes; lookups by
        # status alone use its first column.
        Index("ix_tickets_claim", "status", "received_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=255)
    # bot.tickets.id_key(id): refuses a second ticket whose id only looks the same.
    id_key: str | None = Field(default=None, max_length=255)
    subject: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    requester: str = Field(default="", max_length=512)
    url: str = Field(
        default="", sa_column=Column(Text, nullable=False, default="", server_default="")
    )
    created_at: datetime | None = None
    received_at: datetime = Field(default_factory=utcnow, index=True)
    source: str = Field(default="webhook", max_length=64)
    status: str = Field(default=TicketStatus.NEW, max_length=32)
    proposed_tag: str | None = Field(default=None, max_length=64)
    final_tag: str | None = Field(default=None, max_length=64)
    policy: str | None = Field(default=None, max_length=64)
    message_channel: str | None = Field(default=None, max_length=64)
    message_ts: str | None = Field(default=None, max_length=64)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = None
    handed_off_at: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = None
    page_level: int = 0
    last_paged_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    # The source gave a creation time too far ahead of now to trust (it never moved the
    # source watermark); created_at keeps what the source said.
    time_suspect: bool = False
    # When the text and personal data were erased (retention or `triage-bot forget`).
    erased_at: datetime | None = Field(default=None)


class Proposal(SQLModel, table=True):
    """What the classifier proposed for a ticket, and why it did or did not auto-route."""

    __tablename__ = "proposals"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(foreign_key="tickets.id", index=True, max_length=255)
    tag: str = Field(max_length=64)
    policy: str | None = Field(default=None, max_length=64)
    confidence: float
    sentiment: str = Field(max_length=16)
    decision: str = Field(max_length=16)  # "auto" | "review"
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    guardrails: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scores: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    model_version: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class DecisionAction(StrEnum):
    AUTO = "auto"
    APPROVE = "approve"
    REASSIGN = "reassign"
    NOT_SURE = "not_sure"
    CLAIM = "claim"


class Decision(SQLModel, table=True):
    """A routing decision: the bot's auto-route or a human's click."""

    __tablename__ = "decisions"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(foreign_key="tickets.id", index=True, max_length=255)
    action: str = Field(max_length=16)
    tag: str | None = Field(default=None, max_length=64)
    proposed_tag: str | None = Field(default=None, max_length=64)
    actor: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, index=True)


class AuditEvent(SQLModel, table=True):
    """Append-only trail: every proposal, human action and control change."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    ticket_id: str | None = Field(default=None, max_length=255, index=True)
    policy: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after a permanent error; kept for the operator
    # A chat.update not sent because a newer update of the same message exists: each one
    # replaces the whole message, so only the newest matters (and an older one sent after
    # it would bring stale content, such as buttons already used, back).
    SUPERSEDED = "superseded"


class OutboxMessage(SQLModel, table=True):
    """A Slack Web API call written to the store before it is sent (transactional outbox)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
        Index("ix_outbox_pending", "status", "priority", "id"),
        # A click looks up the message it was made in (summary or group?) by where Slack
        # shows it: without this index that is a scan of every call ever sent.
        Index("ix_outbox_result", "result_channel", "result_ts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=255)
    method: str = Field(max_length=64)  # chat.postMessage, chat.update, chat.postEphemeral
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ticket_id: str | None = Field(default=None, max_length=255, index=True)
    purpose: str = Field(default="", max_length=32)  # proposal, route, handoff, update, notice
    priority: int = 50  # lower is sent first
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    result_channel: str | None = Field(default=None, max_length=64)
    result_ts: str | None = Field(default=None, max_length=64)


class Pause(SQLModel, table=True):
    """A paused policy (or `all`). Shared by every process through the store."""

    __tablename__ = "pauses"

    policy: str = Field(primary_key=True, max_length=64)
    paused_by: str = Field(max_length=64)
    reason: str = Field(default="", max_length=500)
    paused_at: datetime = Field(default_factory=utcnow)
    until: datetime | None = None


class JobRun(SQLModel, table=True):
    """One row per scheduled run key (e.g. digest:2026-11-27) so a run happens once."""

    __tablename__ = "job_runs"

    run_key: str = Field(primary_key=True, max_length=128)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    owner: str = Field(default="", max_length=128)


class SeenEvent(SQLModel, table=True):
    """Slack event ids already handled, so Events API retries are processed once."""

    __tablename__ = "seen_events"

    event_id: str = Field(primary_key=True, max_length=128)
    seen_at: datetime = Field(default_factory=utcnow)


class SeenSlackRequest(SQLModel, table=True):
    """Signatures of Slack requests already handled: a captured request cannot be replayed
    within Slack's 5-minute window (rows older than the window are pruned)."""

    __tablename__ = "slack_requests_seen"

    signature: str = Field(primary_key=True, max_length=80)
    request_ts: int = Field(index=True)  # X-Slack-Request-Timestamp (seconds)
    seen_at: datetime = Field(default_factory=utcnow)


class ControlMessage(SQLModel, table=True):
    """Where controls are shown: one row per (channel, ts, block_id of an actions block).

    A click is honoured only when the block it came from is recorded at the message it
    was clicked in (see Store.record_controls / Store.shows_control).
    """

    __tablename__ = "control_messages"

    channel: str = Field(primary_key=True, max_length=64)
    ts: str = Field(primary_key=True, max_length=64)
    block_id: str = Field(primary_key=True, max_length=255)
    recorded_at: datetime = Field(default_factory=utcnow)
