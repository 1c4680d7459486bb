"""data guard: look-alike id keys, suspect source times, erasure stamps

Revision ID: 0008_data_guard
Revises: 0006_ownership (and needs 0004_source for source_state)

- `tickets.id_key`: the id NFKC-normalised with format characters stripped, unique, so a
  second ticket whose id only looks like an existing one (`ZW-1` and `ZW-1\\u200b`) is
  refused. Existing rows get their key here; a row whose key is already taken (a
  look-alike stored before this revision) keeps NULL and stays as it is.
- `tickets.time_suspect`: the source gave a creation time too far in the future.
- `tickets.erased_at`: when retention or `triage-bot forget` erased the text.
- `source_state.suspect_times`: how many such rows the source delivered (on /healthz).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from bot.tickets import id_key

revision = "0008_data_guard"
down_revision = "0006_ownership"
branch_labels = None
depends_on = "0004_source"


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("id_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
        batch_op.add_column(
            sa.Column("time_suspect", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("erased_at", sqlmodel.sql.sqltypes.UTCDateTime()))
        batch_op.create_index(batch_op.f("ix_tickets_erased_at"), ["erased_at"], unique=False)
    tickets = sa.table("tickets", sa.column("id", sa.String), sa.column("id_key", sa.String))
    connection = op.get_bind()
    taken: set[str] = set()
    updates = []
    for (ticket_id,) in connection.execute(sa.select(tickets.c.id).order_by(tickets.c.id)):
        key = id_key(ticket_id)
        if key and key not in taken:
            taken.add(key)
            updates.append({"tid": ticket_id, "key": key})
    for start in range(0, len(updates), 1000):
        connection.execute(
            tickets.update()
            .where(tickets.c.id == sa.bindparam("tid"))
            .values(id_key=sa.bindparam("key")),
            updates[start : start + 1000],
        )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_tickets_id_key", ["id_key"])
    with op.batch_alter_table("source_state", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("suspect_times", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("source_state", schema=None) as batch_op:
        batch_op.drop_column("suspect_times")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint("uq_tickets_id_key", type_="unique")
        batch_op.drop_index(batch_op.f("ix_tickets_erased_at"))
        batch_op.drop_column("erased_at")
        batch_op.drop_column("time_suspect")
        batch_op.drop_column("id_key")
