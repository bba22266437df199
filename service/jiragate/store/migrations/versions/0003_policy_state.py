"""The active policy revision, shared by every process that decides.

One row (`name = 'active'`), created here so that activating a revision is always an UPDATE
of an existing row: two replicas starting together never race to insert it.

Revision ID: 0003_policy_state
Revises: 0002_executor
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_policy_state"
down_revision = "0002_executor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "policy_state",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("revision", sa.String(100)),
        sa.Column("activated_at", sa.DateTime(timezone=True)),
        sa.Column("activated_by", sa.String(200)),
    )
    op.bulk_insert(table, [{"name": "active"}])


def downgrade() -> None:
    op.drop_table("policy_state")
