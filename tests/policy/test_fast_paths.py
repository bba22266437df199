"""The loader's and the engine's fast paths decide exactly what the slow, obvious ones do.

- The compiled structure check (fastjsonschema) is only a shortcut for "valid": whatever it
  accepts, jsonschema (the authority, which names the problems) must accept too, on policy
  documents with a value swapped anywhere for something a careless or hostile author writes.
- It never writes the schema's defaults into the data it checks.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

import fastjsonschema
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiragate.policy.loader import _fast_structure_check, policy_schema

VALID: dict[str, Any] = {
    "review_groups": {
        "leads": {
            "description": "Leads",
            "members": ["alice", "bob"],
            "min_approvals": 2,
            "approval_timeout": "1h30m",
            "cheqpoint": {
                "connection_key_env": "CQ_KEY",
                "action_prefix": "eng.",
                "min_risk_score": 0.5,
            },
        }
    },
    "rules": [
        {
            "id": "r1",
            "match": {
                "action": ["jira_create_tickets", "jira_delete_issues"],
                "project": {"in": ["ENG", "OPS"]},
                "count": {"between": [2, 6]},
                "details.priority": {"at_least": "High"},
                "any": [{"agent": "bot-a"}, {"not": {"count": {"gt": 5}}}],
            },
            "decision": "require_approval",
            "route_to": "leads",
            "priority": 3,
            "reason": "big",
        }
    ],
    "defaults": {"write": "require_approval", "destructive": "deny", "route_to": "leads"},
}

# What an author may write where a value is expected: wrong types, near-misses of patterns
# and enums, YAML's non-JSON scalars (dates, bytes), and booleans where numbers go.
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1.0, 0, -1, 11, 1_000_001, 0.5, 2.0]),
    st.text(max_size=8),
    st.sampled_from(["r1\n", "R1", "-x", "a" * 65, "1h ", "24h", "Allow", "allow", "High", "x*"]),
    st.just(datetime.date(2024, 1, 1)),
    st.just(b"bytes"),
    st.lists(st.sampled_from([1, True, "a", "a", 1.0]), max_size=3),
    st.dictionaries(
        st.sampled_from(["eq", "gt", "in", "between", "x", "id"]), st.integers(), max_size=2
    ),
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(_paths(item, (*path, index)))
    return out


PATHS = [p for p in _paths(VALID) if p]


def _replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(document)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def _accepted_fast(document: Any) -> bool:
    try:
        _fast_structure_check()(document)
    except fastjsonschema.JsonSchemaException:  # as the loader: anything else is a bug
        return False
    return True


def _accepted_by_jsonschema(document: Any) -> bool:
    return not list(jsonschema.Draft202012Validator(policy_schema()).iter_errors(document))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(st.tuples(st.sampled_from(PATHS), ODD_VALUES), min_size=1, max_size=3),
    extra_key=st.sampled_from([None, "priority", "Priority", "route", "<<", "ids"]),
)
def test_what_the_compiled_check_accepts_jsonschema_accepts(
    edits: list[tuple[tuple[Any, ...], Any]], extra_key: str | None
) -> None:
    document: Any = VALID
    for path, value in edits:
        try:
            document = _replaced(document, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit replaced the container this path goes through
    if extra_key is not None and isinstance(document.get("rules"), list) and document["rules"]:
        rule = document["rules"][0]
        if isinstance(rule, dict):
            rule.setdefault(extra_key, 1)
    if _accepted_fast(document):
        assert _accepted_by_jsonschema(document), document


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("rules", 0, "priority"), True),
        (("rules", 0, "priority"), 1.5),
        (("rules", 0, "id"), "r1\n"),
        (("rules", 0, "decision"), "Allow"),
        (("rules", 0, "match", "project", "in"), []),
        (("rules", 0, "match", "count", "between"), [1]),
        (("rules", 0, "match", "count", "between"), [1, True]),
        (("review_groups", "leads", "members"), ["a", "a"]),
        (("review_groups", "leads", "min_approvals"), 11),
        (("review_groups", "leads", "approval_timeout"), datetime.date(2024, 1, 1)),
        (("review_groups", "leads", "description"), b"bytes"),
        (("defaults", "write"), "allow"),
    ],
)
def test_the_compiled_check_refuses_what_jsonschema_refuses(
    path: tuple[Any, ...], value: Any
) -> None:
    document = _replaced(VALID, path, value)
    assert not _accepted_by_jsonschema(document)
    assert not _accepted_fast(document)


def test_the_valid_document_passes_both_and_is_left_as_written() -> None:
    document = copy.deepcopy(VALID)
    del document["rules"][0]["priority"]  # the schema's default (0) must not be written in
    del document["review_groups"]["leads"]["min_approvals"]
    before = copy.deepcopy(document)
    assert _accepted_fast(document)
    assert _accepted_by_jsonschema(document)
    assert document == before
