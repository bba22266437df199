"""Attachment owners: which issue (and project) each attachment Jiragate handed an agent was
on, so `/attachment/{id}` can be scoped by project (store.attachments).

Revision ID: 0009_attachment_owners
Revises: 0008_binding
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_attachment_owners"
down_revision = "0008_binding"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachment_owners",
        sa.Column("attachment_id", sa.String(20), primary_key=True),
        sa.Column("issue_id", sa.String(64), nullable=False),
        sa.Column("issue_key", sa.String(64), nullable=False),
        sa.Column("project_key", sa.String(20), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("attachment_owners")
