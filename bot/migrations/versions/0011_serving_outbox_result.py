"""serving: index the outbox by where Slack shows each message

Revision ID: 0011_serving_outbox_result
Revises: 0010_channel

Every click asks whether the message it was made in is a summary or a group message,
by (result_channel, result_ts); an index keeps that a lookup however long the outbox is.
"""

from __future__ import annotations

from alembic import op

revision = "0011_serving_outbox_result"
down_revision = "0010_channel"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_result", "outbox", ["result_channel", "result_ts"])


def downgrade() -> None:
    op.drop_index("ix_outbox_result", table_name="outbox")
