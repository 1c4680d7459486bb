"""tickets: one index for the worker's claim, by status then arrival

Revision ID: 0012_ticket_claim_index
Revises: 0011_serving_outbox_result

The worker claims the oldest `new` tickets (`status = 'new' ORDER BY received_at, id
LIMIT n`). With an index on status alone, every claim read and sorted the whole backlog;
on (status, received_at, id) a claim reads only the rows it takes. The new index serves
every lookup by status too, so the single-column one goes.
"""

from __future__ import annotations

from alembic import op

revision = "0012_ticket_claim_index"
down_revision = "0011_serving_outbox_result"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_claim", "tickets", ["status", "received_at", "id"])
    op.drop_index("ix_tickets_status", table_name="tickets")


def downgrade() -> None:
    op.create_index("ix_tickets_status", "tickets", ["status"])
    op.drop_index("ix_tickets_claim", table_name="tickets")
