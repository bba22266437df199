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

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiragate.errors import PolicyLoadError
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
    # As the loader calls it: a refusal is False; any other exception is a bug and raises.
    return bool(_fast_structure_check()(document))


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


def test_only_a_big_file_is_checked_by_the_compiled_schema_and_its_errors_still_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Compiling costs every process ~0.35 s at start: a small set never pays it, and a big
    file's refusal is still jsonschema's, with the path of what is wrong."""
    from jiragate.policy import loader

    compiled = []
    monkeypatch.setattr(
        loader, "_fast_structure_check", lambda: compiled.append(1) or _fast_structure_check()
    )
    groups = b"review_groups:\n  leads: {description: Leads}\n"

    def rules(count: int, *, broken: bool = False) -> bytes:
        lines = ["rules:"]
        for n in range(count):
            lines.append(
                f"  - id: r{n}\n    match: {{action: jira_create_epic}}\n"
                f"    decision: {'maybe' if broken and n == count - 1 else 'deny'}"
            )
        return ("\n".join(lines) + "\n").encode()

    small = loader.COMPILED_CHECK_MIN_RULES - 1
    loader.load_model_from_sources([("g.yaml", groups), ("r.yaml", rules(small))])
    assert compiled == []
    loader.load_model_from_sources([("g.yaml", groups), ("r.yaml", rules(small + 1))])
    assert compiled == [1]
    with pytest.raises(PolicyLoadError) as refused:
        loader.load_model_from_sources(
            [("g.yaml", groups), ("r.yaml", rules(small + 1, broken=True))]
        )
    assert any(f"rules[{small}].decision" in issue.path for issue in refused.value.issues), (
        refused.value.issues
    )


# --------------------------------------------------------------------------- the index

RANGE_CONDITIONS = [
    "count: {gt: 3}",
    "count: {gte: 3}",
    "count: {lt: 4}",
    "count: {lte: 4}",
    "count: {gt: 2.5}",
    "count: {lte: 5.5}",
    "count: {between: [2, 6]}",
    "count: {between: [4, 4]}",
    "count: {between: [0.5, 3.5]}",
    "count: {gte: -1}",
    "count: {gt: 1000000}",
]
PRIORITY_CONDITIONS = [
    "details.priority: {at_least: High}",
    "details.priority: {at_most: Low}",
    "details.priority: {at_least: Lowest}",
    "details.priority: {at_most: Highest}",
]
# Two equality tests of one fact: the bucket skips both, so only where both hold may it sit.
DOUBLE_EQUALITIES = [
    "project: {eq: ENG, in: [ENG, OPS]}",
    "project: {in: [ENG, OPS], eq: OPS}",
    "project: {in: [ENG, HR], not_in: [HR]}",
    "project: {eq: HR, in: [ENG, OPS]}",
]
CROWD_GROUPS = b"""
review_groups:
  leads: {description: Leads, members: [a]}
