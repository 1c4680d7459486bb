"""Tables the source poller keeps in the bot's own store (never in the helpdesk database)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from bot.models import utcnow


class SourceState(SQLModel, table=True):
    """One row per source: who polls now (lease), the launch point, the last outcome."""

    __tablename__ = "source_state"

    name: str = Field(primary_key=True, max_length=64)
    launched_at: datetime | None = None  # tickets created before this are the baseline
    first_sync_done: bool = False
    null_cursor: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    outcome_cursor: str | None = Field(default=None, max_length=255)
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = None
    last_poll_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    last_error_at: datetime | None = None
    # Rows stored with a creation time beyond now + SOURCE_MAX_FUTURE_SECONDS (on /healthz).
    suspect_times: int = 0


class SourceCheckpoint(SQLModel, table=True):
    """After a poll that started at `polled_at`, every row with cursor <= max_cursor was read.

    The next poll reads from the newest checkpoint older than the lookback window, so a
    row committed late (or stamped by a skewed clock) inside that window is still read.
    """

    __tablename__ = "source_checkpoints"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, index=True)
    polled_at: datetime = Field(default_factory=utcnow)
    max_cursor: str = Field(sa_column=Column(Text, nullable=False))


class SourceRef(SQLModel, table=True):
    """The source's own id value (type kept) for each stored ticket, to re-read its outcome."""

    __tablename__ = "source_refs"

    ticket_id: str = Field(primary_key=True, max_length=255)
    raw_id: str = Field(sa_column=Column(Text, nullable=False))
    open: bool = Field(default=True, index=True)


class SourceBaseline(SQLModel, table=True):
    """A pre-launch ticket: only its times, the baseline that metrics compare against."""

    __tablename__ = "source_baseline"

    ticket_id: str = Field(primary_key=True, max_length=255)
    created_at: datetime | None = Field(default=None, index=True)
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    read_at: datetime = Field(default_factory=utcnow)
