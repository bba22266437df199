"""Budgets: the per-(budget, scope) lock rows, and an index to count an agent's usage.

A budget decision locks its `budget_locks` row, counts the budget's usage from `actions`
and records the new action in one transaction (see jiragate.store.budgets).

Revision ID: 0006_budgets
Revises: 0004_inbox_sessions
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_budgets"
down_revision = "0005_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budget_locks",
        sa.Column("budget", sa.String(64), primary_key=True),
        sa.Column("scope", sa.String(300), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_actions_agent_action_created", "actions", ["agent", "action", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_actions_agent_action_created", table_name="actions")
    op.drop_table("budget_locks")
