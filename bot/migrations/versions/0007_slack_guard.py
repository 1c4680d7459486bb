"""slack guard: replayed requests and where controls are shown

Revision ID: 0007_slack_guard
Revises: 0006_ownership

`slack_requests_seen` holds the signatures of Slack requests already handled, so a
captured signed request cannot be replayed (pruned past Slack's 5-minute window).
`control_messages` records every (channel, ts) where a control block is shown, so a click
is honoured only from a message that really shows it. Messages already sent are
backfilled from the outbox.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007_slack_guard"
down_revision = "0006_ownership"
branch_labels = None
depends_on = None


def _backfill_controls() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT result_channel, result_ts, payload FROM outbox "
            "WHERE status = 'sent' AND result_channel IS NOT NULL AND result_ts IS NOT NULL"
        )
    )
    seen: set[tuple[str, str, str]] = set()
    for channel, ts, payload in rows:
        data = json.loads(payload) if isinstance(payload, str | bytes) else payload
        blocks = data.get("blocks") if isinstance(data, dict) else None
        for block in blocks if isinstance(blocks, list) else []:
            if isinstance(block, dict) and block.get("type") == "actions" and block.get("block_id"):
                seen.add((channel, ts, str(block["block_id"])[:255]))
    if seen:
        table = sa.table(
            "control_messages",
            sa.column("channel"),
            sa.column("ts"),
            sa.column("block_id"),
            sa.column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        )
        stamp = datetime.now(UTC)
        op.bulk_insert(
            table,
            [{"channel": c, "ts": t, "block_id": b, "recorded_at": stamp} for c, t, b in seen],
        )


def upgrade() -> None:
    op.create_table(
        "slack_requests_seen",
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("request_ts", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("signature"),
    )
    op.create_index(
        "ix_slack_requests_seen_request_ts", "slack_requests_seen", ["request_ts"], unique=False
    )
    op.create_table(
        "control_messages",
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ts", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("block_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "ts", "block_id"),
    )
    _backfill_controls()


def downgrade() -> None:
    op.drop_table("control_messages")
    op.drop_index("ix_slack_requests_seen_request_ts", table_name="slack_requests_seen")
    op.drop_table("slack_requests_seen")
