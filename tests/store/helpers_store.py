"""Small builders shared by the store and approval tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jiragate.store import ActionRecord, ActionStatus, Store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand (no sleeps, no timing)."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def new_action(store: Store, *, status: ActionStatus = ActionStatus.APPROVED, **overrides: Any):
    fields: dict[str, Any] = {
        "agent": "agent-1",
        "action": "jira_create_ticket",
        "summary": "Create one bug",
        "details": {"projectKey": "ENG", "summary": "Crash on login", "issueType": "Bug"},
        "kind": "write",
        "decision": "require_approval",
        "status": status,
        **overrides,
    }
    return store.create_action(**fields).action


def seed_actions(store: Store, count: int, *, status: ActionStatus) -> list[str]:
    """Insert `count` actions in one transaction (fast), returning their ids."""
    records = [
        ActionRecord(
            agent="agent-1",
            action="jira_create_ticket",
            summary=f"ticket {i}",
            details={"projectKey": "ENG", "n": i},
            kind="write",
            decision="require_approval",
            status=status,
        )
        for i in range(count)
    ]
    with store.transaction() as session:
        session.add_all(records)
    return [record.id for record in records]
