"""The notification outbox and the Slack replay guard.

`notifications`: one row per (action, channel, event), claimed with a lease, so exactly one
replica sends each message and a crashed sender's message is sent by another.
`slack_requests_seen`: signatures of verified Slack requests within the 5-minute window.

Revision ID: 0005_notifications
Revises: 0004_inbox_sessions
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_notifications"
down_revision = "0004_inbox_sessions"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("action_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        _ts("created_at"),
        _ts("next_attempt_at"),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        _ts("lease_until", nullable=True),
        _ts("sent_at", nullable=True),
        sa.Column("outcome", sa.Text, nullable=True),
        sa.Column("ref", sa.JSON, nullable=True),
        sa.UniqueConstraint("action_id", "channel", "event", name="uq_notifications_key"),
    )
    op.create_index("ix_notifications_action_id", "notifications", ["action_id"])
    op.create_index("ix_notifications_status_due", "notifications", ["status", "next_attempt_at"])
    op.create_table(
        "slack_requests_seen",
        sa.Column("signature_hash", sa.String(64), primary_key=True),
        _ts("seen_at"),
    )
    op.create_index("ix_slack_requests_seen_seen_at", "slack_requests_seen", ["seen_at"])


def downgrade() -> None:
    op.drop_table("slack_requests_seen")
    op.drop_table("notifications")
