"""CLASSIFIER=openai: daily token budget and raw LLM answers for calibration

Revision ID: 0003_openai_llm
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_openai_llm"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "llm_token_usage",
        sa.Column("day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "llm_predictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text_sha", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("tag", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("raw_confidence", sa.Float(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("llm_predictions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_llm_predictions_text_sha"), ["text_sha"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_llm_predictions_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("llm_predictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_llm_predictions_created_at"))
        batch_op.drop_index(batch_op.f("ix_llm_predictions_text_sha"))
    op.drop_table("llm_predictions")
    op.drop_table("llm_token_usage")
