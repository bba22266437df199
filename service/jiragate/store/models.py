"""The tables: actions, approval votes, executions and the audit trail.

Every datetime is timezone-aware UTC in Python. SQLite has no timezone type, so `UTCDateTime`
stores naive UTC there and re-attaches UTC on the way out; on PostgreSQL it is `timestamptz`.
Statuses are stored as plain strings (no database enum type) so a new status needs no
`ALTER TYPE` migration.
"""

from __future__ import annotations

import enum
import functools
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import instrumentation
from sqlmodel import JSON, Field, SQLModel

Row = TypeVar("Row", bound=SQLModel)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend; naive datetimes are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware (UTC) datetime")
        value = value.astimezone(UTC)
        # SQLite compares datetimes as text: store them naive UTC in one fixed format.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@functools.cache
def _new_instance(model: type[Row]) -> Callable[[], Row]:
    # The constructor configures the mappers on first use; an instance made without it must
    # find them configured (each attribute's loader is set up then).
    sa.orm.configure_mappers()
    factory: Callable[[], Row] = instrumentation.manager_of_class(model).new_instance
    return factory


def build_row(model: type[Row], values: Mapping[str, Any]) -> Row:
    """A row of table `model` from a value for every one of its fields, built the way
    SQLAlchemy builds the rows it loads (an instrumented instance, its values in place).

    For table models SQLModel's `__init__` validates nothing: it sets each field through the
    instrumented `__setattr__`, ~260 µs for an `ActionRecord` on the request path, against
    ~10 µs here. The result is the same object (tests/store/test_build_row.py compares them
    field by field and round-trips both through a session). Every field must be given: a
    forgotten one is refused rather than left unset."""
    fields = model.model_fields
    if values.keys() != fields.keys():
        missing = ", ".join(sorted(fields.keys() - values.keys())) or "none"
        unknown = ", ".join(sorted(values.keys() - fields.keys())) or "none"
        raise TypeError(f"{model.__name__} row: missing fields {missing}; unknown {unknown}")
    row: Row = _new_instance(model)()
    row.__dict__.update(values)
    # What pydantic's own constructor leaves on a model that has no extras or private fields.
    object.__setattr__(row, "__pydantic_fields_set__", set(values))
    object.__setattr__(row, "__pydantic_extra__", None)
    object.__setattr__(row, "__pydantic_private__", None)
    return row


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_action_id() -> str:
    return f"act_{uuid.uuid4().hex}"


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class ActionStatus(enum.StrEnum):
    """Where an action is in its life. See docs/audit.md for the transitions."""

    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    EXECUTING = "executing"
    EXECUTED = "executed"
    PARTIALLY_EXECUTED = "partially_executed"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    DENIED = "denied"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {
        ActionStatus.EXECUTED,
        ActionStatus.PARTIALLY_EXECUTED,
        ActionStatus.FAILED,
        ActionStatus.REJECTED,
        ActionStatus.EXPIRED,
        ActionStatus.DENIED,
    }
)


EXECUTOR_JIRAGATE = "jiragate"
EXECUTOR_EXTERNAL = "external"


