"""Budget locks and the rows a budget's usage is counted from.

A decision that some budget counts runs in one transaction that (1) locks the
`budget_locks` row of each (budget, scope) it touches, in one fixed order so two decisions
never wait on each other crosswise, (2) reads the actions those budgets count in their
windows, and (3) records the new action. On PostgreSQL the lock is `SELECT … FOR UPDATE`
on the row (created first with `INSERT … ON CONFLICT DO NOTHING`); on SQLite the
transaction's `BEGIN IMMEDIATE` already holds the database's write lock. Either way, a
second decision on the same scope, on any replica, counts only after the first has
recorded its action (or rolled back), so a budget is never overrun by concurrency.

What counts is derived from the actions themselves, never kept as a separate total: an
action counts while it is pending, approved, executing or executed, with its effective
payload (12 tickets approved as 4 count 4); a partly executed one counts the issues it did
create or change (4 asked, 3 created: 3). Rejected, expired, failed and denied actions
count nothing, so a reservation is released by the status change that ends it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, select

from jiragate.store.models import ActionRecord, ActionStatus, BudgetLock

#: The transaction a `Store.budget_transaction` yields (the gateway passes it back to the
#: store's counting and recording calls, never using it itself).
BudgetTransaction: TypeAlias = Session

#: The statuses whose actions use budget: the work is done, running, or reserved for it.
COUNTING_STATUSES = (
    ActionStatus.PENDING_APPROVAL,
    ActionStatus.APPROVED,
    ActionStatus.EXECUTING,
    ActionStatus.EXECUTED,
    ActionStatus.PARTIALLY_EXECUTED,
)


@dataclass(frozen=True, slots=True)
class CountedAction:
    """An action a budget may count: what it asked for, what was approved, and when."""

    id: str
    agent: str
    action: str
    details: dict[str, Any]
    effective_details: dict[str, Any] | None
    created_at: datetime
    status: str
    result: dict[str, Any] | None

    @property
    def payload(self) -> dict[str, Any]:
        """What runs (or ran): the effective payload once approved, else what was asked."""
        return self.effective_details if self.effective_details is not None else self.details

    @property
    def issues_done(self) -> int | None:
        """How many issues a partly executed action created or changed (its result says);
        None for any other status, whose payload is what counts."""
        if self.status != ActionStatus.PARTIALLY_EXECUTED.value:
            return None
        result = self.result or {}
        return len(result.get("created") or []) + len(result.get("updated") or [])


def lock_scopes(session: Session, keys: Collection[tuple[str, str]], now: datetime) -> None:
    """Take the lock of every (budget, scope) in `keys` for this transaction."""
    ordered = sorted(set(keys))
    if not ordered or session.get_bind().dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE holds the database's write lock already
    rows = [{"budget": b, "scope": s, "created_at": now} for b, s in ordered]
    session.execute(postgresql.insert(BudgetLock).values(rows).on_conflict_do_nothing())
    for budget, scope in ordered:  # one at a time, in order: no crosswise waits
        session.execute(
            select(BudgetLock.budget)
            .where(BudgetLock.budget == budget, BudgetLock.scope == scope)
            .with_for_update()
        )


def counted_actions(
    session: Session,
    *,
    actions: Sequence[str],
    since: datetime,
    agent: str | None = None,
    until: datetime | None = None,
) -> list[CountedAction]:
    """Actions named `actions`, created from `since` (and before `until`), that use budget;
    only `agent`'s when given. Oldest first."""
    c = ActionRecord.__table__.c  # type: ignore[attr-defined]
    columns = (c.id, c.agent, c.action, c.details, c.effective_details, c.created_at, c.status)
    query = sa.select(*columns, c.result_json).where(
        c.action.in_(list(actions)),
        c.created_at >= since,
        c.status.in_(COUNTING_STATUSES),
    )
    if agent is not None:
        query = query.where(c.agent == agent)
    if until is not None:
        query = query.where(c.created_at < until)
    rows = session.execute(query.order_by(c.created_at, c.id))
    return [CountedAction(*row) for row in rows]
