"""helpdesk database source: state, checkpoints, refs, baseline

Revision ID: 0004_source
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004_source"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_state",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("launched_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("first_sync_done", sa.Boolean(), nullable=False),
        sa.Column("null_cursor", sa.Text(), nullable=True),
        sa.Column("outcome_cursor", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("lease_owner", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("lease_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_poll_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_ok_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("last_error_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "source_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("polled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("max_cursor", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("source_checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_checkpoints_name"), ["name"], unique=False)
    op.create_table(
        "source_refs",
        sa.Column("ticket_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("raw_id", sa.Text(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    with op.batch_alter_table("source_refs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_refs_open"), ["open"], unique=False)
    op.create_table(
        "source_baseline",
        sa.Column("ticket_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("first_response_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("resolved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("read_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    with op.batch_alter_table("source_baseline", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_source_baseline_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("source_baseline")
    op.drop_table("source_refs")
    op.drop_table("source_checkpoints")
    op.drop_table("source_state")
