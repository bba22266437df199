"""Who executes an approved action: Jiragate's workers, or the external requester.

Approvals requested through the Cheqpoint-compatible API (`/api/approvals/request`) are
decided in the inbox but executed by whoever asked, as with Cheqpoint itself; workers must
never claim them.

Revision ID: 0002_executor
Revises: 0001_initial
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_executor"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.add_column(
            sa.Column("executor", sa.String(16), nullable=False, server_default="jiragate")
        )


def downgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("executor")
