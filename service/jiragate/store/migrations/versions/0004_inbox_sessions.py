"""Server-side inbox sessions and the sign-in failure counters.

A session cookie holds a random id; its SHA-256 is the row's key, so signing out (deleting the
row) ends the session on every replica, and the table alone signs nobody in. Failed sign-ins
are counted per reviewer name and per client address, shared by every replica, so the inbox
can throttle password guessing.

Revision ID: 0004_inbox_sessions
Revises: 0003_policy_state
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_inbox_sessions"
down_revision = "0003_policy_state"
branch_labels = None
depends_on = None


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "inbox_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("reviewer", sa.String(200), nullable=False),
        _ts("created_at"),
        _ts("last_seen_at"),
    )
    op.create_index("ix_inbox_sessions_reviewer", "inbox_sessions", ["reviewer"])
    op.create_index("ix_inbox_sessions_created_at", "inbox_sessions", ["created_at"])
    op.create_index("ix_inbox_sessions_last_seen_at", "inbox_sessions", ["last_seen_at"])
    op.create_table(
        "inbox_signin_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _ts("at"),
    )
    op.create_index("ix_inbox_signin_attempts_key_at", "inbox_signin_attempts", ["key", "at"])
    op.create_index("ix_inbox_signin_attempts_at", "inbox_signin_attempts", ["at"])


def downgrade() -> None:
    op.drop_table("inbox_signin_attempts")
    op.drop_table("inbox_sessions")
