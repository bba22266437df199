"""Evaluate an action against a compiled policy set: `PolicySet.evaluate(action) -> Decision`.

The combining rule lives in one small object, `CombiningRule` (after pycasbin's effectors):

1. Every rule whose conditions hold *matches*; rule order in the files never matters.
2. deny overrides require_approval, which overrides allow.
3. Among the matching rules of the winning decision, the one with the highest `priority`
   *determines* it (and, for require_approval, picks the review group). Ties go to the rule
   whose id sorts first, so the answer never depends on file or rule order.
4. No rule matched: a read is denied (reads are allowed only because a rule says so); a write
   or destructive action gets the policy's `defaults` (require_approval or deny only).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any

from jiragate.catalog import ActionKind, ActionRequest, parse_envelope
from jiragate.catalog.priorities import PriorityOrder
from jiragate.policy.compiler import ActionIndex, CompiledRule, Matches, compile_model
from jiragate.policy.explain import ConditionResult, RuleExplanation, explain_rules
from jiragate.policy.facts import Facts, build_facts
from jiragate.policy.loader import DEFAULT_POLICY_LIMITS, PolicyLimits, load_model
from jiragate.policy.model import (
    Budget,
    Effect,
    PolicyModel,
    ReviewGroup,
    Rule,
    leaf_predicates,
)

# C-level accessors for the per-decision loops over matched rules.
_RULE_OF = itemgetter(1)
_ID_OF = attrgetter("id")
_REASON_OF = attrgetter("effective_reason")
_APPROVAL = Effect.REQUIRE_APPROVAL
_PRECEDENCE = {Effect.DENY: 3, Effect.REQUIRE_APPROVAL: 2, Effect.ALLOW: 1}


@dataclass(frozen=True, slots=True)
class BudgetUsage:
    """What the gateway counted of one budget for one action's scope (its agent and/or
    project): `used` units in the window, and when enough of them leave the window for this
    action to fit (ISO 8601, None when it fits now or nothing would free up)."""

    used: int
    frees_at: str | None = None


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    """One budget as one decision saw it: used + this action's units against the limit."""

    budget: str
    used: int
    units: int
    limit: int
    window_seconds: int
    frees_at: str | None = None

    @property
    def over(self) -> bool:
        return self.used + self.units > self.limit

    def describe(self) -> str:
        text = (
            f"budget {self.budget}: {self.used} of {self.limit} used in the last "
            f"{_duration(self.window_seconds)}, this action needs {self.units}"
        )
        if self.over and self.frees_at:
            text += f"; frees up at {self.frees_at}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "used": self.used,
            "units": self.units,
            "limit": self.limit,
            "window_seconds": self.window_seconds,
            "over": self.over,
            "frees_at": self.frees_at,
        }


@dataclass(frozen=True, slots=True)
class ShadowOutcome:
    """What the decision would have been with the shadow rules enforced."""

    decision: Effect
    review_group: str | None
    determining_rule: str | None
    matched_rules: tuple[str, ...]  # the shadow rules that matched
    disagrees: bool  # another decision (or group) than the enforced one

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "review_group": self.review_group,
            "determining_rule": self.determining_rule,
            "matched_rules": list(self.matched_rules),
            "disagrees": self.disagrees,
        }


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


