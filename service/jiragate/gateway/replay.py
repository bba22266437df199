"""Replay recorded traffic against another policy set: which decisions would change.

`jiragate replay --policies DIR` reads the recorded actions (read-only: it never migrates
or writes the database it reads), re-evaluates each one's request, as the agent sent it,
with the candidate set, and reports every action whose decision (or review group) would
differ, with totals. A policy change can so be reviewed against real traffic before it is
deployed (docs/operations.md, "Replaying traffic before a policy change").

Budgets are replayed as of each action's submission: the usage the candidate set's budgets
would have seen then, counted from the actions recorded before it (with their statuses as
they are now: an action rejected since no longer counts). So replaying under a new budget
shows which actions it would have denied.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jiragate.catalog import ActionRequest
from jiragate.errors import ActionError
from jiragate.gateway.budgets import BudgetCounter
from jiragate.policy.engine import Decision, PolicySet
from jiragate.store import ActionRecord, Store, make_engine
from jiragate.store.db import safe_url


@dataclass(frozen=True, slots=True)
class Outcome:
    decision: str
    rule: str | None
    review_group: str | None

    def describe(self) -> str:
        text = self.decision + (f" → {self.review_group}" if self.review_group else "")
        return f"{text} ({self.rule or 'defaults'})"

    def as_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "rule": self.rule, "review_group": self.review_group}


@dataclass(frozen=True, slots=True)
class Change:
    """One recorded action whose decision the candidate set would change."""

    action_id: str
    at: datetime
    action: str
    agent: str
    old: Outcome
    new: Outcome
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.action_id,
            "at": self.at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "action": self.action,
            "agent": self.agent,
            "old": self.old.as_dict(),
            "new": self.new.as_dict(),
            "reason": self.reason,
        }


@dataclass(slots=True)
class ReplayReport:
    revision: str
    replayed: int = 0
    changes: list[Change] = field(default_factory=list)
    #: Recorded actions the candidate set cannot evaluate (e.g. an action since removed).
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def totals(self) -> dict[str, Any]:
        moves = Counter(f"{c.old.decision} → {c.new.decision}" for c in self.changes)
        return {
            "replayed": self.replayed,
            "changed": len(self.changes),
            "unchanged": self.replayed - len(self.changes),
            "skipped": len(self.skipped),
            "by_change": dict(sorted(moves.items())),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy_revision": self.revision,
            "totals": self.totals(),
            "changes": [c.as_dict() for c in self.changes],
            "skipped": [{"id": i, "error": e} for i, e in self.skipped],
        }

    def text(self) -> str:
        lines = [
            f"{c.action_id} {c.action} by {c.agent}: {c.old.describe()} → {c.new.describe()}"
            for c in self.changes
        ]
        lines += [f"{action_id} skipped: {error}" for action_id, error in self.skipped]
        totals = self.totals()
        summary = (
            f"{totals['replayed']} replayed, {totals['changed']} would change, "
            f"{totals['unchanged']} unchanged, {totals['skipped']} skipped "
            f"(policy revision {self.revision})"
        )
        if totals["by_change"]:
            summary += "; " + ", ".join(f"{k}: {v}" for k, v in totals["by_change"].items())
        return "\n".join([*lines, summary])


def recorded_outcome(record: ActionRecord) -> Outcome:
    """What the recorded decision was (the group the policy chose, not a routed prefix)."""
    decided = record.decision_json or {}
    return Outcome(record.decision, record.determining_rule, decided.get("review_group"))


def decided_outcome(decision: Decision) -> Outcome:
    return Outcome(decision.decision.value, decision.determining_rule, decision.review_group)


class Replayer:
    """Recorded actions of one database, read-only. Use as a context manager."""

    def __init__(self, url: str) -> None:
        self.shown = safe_url(url)
        self._store = Store(make_engine(url, read_only=True))  # StoreError if it cannot open
        self._counter = BudgetCounter(self._store)

    def __enter__(self) -> Replayer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._store.engine.dispose()

    def records(self, since: datetime | None) -> Iterator[ActionRecord]:
        return self._store.iter_actions(since=since)

    def replay(self, policies: PolicySet, *, since: datetime | None = None) -> ReplayReport:
        report = ReplayReport(policies.revision)
        for record in self.records(since):
            try:
                request = ActionRequest(
                    record.action, record.summary, record.details, record.justification
                )
                usage = None
                if policies.budgets_for(record.action):
                    usage = self._counter.usage(
                        policies,
                        action=record.action,
                        details=record.details,
                        agent=record.agent,
                        now=record.created_at,
                        exclude=record.id,
                    )
                decision = policies.evaluate(request, agent=record.agent, usage=usage)
            except (ActionError, KeyError) as exc:  # KeyError: an action the catalog dropped
                report.skipped.append((record.id, str(exc)))
                continue
            report.replayed += 1
            old, new = recorded_outcome(record), decided_outcome(decision)
            if (old.decision, old.review_group) != (new.decision, new.review_group):
                report.changes.append(
                    Change(
                        action_id=record.id,
                        at=record.created_at,
                        action=record.action,
                        agent=record.agent,
                        old=old,
                        new=new,
                        reason=decision.reason,
                    )
                )
        return report
