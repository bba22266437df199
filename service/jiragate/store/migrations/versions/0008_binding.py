"""Approvals bound to what the reviewer saw: `actions.binding` (snapshot, payload hash, policy
revision, what a change does).

Revision ID: 0008_binding
Revises: 0006_budgets
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_binding"
down_revision = "0006_budgets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.add_column(sa.Column("binding", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("binding")
