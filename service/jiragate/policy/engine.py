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
from jiragate.policy.compiler import ActionIndex, CompiledRule, Matches, compile_model
from jiragate.policy.explain import ConditionResult, RuleExplanation, explain_rules
from jiragate.policy.facts import build_facts
from jiragate.policy.loader import DEFAULT_POLICY_LIMITS, PolicyLimits, load_model
from jiragate.policy.model import Effect, PolicyModel, ReviewGroup, Rule

# C-level accessors for the per-decision loops over matched rules.
_RULE_OF = itemgetter(1)
_ID_OF = attrgetter("id")
_REASON_OF = attrgetter("effective_reason")
_APPROVAL = Effect.REQUIRE_APPROVAL
_PRECEDENCE = {Effect.DENY: 3, Effect.REQUIRE_APPROVAL: 2, Effect.ALLOW: 1}


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
        order = self.combining.combine(list(model.rules))
        self._index: dict[str, ActionIndex] = compile_model(model, order)
        self._revision = model.revision
        self._default_route = model.defaults.route_to

    # ----------------------------------------------------------------- introspection

    @property
    def revision(self) -> str:
        return self.model.revision

    @property
    def groups(self) -> Mapping[str, ReviewGroup]:
        return self.model.groups

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.model.rules

    def rules_for(self, action: str) -> tuple[Rule, ...]:
        """The rules that can apply to an action (those its action/kind conditions admit)."""
        return self._index[action].rules

    def rule(self, rule_id: str) -> Rule:
        for rule in self.model.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    # ----------------------------------------------------------------- evaluation

    def evaluate(
        self,
        action: ActionRequest | Mapping[str, Any],
        *,
        agent: str | None = None,
        explain: bool = False,
    ) -> Decision:
        """Decide one action. A mapping is validated as an envelope first (and may raise
        UnknownActionError or InvalidDetailsError); an ActionRequest is taken as valid."""
        request = action if isinstance(action, ActionRequest) else parse_envelope(action)
        spec = request.spec  # one catalog lookup per decision
        facts = build_facts(request, agent, spec)
        index = self._index[request.action]
        matched = index.matching(facts)
        decision = self._decide(request, spec.kind, agent, matched)
        if explain:
            matched_ids = {rule.id for _, rule in matched}
            explanations = explain_rules(self.model.rules, facts, matched_ids)
            return replace(decision, explanations=tuple(explanations))
        return decision

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
    "CombiningRule",
    "CompiledRule",
    "ConditionResult",
    "Decision",
    "PolicySet",
    "RuleExplanation",
    "load_policies",
]
