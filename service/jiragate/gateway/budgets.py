"""Budget usage: what the policy's budgets have used, counted from the store.

The policy declares budgets and tests `over_budget`; it never counts. Here the gateway turns
recorded actions into the usage facts the engine takes (`PolicySet.evaluate(usage=…)`):

- a budget's *scope* for one action is its agent and/or project (the budget's `per`);
- its *usage* is the units of every counted action in that scope whose submission lies in
  the rolling window (see jiragate.store.budgets for what counts, and how the lock makes
  the count and the new action one step);
- *frees up at* is when enough of those leave the window for this action to fit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jiragate.catalog import count_of, project_of
from jiragate.policy.engine import BudgetUsage, PolicySet
from jiragate.policy.model import Budget
from jiragate.store import Store
from jiragate.store.budgets import BudgetTransaction, CountedAction


def scope_of(budget: Budget, agent: str | None, project: str | None) -> str:
    """The lock and report key of one budget scope, e.g. `agent=log-bot,project=ENG`;
    `*` for a budget shared by everyone."""
    parts = []
    if "agent" in budget.per:
        parts.append(f"agent={agent or ''}")
    if "project" in budget.per:
        parts.append(f"project={project or ''}")
    return ",".join(parts) or "*"


def lock_keys(
    budgets: Iterable[Budget], agent: str | None, project: str | None
) -> list[tuple[str, str]]:
    return [(b.name, scope_of(b, agent, project)) for b in budgets]


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def units_of(budget: Budget, row: CountedAction) -> int:
    """The units `row` uses of `budget`: its payload's issues, or, when it was partly
    executed, the issues it did create or change (counted on what executed)."""
    issues = count_of(row.action, row.payload)
    done = row.issues_done
    return budget.units(issues if done is None else min(issues, done))


@dataclass(frozen=True, slots=True)
class ScopeUsage:
    """One budget scope's usage in its window."""

    agent: str | None
    project: str | None
    used: int
    oldest: datetime | None  # the oldest counted action: the next to leave the window

    def as_dict(self, budget: Budget) -> dict[str, Any]:
        frees = self.oldest + timedelta(seconds=budget.window_seconds) if self.oldest else None
        return {
            "agent": self.agent,
            "project": self.project,
            "used": self.used,
            "limit": budget.limit,
            "remaining": max(budget.limit - self.used, 0),
            "next_frees_at": _iso(frees) if frees else None,
        }


class BudgetCounter:
    """Counts budget usage for the gateway (and for replay, as of a past moment)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _rows(
        self,
        budget: Budget,
        *,
        agent: str | None,
        project: str | None,
        now: datetime,
        session: BudgetTransaction | None,
        exclude: str | None = None,
    ) -> list[tuple[CountedAction, int]]:
        """The counted actions in one scope's window with their units, oldest first."""
        rows = self._store.counted_actions(
            actions=budget.actions,
            since=now - timedelta(seconds=budget.window_seconds),
            until=now if exclude is not None else None,
            agent=agent if "agent" in budget.per else None,
            session=session,
        )
        out = []
        for row in rows:
            if row.id == exclude:
                continue
            payload = row.payload
            if "project" in budget.per and project_of(payload) != project:
                continue
            out.append((row, units_of(budget, row)))
        return out

    def usage(
        self,
        policies: PolicySet,
        *,
        action: str,
        details: Mapping[str, Any],
        agent: str | None,
        now: datetime,
        session: BudgetTransaction | None = None,
        exclude: str | None = None,
    ) -> dict[str, BudgetUsage]:
        """The usage of every budget counting `action`, in this action's scopes, as of
        `now` (in `session`, under its budget locks, when given). `exclude` leaves one
        recorded action out (replaying it: it was not there when it was decided)."""
        project = project_of(details)
        count = count_of(action, details)
        usage: dict[str, BudgetUsage] = {}
        for budget in policies.budgets_for(action):
            rows = self._rows(
                budget, agent=agent, project=project, now=now, session=session, exclude=exclude
            )
            used = sum(units for _, units in rows)
            usage[budget.name] = BudgetUsage(
                used, _frees_at(budget, rows, used, budget.units(count))
            )
        return usage

    def report(
        self,
        policies: PolicySet,
        *,
        now: datetime,
        agent: str | None = None,
        project: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every budget of the set with its usage per scope (optionally one agent's or one
        project's), for `GET /v1/budgets`."""
        out = []
        for budget in sorted(policies.budgets.values(), key=lambda b: b.name):
            rows = self._store.counted_actions(
                actions=budget.actions,
                since=now - timedelta(seconds=budget.window_seconds),
                agent=agent,
            )
            scopes: dict[tuple[str | None, str | None], ScopeUsage] = {}
            for row in rows:
                payload = row.payload
                row_project = project_of(payload)
                if project is not None and row_project != project:
                    continue
                key = (
                    row.agent if "agent" in budget.per else None,
                    row_project if "project" in budget.per else None,
                )
                units = units_of(budget, row)
                seen = scopes.get(key)
                if seen is None:
                    scopes[key] = ScopeUsage(key[0], key[1], units, row.created_at)
                else:
                    scopes[key] = ScopeUsage(key[0], key[1], seen.used + units, seen.oldest)
            out.append(
                {
                    "budget": budget.name,
                    "description": budget.description,
                    "actions": list(budget.actions),
                    "per": list(budget.per),
                    "counts": budget.counts,
                    "limit": budget.limit,
                    "window_seconds": budget.window_seconds,
                    "usage": [
                        scopes[key].as_dict(budget)
                        for key in sorted(scopes, key=lambda k: (k[0] or "", k[1] or ""))
                    ],
                }
            )
        return out


def _frees_at(
    budget: Budget, rows: Sequence[tuple[CountedAction, int]], used: int, units: int
) -> str | None:
    """When enough counted units leave the window for `units` more to fit; None when they
    fit now, or never will (an action bigger than the whole budget)."""
    if used + units <= budget.limit or units > budget.limit:
        return None
    left = used
    for row, row_units in rows:
        left -= row_units
        if left + units <= budget.limit:
            return _iso(row.created_at + timedelta(seconds=budget.window_seconds))
    return None  # pragma: no cover - the whole window leaving always frees enough
