"""Reviewer edits: the per-action, per-field edit rules (catalog.EDIT_RULES) and the one check
that enforces them (catalog.narrowed_details), rule by rule and as a property over generated
patches for every action, judged by an oracle written independently of the rules code."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jiragate.catalog import (
    ACTION_NAMES,
    EDIT_RULES,
    JIRA_PRIORITIES,
    EditRule,
    ItemRules,
    NestedRules,
    apply_patch,
    count_of,
    issue_keys_of,
    load_action_schema,
    narrowed_details,
    project_of,
    validate_details,
)
from jiragate.errors import ActionError, EditRefusedError
from tests.policy.samples import SEED

# --------------------------------------------------------------------------- the table

PRIORITIES = JIRA_PRIORITIES.names  # the order these tests judge edits in


def test_every_action_declares_its_edit_rules_over_its_own_fields():
    assert set(EDIT_RULES) == set(ACTION_NAMES)
    for action, rules in EDIT_RULES.items():
        properties = load_action_schema(action)["properties"]
        for name, rule in rules.items():
            assert name in properties, (action, name)
            if isinstance(rule, NestedRules):
                assert set(rule.rules) <= set(properties[name]["properties"]), (action, name)
            if isinstance(rule, ItemRules):
                assert set(rule.rules) <= set(properties[name]["items"]["properties"])


def test_identities_and_targets_are_fixed_everywhere():
    targets = {
        "projectKey",
        "issueKey",
        "epicKey",
        "parentKey",
        "versionId",
        "boardId",
        "sprintId",
        "targetStatus",
        "assignee",
        "issueType",
        "jql",
        "resolution",
    }
    for action, rules in EDIT_RULES.items():
        assert not targets & set(rules), action  # not listed: fixed


# --------------------------------------------------------------------------- rule by rule


def refusal(action: str, original: Mapping[str, Any], patch: Any) -> EditRefusedError:
    with pytest.raises(EditRefusedError) as caught:
        narrowed_details(action, original, patch)
    return caught.value


def refused_at(action: str, original: Mapping[str, Any], patch: Any) -> set[tuple[str, str]]:
    return {(v.pointer, v.rule) for v in refusal(action, original, patch).violations}


DELETE = {"issueKeys": ["ENG-1", "ENG-2"]}
TRANSITION = {"issueKeys": ["ENG-1", "ENG-2"], "targetStatus": "Done", "comment": "shipped"}
POINTS = {
    "updates": [{"issueKey": "ENG-1", "storyPoints": 1}, {"issueKey": "ENG-2", "storyPoints": 5}]
}
FIELDS = {
    "issueKeys": ["ENG-1"],
    "fields": {"priority": "Low", "summary": "Old", "duedate": "2026-03-01"},
}
TICKETS = {
    **SEED["details"],
    "issueCount": 3,
    "tickets": [
        {"summary": "a"},
        {"summary": "b", "priority": "Low"},
        {"summary": "c", "labels": ["ai-generated"]},
    ],
}


@pytest.mark.parametrize(
    ("action", "original", "patch", "pointer", "rule"),
    [
        ("jira_delete_issues", DELETE, {"deleteSubtasks": True}, "/deleteSubtasks", "false_only"),
        ("jira_delete_issues", DELETE, {"issueKeys": ["ENG-1", "ENG-3"]}, "/issueKeys", "subset"),
        (
            "jira_assign_issues",
            {**DELETE, "assignee": "bob"},
            {"assignee": "eve"},
            "/assignee",
            "fixed",
        ),
        (
            "jira_assign_issues",
            {**DELETE, "assignee": "bob"},
            {"assignee": None},
            "/assignee",
            "fixed",
        ),
        (
            "jira_transition_issues",
            TRANSITION,
            {"targetStatus": "Closed"},
            "/targetStatus",
            "fixed",
        ),
        (
            "jira_move_to_sprint",
            {**DELETE, "sprintId": 1},
            {"sprintId": 9999},
            "/sprintId",
            "fixed",
        ),
        ("jira_create_tickets", SEED["details"], {"sprintId": 9999}, "/sprintId", "fixed"),
        (
            "jira_create_tickets",
            SEED["details"],
            {"priority": "Highest"},
            "/priority",
            "lower_priority",
        ),
        ("jira_create_tickets", SEED["details"], {"issueCount": 13}, "/issueCount", "narrow_count"),
        ("jira_create_tickets", SEED["details"], {"issueType": "Epic"}, "/issueType", "fixed"),
        (
            "jira_create_tickets",
            SEED["details"],
            {"labels": ["ai-generated", "urgent"]},
            "/labels",
            "subset",
        ),
        (
            "jira_create_tickets",
            TICKETS,
            {"tickets": [{"summary": "a", "description": "z"}], "issueCount": 1},
            "/tickets/0/description",
            "fixed",
        ),
        (
            "jira_create_tickets",
            TICKETS,
            {"tickets": [*TICKETS["tickets"], {"summary": "d"}], "issueCount": 4},
            "/issueCount",
            "narrow_count",
        ),
        (
            "jira_create_tickets",
            TICKETS,
            {"tickets": [{"summary": "a", "issueType": "Epic"}], "issueCount": 1},
            "/tickets/0/issueType",
            "fixed",
        ),
        (
            "jira_create_tickets",
            TICKETS,
            {"tickets": [{"summary": "b", "priority": "Highest"}], "issueCount": 1},
            "/tickets/0/priority",
            "lower_priority",
        ),
        (
            "jira_update_story_points",
            POINTS,
            {"updates": [{"issueKey": "ENG-1", "storyPoints": 1000}]},
            "/updates/0/storyPoints",
            "max",
        ),
        (
            "jira_update_story_points",
            POINTS,
            {"updates": [{"issueKey": "ENG-3", "storyPoints": 1}]},
            "/updates/0/issueKey",
            "fixed",
        ),
        (
            "jira_update_fields",
            FIELDS,
            {"fields": {"assignee": "eve"}},
            "/fields/assignee",
            "fixed",
        ),
        (
            "jira_update_fields",
            FIELDS,
            {"fields": {"watchers": ["eve"]}},
            "/fields",
            "additionalProperties",
        ),
        (
            "jira_update_fields",
            FIELDS,
            {"customFields": {"Team": "Payments"}},
            "/customFields",
            "fixed",
        ),
        (
            "jira_update_fields",
            FIELDS,
            {"fields": {"priority": "Low", "labels": ["x"]}},
            "/fields/labels",
            "fixed",
        ),
        (
            "jira_update_fields",
            FIELDS,
            {"fields": {"duedate": "2027-01-01"}},
            "/fields/duedate",
            "fixed",
        ),
        (
            "jira_update_fields",
            FIELDS,
            {"fields": {"priority": "Medium"}},
            "/fields/priority",
            "lower_priority",
        ),
        ("jira_update_fields", FIELDS, {"fields": "replaced"}, "/fields", "type"),
        (
            "jira_create_ticket",
            {"projectKey": "ENG", "issueType": "Bug", "summary": "s"},
            {"description": "new"},
            "/description",
            "text",
        ),
        (
            "jira_create_ticket",
            {"projectKey": "ENG", "issueType": "Bug", "summary": "s", "storyPoints": 1},
            {"storyPoints": 1000},
            "/storyPoints",
            "max",
        ),
        (
            "jira_search",
            {"projectKey": "ENG", "jql": "status = Done", "maxResults": 10},
            {"maxResults": 100},
            "/maxResults",
            "narrow_count",
        ),
        (
            "jira_search",
            {"projectKey": "ENG", "jql": "status = Done"},
            {"jql": "status = Open"},
            "/jql",
            "fixed",
        ),
        ("jira_delete_issues", DELETE, {"bogus": 1}, "/bogus", "unknown_field"),
    ],
)
def test_a_widening_edit_is_refused_naming_the_field_and_rule(
    action, original, patch, pointer, rule
):
    assert (pointer, rule) in refused_at(action, original, patch)
    error = refusal(action, original, patch)
    assert f"{pointer}: " in str(error)


@pytest.mark.parametrize(
    ("action", "original", "patch", "expected"),
    [
        (
            "jira_delete_issues",
            {**DELETE, "deleteSubtasks": True},
            {"deleteSubtasks": False},
            {"deleteSubtasks": False},
        ),
        ("jira_delete_issues", DELETE, {"deleteSubtasks": False}, {"deleteSubtasks": False}),
        ("jira_delete_issues", DELETE, {"issueKeys": ["ENG-2"]}, {"issueKeys": ["ENG-2"]}),
        (
            "jira_transition_issues",
            TRANSITION,
            {"comment": "shipped in 1.1"},
            {"comment": "shipped in 1.1"},
        ),
        (
            "jira_create_tickets",
            SEED["details"],
            {"issueCount": 4, "priority": "Medium"},
            {"issueCount": 4, "priority": "Medium"},
        ),
        (
            "jira_create_tickets",
            SEED["details"],
            {"labels": ["ai-generated"]},
            {"labels": ["ai-generated"]},
        ),
        (
            "jira_update_story_points",
            POINTS,
            {"updates": [{"issueKey": "ENG-2", "storyPoints": 3}]},
            {"updates": [{"issueKey": "ENG-2", "storyPoints": 3}]},
        ),
        (
            "jira_update_fields",
            FIELDS,
            {"fields": {"priority": "Lowest"}},
            {"fields": {"priority": "Lowest"}},
        ),
        (
            "jira_update_fields",
            FIELDS,
            {"fields": {"summary": "New words"}},
            {"fields": {"summary": "New words"}},
        ),
        (
            "jira_search",
            {"projectKey": "ENG", "jql": "status = Done", "maxResults": 10},
            {"maxResults": 5},
            {"maxResults": 5},
        ),
        # The whole payload sent back (a Cheqpoint UI may do that) is no edit.
        ("jira_create_tickets", TICKETS, dict(TICKETS), {"tickets": TICKETS["tickets"]}),
        (
            "jira_create_tickets",
            TICKETS,
            {**TICKETS, "issueCount": 1},
            {"issueCount": 1, "tickets": TICKETS["tickets"][:1]},
        ),
    ],
)
def test_a_narrowing_edit_is_accepted(action, original, patch, expected):
    effective = narrowed_details(action, original, patch)
    assert {key: effective[key] for key in expected} == expected


def test_a_bulk_priority_is_a_ceiling_and_bulk_labels_the_most_a_ticket_keeps():
    effective = narrowed_details(
        "jira_create_tickets", TICKETS, {"priority": "Medium", "labels": ["error-log-triage"]}
    )
    # a inherits Medium, b keeps its own Low (a ceiling never raises), c loses ai-generated.
    assert effective["tickets"] == [
        {"summary": "a"},
        {"summary": "b", "priority": "Low"},
        {"summary": "c", "labels": []},
    ]


def test_labels_to_add_or_remove_are_fixed_while_fields_labels_replaces_them():
    original = {"issueKeys": ["ENG-1"], "fields": {"labels": ["a", "x"]}, "removeLabels": ["x"]}
    # Dropping x from removeLabels would make Jira end with x.
    assert ("/removeLabels", "fixed") in refused_at(
        "jira_update_fields", original, {"removeLabels": []}
    )
    without = {"issueKeys": ["ENG-1"], "addLabels": ["a", "b"], "removeLabels": ["x"]}
    effective = narrowed_details(
        "jira_update_fields", without, {"addLabels": ["a"], "removeLabels": []}
    )
    assert effective["addLabels"] == ["a"]


def test_an_invalid_edit_is_refused_with_the_schema_pointer():
    error = refusal("jira_create_tickets", SEED["details"], {"priority": " Bogus"})
    assert str(error).startswith("the edited details are invalid")
    assert [v.pointer for v in error.violations] == ["/priority"]
    assert "(rule: " in str(refusal("jira_create_tickets", SEED["details"], ["not", "a", "patch"]))


# --------------------------------------------------------------------------- the property

ISSUE_KEYS = [f"ENG-{n}" for n in range(1, 7)]
WORDS = ["ai-generated", "triage", "backend", "urgent", "ux", "summary", "status", "labels"]
TEXTS = ["Fix login", "Crash on save", "Checkout 500s", "x"]
KEY_PATTERN = "^[A-Z][A-Z0-9_]{0,9}-[1-9][0-9]{0,9}$"
PROJECT_PATTERN = "^[A-Z][A-Z0-9_]{1,9}$"


def values(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values for one of our (simple) action schemas, from small pools so that generated
    originals and patches overlap; invalid combinations are filtered by the caller."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("x-jiragate-site") == "priority":  # a site's names: the standard five here
        return st.sampled_from(["Highest", "High", "Medium", "Low", "Lowest"])
    if schema.get("x-jiragate-site") == "issuetype":
        return st.sampled_from(["Bug", "Task", "Story"])
    if "oneOf" in schema:
        return st.one_of([values(option) for option in schema["oneOf"]])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        low = schema.get("minimum", 0)
        return st.integers(low, min(schema.get("maximum", low + 12), low + 12))
    if kind == "number":
        return st.sampled_from([0, 1, 2, 3, 5, 8, 13, 0.5, 1000])
    if kind == "string":
        return strings(schema)
    if kind == "array":
        items = values(schema["items"])
        size = {
            "min_size": schema.get("minItems", 0),
            "max_size": min(schema.get("maxItems", 4), 4),
        }
        if schema.get("uniqueItems"):
            return st.lists(items, unique_by=repr, **size)
        return st.lists(items, **size)
    return objects(schema)


def strings(schema: Mapping[str, Any]) -> st.SearchStrategy[str]:
    # The schemas end patterns in "(?![\s\S])" (nothing may follow; docs/architecture.md):
    # read it as "$" to recognise the shapes below.
    pattern = schema.get("pattern", "").replace("(?![\\s\\S])", "$")
    if pattern == KEY_PATTERN:
        return st.sampled_from(ISSUE_KEYS)
    if pattern == PROJECT_PATTERN:
        return st.just("ENG")
    if schema.get("format") == "date":
        return st.sampled_from(["2026-03-01", "2026-04-15"])
    if pattern.startswith("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"):  # a sprint's date-times
        return st.sampled_from(["2026-03-02T09:00:00.000Z", "2026-03-13T17:00:00+01:00"])
    if pattern in ("^[0-9]{1,18}$", "^[1-9][0-9]{0,17}$"):
        return st.sampled_from(["10001", "10002"])
    if pattern == "^i[1-9][0-9]{0,9}$":  # a ProForma form id
        return st.sampled_from(["i1", "i2"])
    if pattern == "^[1-9][0-9]{0,9}$":  # a form's question id
        return st.sampled_from(["1", "2", "3"])
    if pattern.startswith("^([01][0-9]|2[0-3]):"):  # a time of day
        return st.sampled_from(["09:30", "17:00"])
    if pattern.startswith("^[1-9][0-9]{0,5}[wdhm]"):  # a worklog's time spent
        return st.sampled_from(["1h", "2h 30m", "3d"])
    if pattern.startswith("^[0-9]{4}-"):  # a Jira date-time (a worklog's start)
        return st.sampled_from(["2026-12-01T09:30:00.000+0000", "2026-12-02T14:00:00.000+0100"])
    if pattern.startswith("^https?://"):
        return st.sampled_from(["https://ci.example.com/run/7", "https://docs.example.com/x"])
    if pattern.startswith(("^[^\\u0000", "^[A-Za-z0-9", "^(?![0-9]+$)")):  # labels, names
        return st.sampled_from(WORDS)
    return st.sampled_from(TEXTS)


JQL = ["status = Done", "labels = triage ORDER BY created DESC"]  # valid, inside any project
#: Where a move goes: another project than the issue keys' (a move within ENG is refused).
TARGETS = ["OPS", "DATA"]


@st.composite
def objects(draw: st.DrawFn, schema: Mapping[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = [n for n in properties if n in schema.get("required", [])]
    optional = [n for n in properties if n not in required]
    # As many optional properties as min/maxProperties allow (a form answer: exactly one).
    most = schema.get("maxProperties", len(properties)) - len(required)
    least = max(schema.get("minProperties", 0) - len(required), 0)
    chosen = required + draw(
        st.lists(st.sampled_from(optional), min_size=least, max_size=most, unique=True)
        if optional
        else st.just([])
    )
    return {
        name: draw(
            st.sampled_from(JQL)
            if name == "jql"
            else st.sampled_from(TARGETS)
            if name == "targetProjectKey"
            else values(properties[name])
        )
        for name in chosen
    }


#: The proxy's generic actions (docs/proxy.md): their template and project follow from the
#: path, which random details almost never satisfy.
REST_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "jira_rest_read": [
        {
            "method": "GET",
            "path": "/rest/api/3/myself",
            "template": "/rest/api/{version}/myself",
            "query": {},
        },
        {
            "method": "GET",
            "path": "/rest/api/2/issue/ENG-1/watchers",
            "template": "/rest/api/{version}/issue/{issueIdOrKey}/watchers",
            "query": {"expand": ["names"]},
            "projectKey": "ENG",
        },
    ],
    "jira_rest_write": [
        {
            "method": "POST",
            "path": "/rest/api/3/issue/ENG-1/watchers",
            "template": "/rest/api/{version}/issue/{issueIdOrKey}/watchers",
            "query": {},
            "projectKey": "ENG",
            "body": "bob",
        },
        {
            "method": "DELETE",
            "path": "/rest/agile/1.0/sprint/12",
            "template": "/rest/agile/1.0/sprint/{id}",
            "query": {},
        },
    ],
}


@st.composite
def originals(draw: st.DrawFn, action: str) -> dict[str, Any]:
    if action in REST_EXAMPLES:  # a path and its template agree: drawn, not generated
        return dict(draw(st.sampled_from(REST_EXAMPLES[action])))
    details = draw(objects(load_action_schema(action)))
    if isinstance(details.get("tickets"), list):
        details["issueCount"] = len(details["tickets"])
    try:
        validate_details(action, details)
    except ActionError:
        assume(False)
    return details


@st.composite
def narrowing_of(draw: st.DrawFn, value: Any, schema: Mapping[str, Any]) -> Any:
    """A value a reviewer might narrow `value` to (or, often enough, get slightly wrong)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return draw(st.sampled_from([value, max(value - 1, 0), 0, value + 1]))
    if value in PRIORITIES:
        return draw(st.sampled_from(PRIORITIES))
    if isinstance(value, list):
        kept = [item for item in value if draw(st.booleans())] or value[:1]
        item_schema = schema.get("items") or {}
        return [
            draw(narrowing_of(item, item_schema)) if isinstance(item, dict) else item
            for item in kept
        ]
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        kept = {k: v for k, v in value.items() if draw(st.booleans())} or dict(value)
        return {k: draw(narrowing_of(v, properties.get(k, {}))) for k, v in kept.items()}
    return draw(st.sampled_from([value, *TEXTS]))


