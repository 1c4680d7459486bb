"""The stored mode override: one row per policy, shared by every bot process.

The policy file's `mode` is the default; a row here (set with `/triage-mode`) wins.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from bot.models import utcnow


class PolicyMode(SQLModel, table=True):
    """A mode chosen by an owner in Slack. `gate_override` records an explicit launch-gate bypass."""

    __tablename__ = "policy_modes"

    policy: str = Field(primary_key=True, max_length=64)
    mode: str = Field(max_length=16)
    gate_override: bool = False
    set_by: str = Field(max_length=64)
    set_at: datetime = Field(default_factory=utcnow)
    reason: str = Field(default="", max_length=500)