Usage = Mapping[str, "BudgetUsage | int"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy says about one action, and why."""

    decision: Effect
    action: str
    kind: ActionKind
    agent: str | None
    review_group: str | None
    determining_rule: str | None  # None when the defaults (or the read fallback) decided
    matched_rules: tuple[str, ...]
    reasons: tuple[str, ...]
    revision: str
    explanations: tuple[RuleExplanation, ...] | None = None
    budgets: tuple[BudgetCheck, ...] = ()  # the budgets that count this action
    shadow: ShadowOutcome | None = None  # set when a shadow rule matched

    @property
    def allowed(self) -> bool:
        return self.decision is Effect.ALLOW

    @property
    def denied(self) -> bool:
        return self.decision is Effect.DENY

    @property
    def needs_approval(self) -> bool:
        return self.decision is Effect.REQUIRE_APPROVAL

    @property
    def reason(self) -> str:
        return self.reasons[0] if self.reasons else ""

    def summary(self) -> str:
        """A few lines for a person: the decision (and its group), the deciding rule, the
        reason and every matched rule. `jiragate eval --explain` prints it before the JSON;
        any edge may show it (it names rules and policy files, never paths)."""
        outcome = self.decision.value
        if self.review_group:
            outcome += f" → {self.review_group}"
        lines = [f"decision: {outcome} ({self.action}, {self.kind.value})"]
        lines.append(f"deciding rule: {self._deciding_rule()}")
        if self.reason:
            lines.append(f"reason: {self.reason}")
        others = [rule for rule in self.matched_rules if rule != self.determining_rule]
        matched = ", ".join(self.matched_rules) if self.matched_rules else "none"
        if others and self.determining_rule:
            matched += f" ({len(others)} outranked by {self.determining_rule})"
        lines.append(f"matched rules: {matched}")
        lines.extend(check.describe() for check in self.budgets)
        if self.shadow is not None:
            shadow = self.shadow
            verdict = "disagrees" if shadow.disagrees else "agrees"
            lines.append(
                f"shadow: {shadow.decision.value} by {shadow.determining_rule} ({verdict}; "
                f"shadow rules matched: {', '.join(shadow.matched_rules)})"
            )
        return "\n".join(lines)

    def _deciding_rule(self) -> str:
        if self.determining_rule is None:
            if self.kind is ActionKind.READ:
                return "none (no rule allows this read, so it is denied)"
            return "none (no rule matched: the defaults decided)"
        where = next(
            (e.location for e in self.explanations or () if e.rule == self.determining_rule),
            "",
        )
        return f"{self.determining_rule} ({where})" if where else self.determining_rule

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "decision": self.decision.value,
            "action": self.action,
            "kind": self.kind.value,
            "agent": self.agent,
            "review_group": self.review_group,
            "determining_rule": self.determining_rule,
            "matched_rules": list(self.matched_rules),
            "reasons": list(self.reasons),
            "policy_revision": self.revision,
        }
        if self.budgets:
            out["budgets"] = [check.as_dict() for check in self.budgets]
        if self.shadow is not None:
            out["shadow"] = self.shadow.as_dict()
        if self.explanations is not None:
            out["explanations"] = [e.as_dict() for e in self.explanations]
        return out


class CombiningRule:
    """deny > require_approval > allow; highest priority, then smallest id, determines."""

    @staticmethod
    def sort_key(rule: Rule) -> tuple[int, int, str]:
        # Sorting ascending by this key puts the determining rule first.
        return (-_PRECEDENCE[rule.decision], -rule.priority, rule.id)

    def combine(self, matched: Sequence[Rule]) -> list[Rule]:
        return sorted(matched, key=self.sort_key)


class PolicySet:
    """A loaded, compiled, immutable policy set. Safe to share between threads."""

    def __init__(self, model: PolicyModel, *, combining: CombiningRule | None = None) -> None:
        self.model = model
        self.combining = combining or CombiningRule()
        # The index reports matches ranked by the combining order of the whole set, so a
        # decision sorts its few matches by integer (the order of any subset of a sorted
        # list is that subset sorted).
        enforced = replace(model, rules=tuple(r for r in model.rules if not r.shadow))
        self._enforced = enforced
        order = self.combining.combine(list(enforced.rules))
        self._index: dict[str, ActionIndex] = compile_model(enforced, order)
        # With shadow rules, a second index over every rule says what the decision would
        # be if they were enforced; without, the hot path pays nothing.
        self._shadow_ids = frozenset(r.id for r in model.rules if r.shadow)
        self._shadow_index: dict[str, ActionIndex] | None = None
        if self._shadow_ids:
            self._shadow_index = compile_model(model, self.combining.combine(list(model.rules)))
        # The budgets that count each action, so a decision looks only at its own.
        self._budgets_for: dict[str, tuple[Budget, ...]] = {}
        for budget in model.budgets.values():
            for name in budget.actions:
                self._budgets_for[name] = (*self._budgets_for.get(name, ()), budget)
        self._rules_by_id = {rule.id: rule for rule in model.rules}
        self._revision = model.revision
        self._default_route = model.defaults.route_to

    # ----------------------------------------------------------------- introspection

    @property
    def revision(self) -> str:
        return self.model.revision

    @property
    def priorities(self) -> PriorityOrder:
        """The site's priorities as the set declares them (`priorities:`), highest first."""
        return self.model.priorities

    @property
    def groups(self) -> Mapping[str, ReviewGroup]:
        return self.model.groups

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule, shadow rules included."""
        return self.model.rules

    @property
    def enforced_rules(self) -> tuple[Rule, ...]:
        """The rules that decide (every rule but the shadow ones)."""
        return self._enforced.rules

    @property
    def shadow_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.model.rules if r.shadow)

    @property
    def budgets(self) -> Mapping[str, Budget]:
        return self.model.budgets

    def budgets_for(self, action: str) -> tuple[Budget, ...]:
        """The budgets that count an action (the gateway counts their usage for it)."""
        return self._budgets_for.get(action, ())

    def rules_for(self, action: str) -> tuple[Rule, ...]:
        """The rules that can apply to an action (those its action/kind conditions admit)."""
        return self._index[action].rules

    def rule(self, rule_id: str) -> Rule:
        return self._rules_by_id[rule_id]

    # ----------------------------------------------------------------- evaluation

    def evaluate(
        self,
        action: ActionRequest | Mapping[str, Any],
        *,
        agent: str | None = None,
        explain: bool = False,
        usage: Usage | None = None,
    ) -> Decision:
        """Decide one action. A mapping is validated as an envelope first (and may raise
        UnknownActionError or InvalidDetailsError); an ActionRequest is taken as valid.

        `usage` is what the budgets that count this action have used in their windows for
        its agent/project (by budget name; a plain int is `used`): facts the gateway counts
        from the store. A budget not given counts as unused."""
        request = action if isinstance(action, ActionRequest) else parse_envelope(action)
        spec = request.spec  # one catalog lookup per decision
        facts = build_facts(request, agent, spec)
        budgets = self._budgets_for.get(request.action)
        checks: tuple[BudgetCheck, ...] = ()
        if budgets:
            checks = _budget_checks(budgets, facts["count"], usage or {})
            facts["over_budget"] = [check.budget for check in checks if check.over]
        index = self._index[request.action]
        matched = index.matching(facts)
        decision = self._decide(request, spec.kind, agent, matched)
        all_matched = matched
        if self._shadow_index is not None:
            all_matched = self._shadow_index[request.action].matching(facts)
            decision = self._with_shadow(decision, request, spec.kind, agent, all_matched)
        # An action that also writes to other projects (a move's target) is decided once
        # per project, and the strictest decision holds: a rule keeping an agent out of a
        # project must stop a move into it as surely as any other write there.
        elsewhere: list[tuple[Facts, Matches]] = []
        for project in spec.projects_besides(request.details):
            other_facts = {**facts, "project": project}
            other_decision, other_matched = self._decide_in(request, spec.kind, agent, other_facts)
            decision = _strictest(decision, other_decision)
            elsewhere.append((other_facts, other_matched))
        if checks:
            decision = _with_budgets(decision, checks, self)
        if explain:
            matched_ids = {rule.id for _, rule in all_matched}
            explanations = explain_rules(
                self.model.rules, facts, matched_ids, self.model.priorities
            )
            for other_facts, other_matched in elsewhere:
                # A rule that matched only for another project is explained with the facts
                # it matched on (the source project's explanation says it did not match).
                ids = {rule.id for _, rule in other_matched}
                there = {
                    e.rule: e
                    for e in explain_rules(
                        self.model.rules, other_facts, ids, self.model.priorities
                    )
                    if e.matched
                }
                explanations = [e if e.matched else there.get(e.rule, e) for e in explanations]
            return replace(decision, explanations=tuple(explanations))
        return decision

    def _decide_in(
        self, request: ActionRequest, kind: ActionKind, agent: str | None, facts: Facts
    ) -> tuple[Decision, Matches]:
        """The decision with `facts` (another project of the action), shadow rules included,
        and every rule that matched (shadow ones too, for explanations)."""
        matched = self._index[request.action].matching(facts)
        decision = self._decide(request, kind, agent, matched)
        if self._shadow_index is not None:
            matched = self._shadow_index[request.action].matching(facts)
            decision = self._with_shadow(decision, request, kind, agent, matched)
        return decision, matched

    def _with_shadow(
        self,
        decision: Decision,
        request: ActionRequest,
        kind: ActionKind,
        agent: str | None,
        matched: Matches,
    ) -> Decision:
        shadow_matched = tuple(r.id for _, r in sorted(matched) if r.id in self._shadow_ids)
        if not shadow_matched:
            return decision
        would = self._decide(request, kind, agent, matched)
        outcome = ShadowOutcome(
            decision=would.decision,
            review_group=would.review_group,
            determining_rule=would.determining_rule,
            matched_rules=shadow_matched,
            disagrees=(would.decision, would.review_group)
            != (decision.decision, decision.review_group),
        )
        return replace(decision, shadow=outcome)

    def _decide(
        self, request: ActionRequest, kind: ActionKind, agent: str | None, matched: Matches
    ) -> Decision:
        if matched:
            matched.sort()  # by rank: the combining order, decided when the set was compiled
            ordered = list(map(_RULE_OF, matched))
            top = ordered[0]
            effect = top.decision
            group = (top.route_to or self._default_route) if effect is _APPROVAL else None
            # positional, in field order (decision, action, kind, agent, review_group,
            # determining_rule, matched_rules, reasons, revision): the hot path
            return Decision(
                effect,
                request.action,
                kind,
                agent,
                group,
                top.id,
                tuple(map(_ID_OF, ordered)),
                tuple(map(_REASON_OF, ordered)),
                self._revision,
            )
        return self._default(request, kind, agent)

    def _default(self, request: ActionRequest, kind: ActionKind, agent: str | None) -> Decision:
        defaults = self.model.defaults
        if kind is ActionKind.READ:
            effect = Effect.DENY
            reason = "no rule allows this read (reads are allowed only by a rule)"
        else:
            effect = defaults.destructive if kind is ActionKind.DESTRUCTIVE else defaults.write
            reason = defaults.reason or f"no rule matched this {kind.value}; the default applies"
        group = defaults.route_to if effect is Effect.REQUIRE_APPROVAL else None
        return Decision(
            decision=effect,
            action=request.action,
            kind=kind,
            agent=agent,
            review_group=group,
            determining_rule=None,
            matched_rules=(),
            reasons=(reason,),
            revision=self.model.revision,
        )


def _strictest(first: Decision, second: Decision) -> Decision:
    """The stricter of two decisions on one action (deny > require_approval > allow; the
    first on a tie), carrying every rule either matched; for a read or write no rule
    matched, the defaults count as a decision like any other."""
    chosen, other = (
        (second, first)
        if _PRECEDENCE[second.decision] > _PRECEDENCE[first.decision]
        else (first, second)
    )
    matched = tuple(dict.fromkeys((*chosen.matched_rules, *other.matched_rules)))
    reasons = tuple(dict.fromkeys((*chosen.reasons, *other.reasons)))
    shadow = chosen.shadow
    if shadow is None or (
        other.shadow is not None
        and _PRECEDENCE[other.shadow.decision] > _PRECEDENCE[shadow.decision]
    ):
        shadow = other.shadow
    if shadow is not None:
        disagrees = (shadow.decision, shadow.review_group) != (
            chosen.decision,
            chosen.review_group,
        )
        shadow = replace(shadow, disagrees=disagrees)
    return replace(chosen, matched_rules=matched, reasons=reasons, shadow=shadow)


def _budget_checks(budgets: Sequence[Budget], count: int, usage: Usage) -> tuple[BudgetCheck, ...]:
    checks = []
    for budget in budgets:
        given = usage.get(budget.name, 0)
        used = given if isinstance(given, BudgetUsage) else BudgetUsage(int(given))
        checks.append(
            BudgetCheck(
                budget=budget.name,
                used=used.used,
                units=budget.units(count),
                limit=budget.limit,
                window_seconds=budget.window_seconds,
                frees_at=used.frees_at,
            )
        )
    return tuple(checks)


def _with_budgets(
    decision: Decision, checks: tuple[BudgetCheck, ...], policies: PolicySet
) -> Decision:
    """The decision with its budgets; when an `over_budget` condition of the deciding rule
    held, its reason also says the budget, what was used and when it frees up."""
    reasons = decision.reasons
    if decision.determining_rule is not None and reasons:
        rule = policies.rule(decision.determining_rule)
        named = {p.argument for p in leaf_predicates(rule.match) if p.field == "over_budget"}
        over = [check.describe() for check in checks if check.over and check.budget in named]
        if over:
            reasons = (f"{reasons[0]} ({'; '.join(over)})", *reasons[1:])
    return replace(decision, budgets=checks, reasons=reasons)


def load_policies(path: str | Path, limits: PolicyLimits = DEFAULT_POLICY_LIMITS) -> PolicySet:
    """Load, check and compile the policy set at `path` (a directory or one YAML file),
    refusing a set over `limits` (docs/policies.md "Limits")."""
    with _collector_paused():
        return PolicySet(load_model(path, limits))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a set loads. A load allocates about a
    million objects at 10,000 rules, which sets off several full collections, each walking
    every live object (the running set's included): 15-40% of the load. Nothing a load keeps
    is garbage, and the cycles it drops are collected once the collector runs again. Left
    paused if it was paused (a caller's choice, or another load still running)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


__all__ = [
    "BudgetCheck",
    "BudgetUsage",
    "CombiningRule",
    "CompiledRule",
    "ConditionResult",
    "Decision",
    "PolicySet",
    "RuleExplanation",
    "ShadowOutcome",
    "load_policies",
]
