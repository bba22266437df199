"""Initial schema: actions, approval_votes, executions, audit_events.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "actions",
        sa.Column("id", sa.String(64), primary_key=True),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("justification", sa.Text),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("effective_details", sa.JSON),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("review_group", sa.String(200)),
        sa.Column("determining_rule", sa.String(200)),
        sa.Column("decision_json", sa.JSON, nullable=False),
        sa.Column("policy_revision", sa.String(100)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("request_hash", sa.String(64)),
        sa.Column("approval_backend", sa.String(32)),
        sa.Column("approval_ref", sa.String(200)),
        sa.Column("min_approvals", sa.Integer, nullable=False),
        sa.Column("reviewers", sa.JSON, nullable=False),
        sa.Column("decision_note", sa.Text),
        _ts("expires_at"),
        _ts("decided_at"),
        sa.Column("claimed_by", sa.String(200)),
        _ts("claim_expires_at"),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("result_json", sa.JSON),
        sa.Column("error", sa.Text),
        sa.UniqueConstraint("agent", "idempotency_key", name="uq_actions_agent_idempotency_key"),
    )
    op.create_index("ix_actions_agent", "actions", ["agent"])
    op.create_index("ix_actions_action", "actions", ["action"])
    op.create_index("ix_actions_review_group", "actions", ["review_group"])
    op.create_index("ix_actions_status", "actions", ["status"])
    op.create_index("ix_actions_approval_ref", "actions", ["approval_ref"])
    op.create_index("ix_actions_status_updated", "actions", ["status", "updated_at"])
    op.create_index("ix_actions_created_id", "actions", ["created_at", "id"])

    op.create_table(
        "approval_votes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("action_id", sa.String(64), sa.ForeignKey("actions.id"), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("modified_details", sa.JSON),
        sa.Column("note", sa.Text),
        _ts("created_at", nullable=False),
        sa.UniqueConstraint("action_id", "reviewer", name="uq_approval_votes_action_reviewer"),
    )
    op.create_index("ix_approval_votes_action_id", "approval_votes", ["action_id"])

    op.create_table(
        "executions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("action_id", sa.String(64), sa.ForeignKey("actions.id"), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(200), nullable=False),
        _ts("started_at", nullable=False),
        _ts("finished_at"),
        sa.Column("outcome", sa.String(32)),
        sa.Column("result_json", sa.JSON),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_executions_action_id", "executions", ["action_id"])

    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        _ts("at", nullable=False),
        sa.Column("action_id", sa.String(64)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_events_action_id", "audit_events", ["action_id"])


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("executions")
    op.drop_table("approval_votes")
    op.drop_table("actions")
