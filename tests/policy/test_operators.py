"""Every operator, on present and absent values, through the compiled path and the explainer."""

from __future__ import annotations

import pytest

from jiragate.catalog.priorities import JIRA_PRIORITIES
from jiragate.policy.compiler import getter_for
from jiragate.policy.model import Location, Predicate
from jiragate.policy.operators import (
    MISSING,
    OPERATORS,
    ArgumentError,
    PriorityBound,
    apply_operator,
)

CASES = [
    # operator, argument, value, expected
    ("eq", "High", "High", True),
    ("eq", "High", "Low", False),
    ("ne", "High", "Low", True),
    ("ne", "High", "High", False),
    ("in", ["ENG", "OPS"], "OPS", True),
    ("in", ["ENG", "OPS"], "HR", False),
    ("in", ["ENG"], ["ENG"], False),  # a list is never "in" a set of scalars
    ("not_in", ["ENG", "OPS"], "HR", True),
    ("not_in", ["ENG", "OPS"], "ENG", False),
    ("gt", 50, 51, True),
    ("gt", 50, 50, False),
    ("gte", 50, 50, True),
    ("gte", 50, 49, False),
    ("lt", 5, 4, True),
    ("lt", 5, 5, False),
    ("lte", 5, 5, True),
    ("lte", 5, 6, False),
    ("gt", 1, True, False),  # booleans are not numbers
    ("gt", 1, "2", False),  # nor are strings
    ("between", [10, 20], 10, True),
    ("between", [10, 20], 20, True),
    ("between", [10, 20], 21, False),
    ("glob", "jira_create_*", "jira_create_tickets", True),
    ("glob", "jira_create_*", "jira_delete_issues", False),
    ("glob", "ENG", "ENGX", False),  # anchored at both ends
    ("matches", "^error-", "error-log-triage", True),
    ("matches", "^error-", "log-error", False),
    ("exists", True, "x", True),
    ("exists", False, "x", False),
    ("contains", "ai-generated", ["ai-generated", "x"], True),
    ("contains", "ai-generated", ["x"], False),
    ("contains", "drop", "please drop table", True),
    ("contains", "drop", 5, False),
    ("at_least", "High", "Highest", True),
    ("at_least", "High", "High", True),
    ("at_least", "High", "Medium", False),
    # Not a priority of the set: alone, it ranks above the highest (gated, never "low").
    ("at_least", "High", "Urgent", True),
    ("at_least", "High", "high", True),  # names are exact
    ("at_least", "High", 3, True),
    ("at_most", "Medium", "Low", True),
    ("at_most", "Medium", "High", False),
    ("at_most", "Medium", "Urgent", False),
]


def _predicate(operator: str, argument: object) -> Predicate:
    return Predicate("details.value", operator, argument, "match.details.value", Location("t", 1))


@pytest.mark.parametrize(("operator", "argument", "value", "expected"), CASES)
def test_operator_on_a_present_value(operator, argument, value, expected):
    prepared = OPERATORS[operator].prepare(argument)
    assert apply_operator(operator, value, prepared) is expected
    from jiragate.policy.compiler import _compile_predicate

    # A bound compiled where it stands as it does alone (see test_priorities.py for both).
    gate = prepared.unknown if isinstance(prepared, PriorityBound) else True
    compiled = _compile_predicate(_predicate(operator, argument), JIRA_PRIORITIES, gate)
    assert compiled({"details": {"value": value}}) is expected


@pytest.mark.parametrize("operator", sorted(OPERATORS))
def test_an_absent_value_satisfies_nothing_but_exists_false(operator):
    from jiragate.policy.compiler import _compile_predicate

    argument = {
        "in": ["a"],
        "not_in": ["a"],
        "between": [1, 2],
        "glob": "*",
        "matches": ".*",
        "exists": True,
        "at_least": "Low",
        "at_most": "Highest",
    }.get(operator, 1)
    for gate in (True, False):  # absence is not an unknown priority: it never holds
        compiled = _compile_predicate(_predicate(operator, argument), JIRA_PRIORITIES, gate)
        assert compiled({"details": {}}) is False
    assert apply_operator(operator, MISSING, OPERATORS[operator].prepare(argument)) is False
    if operator == "exists":
        negated = _compile_predicate(_predicate("exists", False), JIRA_PRIORITIES, True)
        assert negated({"details": {}}) is True


def test_every_operator_is_covered_by_the_cases():
    assert {case[0] for case in CASES} == set(OPERATORS)


@pytest.mark.parametrize(
    ("operator", "argument", "fragment"),
    [
        ("in", [], "non-empty list"),
        ("in", "ENG", "non-empty list"),
        ("gt", "ten", "expects a number"),
        ("between", [20, 10], "above high"),
        ("between", [1], "[low, high]"),
        ("matches", "(", "not a valid regular expression"),
        ("exists", "yes", "true or false"),
        ("at_least", "Urgent", "set's priorities .Highest, High, Medium, Low, Lowest."),
        ("at_most", "high", "names are exact"),
        ("eq", ["a"], "single value"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(operator, argument, fragment):
    with pytest.raises(ArgumentError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        OPERATORS[operator].prepare(argument)


def test_nested_details_paths_are_read():
    get = getter_for("details.fields.priority")
    assert get({"details": {"fields": {"priority": "High"}}}) == "High"
    assert get({"details": {"fields": "oops"}}) is MISSING
    assert get({"details": {}}) is MISSING