class Verdict(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


def _status_type() -> sa.Enum:
    # native_enum=False: a VARCHAR column, but values load back as ActionStatus members.
    return sa.Enum(
        ActionStatus,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class ActionRecord(SQLModel, table=True):
    """One proposed action, from submission to its final status."""

    __tablename__ = "actions"
    __table_args__ = (
        sa.UniqueConstraint("agent", "idempotency_key", name="uq_actions_agent_idempotency_key"),
        sa.Index("ix_actions_status_updated", "status", "updated_at"),
        sa.Index("ix_actions_created_id", "created_at", "id"),
        # Budget usage: one agent's actions of some names in a window (gateway/budgets.py).
        sa.Index("ix_actions_agent_action_created", "agent", "action", "created_at"),
    )

    id: str = Field(default_factory=new_action_id, primary_key=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

    # What the agent asked for.
    agent: str = Field(max_length=200, index=True)
    action: str = Field(max_length=100, index=True)
    summary: str = Field(default="", sa_type=sa.Text)
    justification: str | None = Field(default=None, sa_type=sa.Text)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    #: What will run / did run: `details` with the approved edits applied.
    effective_details: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    kind: str = Field(max_length=20)

    # What the policy decided.
    decision: str = Field(max_length=32)
    review_group: str | None = Field(default=None, max_length=200, index=True)
    determining_rule: str | None = Field(default=None, max_length=200)
    decision_json: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    policy_revision: str | None = Field(default=None, max_length=100)

    status: ActionStatus = Field(sa_type=_status_type(), nullable=False, index=True)

    # Idempotency: one action per (agent, key); the hash tells a replay from a conflict.
    idempotency_key: str | None = Field(default=None, max_length=255)
    request_hash: str | None = Field(default=None, max_length=64)

    # Approval.
    approval_backend: str | None = Field(default=None, max_length=32)
    approval_ref: str | None = Field(default=None, max_length=200, index=True)
    min_approvals: int = Field(default=1)
    reviewers: list[str] = Field(default_factory=list, sa_type=JSON)
    decision_note: str | None = Field(default=None, sa_type=sa.Text)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: What an approval is bound to (gateway/binding.py): the snapshot of the targets the
    #: reviewers saw (with its hash), the effective payload's hash once approved, the policy
    #: revision, what a change does (`on_change`), and the last change found, if any.
    binding: dict[str, Any] | None = Field(default=None, sa_type=JSON)

    #: "jiragate" (our workers execute it) or "external" (approval only: the requester of a
    #: Cheqpoint-compatible approval executes it itself; workers never claim it).
    executor: str = Field(default=EXECUTOR_JIRAGATE, max_length=16)

    # Execution (a lease, so a crashed worker's claim runs out and the action is retried).
    claimed_by: str | None = Field(default=None, max_length=200)
    claim_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    result_json: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    error: str | None = Field(default=None, sa_type=sa.Text)

    @property
    def final(self) -> bool:
        return ActionStatus(self.status).is_final


class ApprovalVote(SQLModel, table=True):
    """One reviewer's verdict on one action (a reviewer votes once)."""

    __tablename__ = "approval_votes"
    __table_args__ = (
        sa.UniqueConstraint("action_id", "reviewer", name="uq_approval_votes_action_reviewer"),
    )

    id: int | None = Field(default=None, primary_key=True)
    action_id: str = Field(foreign_key="actions.id", max_length=64, index=True)
    reviewer: str = Field(max_length=200)
    verdict: str = Field(max_length=16)
    modified_details: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    note: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Execution(SQLModel, table=True):
    """One attempt at running an action against Jira."""

    __tablename__ = "executions"

    id: str = Field(default_factory=lambda: new_id("exe"), primary_key=True, max_length=64)
    action_id: str = Field(foreign_key="actions.id", max_length=64, index=True)
    attempt: int
    worker: str = Field(max_length=200)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=32)
    result_json: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    error: str | None = Field(default=None, sa_type=sa.Text)


class AuditEvent(SQLModel, table=True):
    """One link of the hash chain. Only `audit.append` writes this table."""

    __tablename__ = "audit_events"

    # Assigned as last seq + 1 under a lock, so the sequence has no gaps: a gap is a deletion.
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    id: str = Field(default_factory=lambda: new_id("evt"), max_length=64, unique=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    action_id: str | None = Field(default=None, max_length=64, index=True)
    actor: str = Field(max_length=200)
    type: str = Field(max_length=100)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


ACTIVE_POLICY = "active"


class PolicyState(SQLModel, table=True):
    """The policy revision every deciding process must run: one row, `name = "active"`.

    The database, not any process's files, says which revision is active, so replicas, HTTP
    worker processes and `jiragate worker` converge on one set (see docs/architecture.md).
    The row exists from the migration on; `revision` is NULL until a process first records
    its set."""

    __tablename__ = "policy_state"

    name: str = Field(default=ACTIVE_POLICY, primary_key=True, max_length=32)
    revision: str | None = Field(default=None, max_length=100)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    activated_by: str | None = Field(default=None, max_length=200)


class InboxSession(SQLModel, table=True):
    """A signed-in inbox session. Only its id's SHA-256 is stored: reading the table does not
    let anyone sign in. Deleting the row ends the session on every replica at once."""

    __tablename__ = "inbox_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    reviewer: str = Field(max_length=200, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    last_seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class SignInAttempt(SQLModel, table=True):
    """A sign-in failure (or one being checked) counted against `key` (`account:<name>` or
    `client:<address>`); `kind` "notice" marks that a throttle on `key` was audited."""

    __tablename__ = "inbox_signin_attempts"
    __table_args__ = (sa.Index("ix_inbox_signin_attempts_key_at", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300)
    kind: str = Field(max_length=16)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class Notification(SQLModel, table=True):
    """One message to send: an action's event (`request`, `reminder-50`, `escalation`,
    `decision`) on one channel. The unique key is what makes it one message per action per
    channel per event however many replicas plan it; the lease is what makes one replica send
    it (a crashed sender's claim runs out and another takes it over)."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("action_id", "channel", "event", name="uq_notifications_key"),
        sa.Index("ix_notifications_status_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    action_id: str = Field(max_length=64, index=True)
    channel: str = Field(max_length=100)
    kind: str = Field(max_length=16)
    event: str = Field(max_length=32)
    #: pending, sent or failed.
    status: str = Field(max_length=16)
    attempts: int = Field(default=0)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    claimed_by: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, sa_type=sa.Text)
    #: What the channel answered that a later event needs (Slack: channel and message ts).
    ref: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class SlackRequestSeen(SQLModel, table=True):
    """A verified Slack request's signature, kept for the 5-minute window so that a replay
    of it (to any replica) is refused."""

    __tablename__ = "slack_requests_seen"

    signature_hash: str = Field(primary_key=True, max_length=64)
    seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class BudgetLock(SQLModel, table=True):
    """One row per (budget, scope) ever decided: the row a decision locks (FOR UPDATE on
    PostgreSQL; SQLite's BEGIN IMMEDIATE holds the whole database) while it counts the
    budget's usage and records the action, so concurrent decisions on one budget scope, on
    any replica, are taken one after another and never overrun it together."""

    __tablename__ = "budget_locks"

    budget: str = Field(primary_key=True, max_length=64)
    scope: str = Field(primary_key=True, max_length=300)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class AttachmentOwner(SQLModel, table=True):
    """Which issue an attachment was on when Jiragate last handed it to an agent (an issue
    read or search whose answer listed it). Jira's attachment metadata names no issue, so
    this is the only way to scope `/attachment/{id}` by project (store.attachments); the
    gateway checks the issue with Jira again before it trusts the row."""

    __tablename__ = "attachment_owners"

    attachment_id: str = Field(primary_key=True, max_length=20)
    issue_id: str = Field(max_length=64, nullable=False)  # its id, else its key
    issue_key: str = Field(max_length=64, nullable=False)
    project_key: str = Field(max_length=20, nullable=False)
    #: When this owner was first recorded: a sighting that changes nothing writes nothing.
    seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
