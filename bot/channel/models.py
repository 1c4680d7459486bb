"""Tables for grouped messages: surge groups, their members, routed-summary entries.

Every row is written in the same transaction as the ticket change and the outbox rows
that announce it (bot.store), so grouping never loses or duplicates a ticket.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from bot.models import utcnow


class GroupStatus(StrEnum):
    OPEN = "open"  # new similar tickets join; Approve all / Reassign all possible
    DECIDED = "decided"  # Approve all or Reassign all was clicked; closed to new arrivals


class MemberKind(StrEnum):
    MEMBER = "member"  # decided with the group
    APART = "apart"  # similar, but carries a guardrail: proposed on its own, never in bulk


class MemberState(StrEnum):
    IN = "in"
    OUT = "out"  # pulled out by an agent (triage_ungroup); proposed on its own
    DECIDED = "decided"  # decided with the group


class SurgeGroup(SQLModel, table=True):
    """Similar tickets proposed as one: `triage-group:<id>` in Slack."""

    __tablename__ = "surge_groups"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=GroupStatus.OPEN, max_length=16, index=True)
    tag: str = Field(max_length=64)
    policy: str | None = Field(default=None, max_length=64)
    headline: str = Field(default="", max_length=300)  # subject of the first member
    created_at: datetime = Field(default_factory=utcnow)
    last_joined_at: datetime = Field(default_factory=utcnow)
    head_key: str = Field(default="", max_length=255)  # outbox dedupe key of the group post
    shown_count: int = 0  # members the group post counted when last rendered
    updated_at: datetime | None = None  # last chat.update of the group post
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = None
    final_tag: str | None = Field(default=None, max_length=64)
    handed_to: str | None = Field(default=None, max_length=64)


class GroupMember(SQLModel, table=True):
    """A ticket's place in a surge group; a ticket belongs to at most one group."""

    __tablename__ = "group_members"

    ticket_id: str = Field(primary_key=True, max_length=255)
    group_id: int = Field(index=True)
    kind: str = Field(default=MemberKind.MEMBER, max_length=16)
    state: str = Field(default=MemberState.IN, max_length=16)
    joined_at: datetime = Field(default_factory=utcnow, index=True)
    list_key: str | None = Field(default=None, max_length=255, index=True)  # its thread reply


class SummaryEntry(SQLModel, table=True):
    """An auto-routed ticket waiting for (or listed in) a routed summary."""

    __tablename__ = "summary_entries"

    ticket_id: str = Field(primary_key=True, max_length=255)
    slot: int = Field(index=True)  # routed_at // ROUTED_SUMMARY_SECONDS
    summary_key: str | None = Field(default=None, max_length=255, index=True)
    routed_at: datetime = Field(default_factory=utcnow)