@st.composite
def patches(draw: st.DrawFn, action: str, original: Mapping[str, Any]) -> dict[str, Any]:
    properties = load_action_schema(action)["properties"]
    names = draw(
        st.lists(st.sampled_from([*properties, "bogus"]), min_size=1, max_size=3, unique=True)
    )
    patch: dict[str, Any] = {}
    for name in names:
        schema = properties.get(name, {"type": "integer"})
        if name in original and draw(st.integers(0, 3)):
            patch[name] = draw(narrowing_of(original[name], schema))
        else:
            patch[name] = draw(values(schema))
    if "tickets" in patch and isinstance(patch["tickets"], list) and draw(st.booleans()):
        patch["issueCount"] = len(patch["tickets"])
    return patch


def rank(priority: Any) -> int:
    return len(PRIORITIES) - PRIORITIES.index(priority)


def ticket_view(details: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What each created ticket gets, with the bulk fields filled in."""
    return [
        {
            "summary": t["summary"],
            "description": t.get("description"),
            "issueType": t.get("issueType", details["issueType"]),
            "priority": t.get("priority", details["priority"]),
            "labels": set(t.get("labels", details.get("labels", []))),
        }
        for t in details.get("tickets", [])
    ]


def narrows_ticket(proposed: Mapping[str, Any], ticket: Mapping[str, Any]) -> bool:
    """A created ticket does no more than a proposed one: a reworded summary, a lower or
    equal priority, fewer labels; the rest the same."""
    return (
        proposed["description"] == ticket["description"]
        and proposed["issueType"] == ticket["issueType"]
        and rank(ticket["priority"]) <= rank(proposed["priority"])
        and ticket["labels"] <= proposed["labels"]
    )


def tickets_narrow(proposed: list[dict[str, Any]], created: list[dict[str, Any]]) -> bool:
    """Whether each created ticket narrows its own proposed ticket, in order: no ticket
    added, none used twice (every order-preserving matching, tried by dynamic programming,
    independently of the rules code's greedy matching)."""
    # fits[i][j]: the first i created tickets match within the first j proposed ones.
    fits = [[i == 0 for _ in range(len(proposed) + 1)] for i in range(len(created) + 1)]
    for i in range(1, len(created) + 1):
        for j in range(1, len(proposed) + 1):
            fits[i][j] = fits[i][j - 1] or (
                fits[i - 1][j - 1] and narrows_ticket(proposed[j - 1], created[i - 1])
            )
    return fits[len(created)][len(proposed)]


TEXT_FIELDS = {"summary", "description", "comment", "body", "name", "goal", "title"}
NARROWER_LISTS = {
    "issueKeys",
    "childIssueKeys",
    "addChildIssueKeys",
    "fields",
    "addLabels",
    "removeLabels",
}


def not_wider(action: str, original: Mapping[str, Any], effective: Mapping[str, Any]) -> None:
    """The oracle: asserts, from what each field does in Jira, that `effective` does no more."""
    assert project_of(effective) == project_of(original)
    assert count_of(action, effective) <= count_of(action, original)
    assert issue_keys_of(effective) <= issue_keys_of(original)
    added = set(effective) - set(original)
    assert added <= {"deleteSubtasks"}
    if added:
        assert effective["deleteSubtasks"] is False  # unset means false
    created_labels = {"labels"} if action.startswith("jira_create") else set()
    for key, after in effective.items():
        before = original.get(key)
        if key == "priority":
            assert rank(after) <= rank(before)
        elif isinstance(after, list) and key in NARROWER_LISTS | created_labels:
            assert set(after) <= set(before)
        elif key in ("issueCount", "maxResults", "storyPoints"):
            assert after <= before
        elif key == "deleteSubtasks":
            assert after is False or before is True
        elif key == "fields" and isinstance(after, dict):
            assert set(after) <= set(before)
            for name, value in after.items():
                if name == "priority":
                    assert rank(value) <= rank(before[name])
                elif name not in TEXT_FIELDS:
                    assert value == before[name]
        elif key == "updates":
            most = Counter()
            for update in before:
                most[update["issueKey"]] = max(most[update["issueKey"]], update["storyPoints"])
            assert Counter(u["issueKey"] for u in after) <= Counter(u["issueKey"] for u in before)
            assert all(u["storyPoints"] <= most[u["issueKey"]] for u in after)
        elif key == "versions":
            # Some of the proposed versions, in their order, each with its name and dates.
            proposed = {v["name"]: v for v in before}
            names = [v["name"] for v in after]
            assert names == [v["name"] for v in before if v["name"] in names]
            for version in after:
                for name in ("startDate", "releaseDate"):
                    assert version.get(name) == proposed[version["name"]].get(name)
        elif key == "tickets":
            assert tickets_narrow(ticket_view(original), ticket_view(effective))
        elif key == "answers":
            # Some of the proposed form answers, in order, each to its own question with the
            # same kind of value; only a text may be reworded.
            proposed = {a["questionId"]: a for a in before}
            ids = [a["questionId"] for a in after]
            assert ids == [a["questionId"] for a in before if a["questionId"] in ids]
            for answer in after:
                assert set(answer) == set(proposed[answer["questionId"]])
                assert {k: v for k, v in answer.items() if k != "text"} == {
                    k: v for k, v in proposed[answer["questionId"]].items() if k != "text"
                }
        elif key not in TEXT_FIELDS:
            assert after == before, key


TOP_FIELD = re.compile(r"^/([^/]*)")


@pytest.mark.parametrize("action", ACTION_NAMES)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_accepted_edit_is_not_wider_and_a_refused_one_names_the_field(action, data):
    original = data.draw(originals(action), label="original")
    patch = data.draw(patches(action, original), label="patch")
    try:
        effective = narrowed_details(action, original, patch)
    except EditRefusedError as error:
        assert error.violations and "(rule: " in str(error)
        named = {TOP_FIELD.match(v.pointer).group(1) for v in error.violations}
        # Each refusal is about a field the patch sets (or the ticket count it implies).
        assert named & {*patch, "issueCount"}, (named, patch)
        return
    validate_details(action, effective)
    not_wider(action, original, effective)
    assert effective == apply_patch(action, original, patch)


# --------------------------------------------------------------------------- the docs


def test_the_table_in_the_approvals_docs_says_exactly_what_the_rules_do():
    from tests.helpers.service import REPO_ROOT

    text = (REPO_ROOT / "docs" / "approvals.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(jira_\w+)` \| (.*)$", text, flags=re.MULTILINE))
    assert set(rows) == set(ACTION_NAMES)
    for action, row in rows.items():
        may, fixed = row.rsplit(" | ", 1)
        rules = EDIT_RULES[action]
        for name, rule in rules.items():
            assert f"`{name}`" in may, (action, name)
            if isinstance(rule, EditRule):
                assert rule.value in may.split(f"`{name}`", 1)[1], (action, name, rule)
        for name in set(load_action_schema(action)["properties"]) - set(rules):
            assert f"`{name}`" in fixed, (action, name)
