"""channel: ticket links, surge groups and routed summaries

Revision ID: 0010_channel
Revises: 0006_ownership

`tickets.url` links a ticket to the helpdesk. `surge_groups` / `group_members` hold
similar tickets proposed as one; `summary_entries` the auto-routed tickets announced
in one summary message per interval.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010_channel"
down_revision = "0006_ownership"
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("url", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "surge_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", _S(length=16), nullable=False),
        sa.Column("tag", _S(length=64), nullable=False),
        sa.Column("policy", _S(length=64), nullable=True),
        sa.Column("headline", _S(length=300), nullable=False),
        sa.Column("created_at", _T(), nullable=False),
        sa.Column("last_joined_at", _T(), nullable=False),
        sa.Column("head_key", _S(length=255), nullable=False),
        sa.Column("shown_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", _T(), nullable=True),
        sa.Column("decided_by", _S(length=64), nullable=True),
        sa.Column("decided_at", _T(), nullable=True),
        sa.Column("final_tag", _S(length=64), nullable=True),
        sa.Column("handed_to", _S(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_surge_groups_status", "surge_groups", ["status"])
    op.create_table(
        "group_members",
        sa.Column("ticket_id", _S(length=255), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("kind", _S(length=16), nullable=False),
        sa.Column("state", _S(length=16), nullable=False),
        sa.Column("joined_at", _T(), nullable=False),
        sa.Column("list_key", _S(length=255), nullable=True),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_group_members_group_id", "group_members", ["group_id"])
    op.create_index("ix_group_members_joined_at", "group_members", ["joined_at"])
    op.create_index("ix_group_members_list_key", "group_members", ["list_key"])
    op.create_table(
        "summary_entries",
        sa.Column("ticket_id", _S(length=255), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("summary_key", _S(length=255), nullable=True),
        sa.Column("routed_at", _T(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_summary_entries_slot", "summary_entries", ["slot"])
    op.create_index("ix_summary_entries_summary_key", "summary_entries", ["summary_key"])


def downgrade() -> None:
    op.drop_table("summary_entries")
    op.drop_table("group_members")
    op.drop_table("surge_groups")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("url")
