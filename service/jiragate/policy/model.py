"""The policy model: review groups, rules, their conditions, and the defaults.

Plain frozen data, built by the loader and read by the compiler, the linter and the
explainer. Every element remembers where it was written (file and line) so that any message
about it can point there.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from jiragate.catalog.priorities import JIRA_PRIORITIES, PriorityOrder


class Effect(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    REQUIRE_APPROVAL = "require_approval"


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    line: int | None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class CheqpointRouting:
    """How a group's requests are made routable in Cheqpoint (its API has no group field)."""

    connection_key_env: str | None = None
    action_prefix: str = ""
    min_risk_score: float | None = None


@dataclass(frozen=True, slots=True)
class ReviewGroup:
    name: str
    description: str
    members: tuple[str, ...] = ()
    min_approvals: int = 1
    approval_timeout_seconds: int = 24 * 3600
    #: What an approved action whose targets changed before it ran does: "review" (back to
    #: the reviewers, marked "changed since approval") or "fail" (fails with the change).
    on_change: str = "review"
    cheqpoint: CheqpointRouting = field(default_factory=CheqpointRouting)
    location: Location = Location("<memory>", None)


# --------------------------------------------------------------------------- conditions


@dataclass(frozen=True, slots=True)
class Predicate:
    """One test of one fact: `details.priority: {at_least: High}` is field `details.priority`,
    operator `at_least`, argument `"High"`."""

    field: str
    operator: str
    argument: Any
    path: str  # where it is written inside the rule, e.g. "match.all[0].details.priority"
    location: Location

    def describe(self) -> str:
        return f"{self.field} {self.operator} {self.argument!r}"


@dataclass(frozen=True, slots=True)
class AllOf:
    conditions: tuple[Condition, ...]
    path: str


@dataclass(frozen=True, slots=True)
class AnyOf:
    conditions: tuple[Condition, ...]
    path: str


@dataclass(frozen=True, slots=True)
class Not:
    condition: Condition
    path: str


Condition: TypeAlias = Predicate | AllOf | AnyOf | Not


def leaf_predicates(condition: Condition) -> list[Predicate]:
    """Every predicate in a condition tree, in the order written."""
    if isinstance(condition, Predicate):
        return [condition]
    if isinstance(condition, Not):
        return leaf_predicates(condition.condition)
    return [leaf for child in condition.conditions for leaf in leaf_predicates(child)]


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    match: AllOf
    decision: Effect
    description: str = ""
    route_to: str | None = None
    reason: str = ""
    priority: int = 0
    location: Location = Location("<memory>", None)
    index: int = 0  # position in its file's `rules` list, for messages like rules[3]
    #: A shadow rule is evaluated and recorded ("would have denied") but never decides.
    shadow: bool = False
    #: The reason a decision gives: `reason`, else `description`, else "rule <id>". Derived
    #: once here rather than per decision (every matched rule's reason is reported).
    effective_reason: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        reason = self.reason or self.description or f"rule {self.id}"
        object.__setattr__(self, "effective_reason", reason)


@dataclass(frozen=True, slots=True)
class Defaults:
    """What an action no rule matches gets. Reads are never defaulted to allow."""

    write: Effect = Effect.DENY
    destructive: Effect = Effect.DENY
    route_to: str | None = None
    reason: str = ""
    location: Location | None = None


#: What a budget counts per counted action: its issues (`count`) or the action itself.
BUDGET_UNITS = ("issues", "actions")
#: What a budget's usage may be kept apart by.
BUDGET_SCOPES = ("agent", "project")


@dataclass(frozen=True, slots=True)
class Budget:
    """How much of some actions may run in a rolling window: `limit` units (issues, or
    actions) per `window_seconds`, kept apart per agent and/or project. The policy only
    declares it; the gateway counts what executed and hands the engine the usage."""

    name: str
    description: str
    actions: tuple[str, ...]
    limit: int
    window_seconds: int
    per: tuple[str, ...] = ("agent",)
    counts: str = "issues"
    location: Location = Location("<memory>", None)

    def units(self, count: int) -> int:
        """What one action of `count` issues uses of this budget."""
        return count if self.counts == "issues" else 1


@dataclass(frozen=True, slots=True)
class PolicyModel:
    groups: dict[str, ReviewGroup]
    rules: tuple[Rule, ...]
    defaults: Defaults
    revision: str
    files: tuple[str, ...]
    budgets: dict[str, Budget] = field(default_factory=dict)
    #: The site's priorities, highest first, as the set declares them (`priorities:`);
    #: `at_least` / `at_most` compare in this order.
    priorities: PriorityOrder = JIRA_PRIORITIES
    #: Where `priorities:` is declared; None when the set keeps Jira's default five.
    priorities_at: Location | None = None