defaults: {write: require_approval, destructive: deny, route_to: leads}
"""


@st.composite
def ranged_rules(draw: st.DrawFn) -> list[str]:
    """Enough rules on one action to be indexed, most of them stopping at a level with one
    numeric range or one priority bound left to test (the lookups), mixed with others."""
    out = []
    for i in range(draw(st.integers(min_value=10, max_value=50))):
        lines = [f"  - id: q{i:03d}", "    match:", "      action: jira_create_tickets"]
        project = draw(st.sampled_from([None, "ENG", "OPS", "[ENG, HR]", *DOUBLE_EQUALITIES]))
        if project is not None:
            lines.append(f"      project: {project}" if "{" not in project else f"      {project}")
        agent = draw(st.sampled_from([None, None, "bot-a", "[bot-a, bot-b]"]))
        if agent is not None:
            lines.append(f"      agent: {agent}")
        issue_type = draw(st.sampled_from([None, "Bug", "[Bug, Task]"]))
        if issue_type is not None:  # bucketed too: a list-valued fact makes the index scan
            lines.append(f"      details.issueType: {issue_type}")
        last = draw(st.sampled_from([*RANGE_CONDITIONS, *PRIORITY_CONDITIONS, None, "mixed"]))
        if last == "mixed":
            lines += ["      count: {gt: 2}", "      details.priority: {at_least: Medium}"]
        elif last is not None:
            lines.append(f"      {last}")
        decision = draw(st.sampled_from(["allow", "deny", "require_approval"]))
        lines.append(f"    decision: {decision}")
        lines.append(f"    priority: {draw(st.integers(min_value=0, max_value=3))}")
        out.append("\n".join(lines))
    return out


ODD_PRIORITIES = st.sampled_from(
    ["Lowest", "Low", "Medium", "High", "Highest", "high", "", None, 3, True, ["High"], {"a": 1}]
)


@st.composite
def crowd_requests(draw: st.DrawFn) -> tuple[Any, str | None]:
    from jiragate.catalog import ActionRequest

    details = {
        "projectKey": draw(st.sampled_from(["ENG", "OPS", "HR", "ZZ"])),
        # taken as valid, as the engine takes an ActionRequest: odd values must still
        # decide exactly as a full scan does
        "issueCount": draw(st.integers(min_value=0, max_value=8)),
        "issueType": draw(st.sampled_from(["Bug", "Task", "Story", ["Bug"], {"a": 1}])),
        "priority": draw(ODD_PRIORITIES),
    }
    if draw(st.booleans()):
        del details["priority"]
    request = ActionRequest(action="jira_create_tickets", summary="s", details=details)
    return request, draw(st.sampled_from(["bot-a", "bot-b", "bot-c", None]))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ranged_rules(), st.lists(crowd_requests(), min_size=1, max_size=12))
def test_range_and_priority_lookups_find_exactly_what_a_full_scan_finds(
    rule_texts: list[str], reqs: list[tuple[Any, str | None]]
) -> None:
    from jiragate.policy.engine import PolicySet
    from jiragate.policy.loader import load_model_from_sources

    rules_yaml = ("rules:\n" + "\n".join(rule_texts) + "\n").encode()
    policies = PolicySet(
        load_model_from_sources([("g.yaml", CROWD_GROUPS), ("r.yaml", rules_yaml)])
    )
    for request, agent in reqs:
        # explain=True re-tests every rule on the slow path and raises if the index matched
        # a different set
        decision = policies.evaluate(request, agent=agent, explain=True)
        assert decision.explanations is not None
        scanned = sorted(e.rule for e in decision.explanations if e.matched)
        assert sorted(decision.matched_rules) == scanned
        ranked = sorted(
            (policies.rule(rule_id) for rule_id in scanned), key=policies.combining.sort_key
        )
        assert decision.determining_rule == (ranked[0].id if ranked else None)
        assert list(decision.matched_rules) == [rule.id for rule in ranked]


def test_a_rule_with_two_equality_tests_of_one_fact_is_bucketed_where_both_hold() -> None:
    """`project: {eq: ENG, in: [ENG, OPS]}` must not match OPS: the bucket skips both tests."""
    from jiragate.catalog import ActionRequest
    from jiragate.policy.engine import PolicySet
    from jiragate.policy.loader import load_model_from_sources

    filler = "\n".join(
        f"  - {{id: f{i}, match: {{action: jira_create_tickets, project: P{i}}}, decision: deny}}"
        for i in range(10)
    )
    rules_yaml = (
        "rules:\n  - id: only-eng\n    match:\n      action: jira_create_tickets\n"
        "      project: {eq: ENG, in: [ENG, OPS]}\n    decision: allow\n" + filler + "\n"
    ).encode()
    policies = PolicySet(
        load_model_from_sources([("g.yaml", CROWD_GROUPS), ("r.yaml", rules_yaml)])
    )
    assert policies._index["jira_create_tickets"].key_field == "project"  # it is indexed
    for project, expected in (("ENG", "only-eng"), ("OPS", None)):
        details = {"projectKey": project, "issueCount": 1, "issueType": "Bug"}
        request = ActionRequest(action="jira_create_tickets", summary="s", details=details)
        assert policies.evaluate(request).determining_rule == expected


def test_only_a_one_of_whose_branches_cannot_both_hold_is_compiled_as_any_of() -> None:
    from jiragate.policy.loader import _exclusive_one_of_as_any_of

    disjoint = {"oneOf": [{"type": "string"}, {"type": ["array", "null"]}]}
    overlapping = {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 5}]}
    untyped = {"oneOf": [{"type": "string"}, {"minimum": 1}]}
    assert _exclusive_one_of_as_any_of(disjoint) == {"anyOf": disjoint["oneOf"]}
    assert _exclusive_one_of_as_any_of(overlapping) == overlapping  # 7 is both: oneOf refuses
    assert _exclusive_one_of_as_any_of(untyped) == untyped
    nested = {"properties": {"a": disjoint}, "items": [overlapping]}
    assert _exclusive_one_of_as_any_of(nested) == {
        "properties": {"a": {"anyOf": disjoint["oneOf"]}},
        "items": [overlapping],
    }


def test_loading_pauses_the_collector_only_while_it_runs(tmp_path) -> None:
    """`load_policies` pauses the cyclic GC for the load and restores it, also on failure,
    and never turns on a collector its caller had paused."""
    import gc

    from jiragate.errors import PolicyLoadError
    from jiragate.policy.engine import load_policies

    good = tmp_path / "good"
    good.mkdir()
    (good / "p.yaml").write_bytes(
        CROWD_GROUPS + b"rules:\n  - {id: a, match: {action: jira_get_issue}, decision: allow}\n"
    )
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "p.yaml").write_bytes(b"rules: [{id: a}]\n")
    assert gc.isenabled()
    load_policies(good)
    assert gc.isenabled()
    with pytest.raises(PolicyLoadError):
        load_policies(bad)
    assert gc.isenabled()
    gc.disable()
    try:
        load_policies(good)
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        # an anchored NaN is constructed once; its alias must be found as well
        (
            "x: &n .nan\nrules:\n  - id: a\n    match: {action: jira_delete_issues, "
            "count: {gt: *n}}\n    decision: deny\n",
            ["x", "rules[0].match.count.gt"],
        ),
        (
            "rules:\n  - id: a\n    match: {action: jira_delete_issues, count: {lt: 1.0e+999}}\n"
            "    decision: deny\n",
            ["rules[0].match.count.lt"],
        ),
        (
            "rules:\n  - id: a\n    match: {action: jira_delete_issues, count: "
            "{between: [1, !!float .inf]}}\n    decision: deny\n",
            ["rules[0].match.count.between[1]"],
        ),
    ],
)
def test_every_non_finite_number_is_found_wherever_it_is_written(
    tmp_path, text: str, paths: list[str]
) -> None:
    """The NaN walk runs only when the parser constructed one: aliases, overflowing
    exponents and explicit tags must all set it off."""
    from jiragate.errors import PolicyLoadError
    from jiragate.policy.loader import load_model

    (tmp_path / "rules.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(PolicyLoadError) as caught:
        load_model(tmp_path)
    found = [i.path for i in caught.value.issues if "not a finite number" in i.message]
    assert sorted(found) == sorted(paths)
