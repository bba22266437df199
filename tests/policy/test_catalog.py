"""The action catalog: kinds, schemas, the envelope, and the invariants beyond the schemas."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiragate.catalog import (
    ACTION_NAMES,
    CATALOG,
    ActionKind,
    apply_patch,
    count_of,
    get_spec,
    load_action_schema,
    parse_envelope,
    project_of,
    schemas_dir,
    validate_details,
    widening_reasons,
)
from jiragate.catalog.details import _fast_check, _validator
from jiragate.errors import ActionError, InvalidDetailsError, UnknownActionError
from tests.policy.samples import SEED, envelope

REQUIRED = {
    "read": {
        "jira_get_issue",
        "jira_search",
        "jira_get_transitions",
        "jira_list_sprints",
        "jira_rest_read",
    },
    "write": {
        "jira_create_ticket",
        "jira_create_tickets",
        "jira_transition_issues",
        "jira_move_to_sprint",
        "jira_update_story_points",
        "jira_update_fields",
        "jira_assign_issues",
        "jira_add_comment",
        "jira_create_epic",
        "jira_update_epic",
        "jira_create_release",
        "jira_update_release",
        "jira_release_version",
        "jira_rest_write",
    },
    "destructive": {"jira_delete_issues", "jira_archive_issues"},
}
# Issue-level writes (issue 12): deleting what an issue holds is destructive.
ISSUE_WRITE_KINDS = {
    "jira_edit_comment": "write",
    "jira_delete_comment": "destructive",
    "jira_add_worklog": "write",
    "jira_update_worklog": "write",
    "jira_delete_worklog": "destructive",
    "jira_add_watcher": "write",
    "jira_remove_watcher": "write",
    "jira_create_issue_link": "write",
    "jira_remove_issue_link": "write",
    "jira_create_remote_link": "write",
    "jira_remove_remote_link": "write",
    "jira_link_to_epic": "write",
    "jira_unlink_from_epic": "write",
    "jira_add_attachment": "write",
    "jira_delete_attachment": "destructive",
}


def test_catalog_has_every_required_action_with_its_kind():
    # The original 19 keep their kinds; actions added since are read from the catalog (a
    # hard-coded list of every action would have to be edited with each new one).
    for kind, names in REQUIRED.items():
        assert names <= {n for n in ACTION_NAMES if CATALOG[n].kind == kind}, kind
    for name in ACTION_NAMES:
        removes = name.startswith(("jira_delete_", "jira_merge_"))
        assert (CATALOG[name].kind == "destructive") == removes or name == "jira_archive_issues"
    assert {n: CATALOG[n].kind.value for n in ISSUE_WRITE_KINDS} == ISSUE_WRITE_KINDS


@pytest.mark.parametrize("name", ACTION_NAMES)
def test_every_action_has_a_valid_schema_file(name):
    path = schemas_dir() / "actions" / f"{name}.json"
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"] == name
    assert schema["description"]
    assert schema["additionalProperties"] is False


def test_the_seed_payload_validates_as_written():
    request = parse_envelope(SEED)
    assert request.kind is ActionKind.WRITE
    assert request.details == SEED["details"]
    assert count_of(request.action, request.details) == 12
    assert project_of(request.details) == "ENG"


def test_unknown_action_lists_the_known_ones():
    with pytest.raises(UnknownActionError) as caught:
        parse_envelope(envelope("jira_drop_database"))
    message = str(caught.value)
    assert "'jira_drop_database'" in message
    assert "jira_create_tickets" in message and "jira_delete_issues" in message


def test_invalid_details_name_the_pointer_and_rule():
    bad = envelope(
        "jira_create_tickets", projectKey="ENG", issueCount=0, issueType="Bug", priority=" Urgent"
    )
    with pytest.raises(InvalidDetailsError) as caught:
        parse_envelope(bad)
    violations = {(v.pointer, v.rule) for v in caught.value.violations}
    assert ("/issueCount", "minimum") in violations
    assert ("/priority", "pattern") in violations


def test_issue_count_must_agree_with_the_listed_tickets():
    details = {**SEED["details"], "tickets": [{"summary": "one"}, {"summary": "two"}]}
    with pytest.raises(InvalidDetailsError) as caught:
        parse_envelope({**SEED, "details": details})
    (violation,) = caught.value.violations
    assert violation.pointer == "/issueCount"
    assert violation.rule == "count-matches-tickets"
    assert "12" in violation.message and "2 tickets" in violation.message


def test_an_action_stays_inside_one_project():
    with pytest.raises(InvalidDetailsError) as caught:
        parse_envelope(envelope("jira_delete_issues", issueKeys=["ENG-1", "HR-2"]))
    (violation,) = caught.value.violations
    assert violation.pointer == "/issueKeys/1"
    assert violation.rule == "single-project"


def test_jql_injection_in_a_project_key_is_refused():
    with pytest.raises(InvalidDetailsError) as caught:
        parse_envelope(
            envelope(
                "jira_create_ticket", projectKey="ENG OR project = HR", issueType="Bug", summary="x"
            )
        )
    assert caught.value.violations[0].pointer == "/projectKey"


def test_absurd_counts_are_refused_by_the_schema():
    details = {**SEED["details"], "issueCount": 10**9}
    with pytest.raises(InvalidDetailsError):
        parse_envelope({**SEED, "details": details})


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], "expected a JSON object"),
        ({"summary": "x"}, "missing required field 'action'"),
        ({"action": "jira_get_issue", "details": {"issueKey": "ENG-1"}}, "summary"),
        ({**envelope("jira_delete_issues", issueKeys=["ENG-1"]), "kind": "read"}, "'kind'"),
    ],
)
def test_envelope_errors_are_clear(data, fragment):
    with pytest.raises(ActionError) as caught:
        parse_envelope(data)
    assert fragment in str(caught.value)


def test_nothing_in_the_envelope_makes_a_write_a_read():
    sneaky = {**envelope("jira_delete_issues", issueKeys=["ENG-1"]), "readonly": True}
    with pytest.raises(ActionError, match="unknown field"):
        parse_envelope(sneaky)
    request = parse_envelope(envelope("jira_delete_issues", issueKeys=["ENG-1"]))
    assert request.kind is ActionKind.DESTRUCTIVE


def test_a_reviewer_patch_keeps_the_first_tickets_and_applies_shared_fields_to_all():
    tickets = [{"summary": f"t{i}", "priority": "High"} for i in range(12)]
    details = {**SEED["details"], "tickets": tickets}
    effective = apply_patch("jira_create_tickets", details, {"issueCount": 4, "priority": "Medium"})
    assert effective["issueCount"] == 4
    assert [t["summary"] for t in effective["tickets"]] == ["t0", "t1", "t2", "t3"]
    assert all("priority" not in t for t in effective["tickets"])
    assert effective["priority"] == "Medium"
    assert details["tickets"][0]["priority"] == "High"  # the original is untouched


def test_widening_edits_are_named():
    original = SEED["details"]
    assert widening_reasons("jira_create_tickets", original, {**original, "issueCount": 4}) == []
    grown = widening_reasons("jira_create_tickets", original, {**original, "issueCount": 20})
    assert grown == [
        "/issueCount: may only be lowered, but the count grew from 12 to 20 (rule: narrow_count)"
    ]
    moved = widening_reasons("jira_create_tickets", original, {**original, "projectKey": "OPS"})
    assert moved == [
        '/projectKey: may not be changed by a reviewer (proposed "ENG", edited "OPS") (rule: fixed)'
    ]
    added = widening_reasons(
        "jira_delete_issues", {"issueKeys": ["ENG-1"]}, {"issueKeys": ["ENG-2"]}
    )
    assert added == ["/issueKeys: may only drop items, but the edit adds ENG-2 (rule: subset)"]


# --------------------------------------------------------------------------- fast vs full check

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=1200),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-5, max_value=2000),
    st.sampled_from(
        [
            "ENG",
            "eng",
            "ENG-1",
            "ENG-0",
            "OPS-12",
            "High",
            "Urgent",
            "Bug",
            "Epic",
            "",
            " ",
            "a b",
            "sprint_42",
            "2026-02-28",
            "2026-02-30",
            "2026-2-1",
            "Done",
            "-1",
            "12",
            "x" * 256,
            "customfield_10016",
            "ENG OR project = HR",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["summary", "priority", "x", "issueKey"]), inner, max_size=3
        ),
    ),
    max_leaves=8,
)


# Per field, values that are valid and values that are just off: the generated details are
# valid often enough to test that the fast check never accepts what jsonschema refuses.
PLAUSIBLE = {
    "projectKey": ["ENG", "OPS", "eng", "ENG OR project = HR"],
    "issueKey": ["ENG-1", "ENG-0", "ENG1"],
    "epicKey": ["ENG-7", "eng-7"],
    "parentKey": ["ENG-2", "ENG-"],
    "issueKeys": [["ENG-1"], ["ENG-1", "ENG-2"], [], ["ENG-1", "ENG-1"], ["ENG-x"]],
    "childIssueKeys": [["ENG-3"], []],
    "addChildIssueKeys": [["ENG-4"], ["x"]],
    "issueCount": [1, 12, 0, 1001, "12", 3.0, True],
    "issueType": ["Bug", "Epic", "Nope"],
    "priority": ["High", "Low", "Urgent", None],
    "labels": [["ai"], ["a b"], [], ["a", "a"], "ai"],
    "sprintId": [42, 0, "sprint_42", "bad!", 4.5],
    "summary": ["A summary", "", "y" * 300],
    "description": ["text", 5],
    "tickets": [[{"summary": "t"}], [{"summary": ""}], [{}], [{"summary": "t", "x": 1}]],
    "targetStatus": ["Done", "In Review", "Do ne!"],
    "comment": ["why", ""],
    "resolution": ["Done", "Fixed"],
    "assignee": ["abc123", None, "-1", "a b", ""],
    "body": ["hello", ""],
    "fields": [{"priority": "Low"}, {}, {"bogus": 1}, {"duedate": "2026-02-30"}],
    "addLabels": [["x"]],
    "removeLabels": [["y"], [1]],
    "updates": [[{"issueKey": "ENG-1", "storyPoints": 3}], [{"issueKey": "ENG-1"}], []],
    "storyPoints": [3, -1, 1001],
    "jql": ["project = ENG", ""],
    "maxResults": [1, 100, 0, 101],
    "nextPageToken": ["abc"],
    "boardId": [1, 0, "1"],
    "state": ["active", "open"],
    "name": ["v1.0", ""],
    "versionId": [10001, "10001", "v1", 0],
    "startDate": ["2026-01-05", "2026-02-30", "05/01/2026"],
    "releaseDate": ["2026-03-01", "2026-13-01"],
    "deleteSubtasks": [True, "yes"],
}


@st.composite
def near_valid(draw: st.DrawFn, action: str) -> dict:
    schema = load_action_schema(action)
    details = {
        key: draw(st.sampled_from(PLAUSIBLE[key]) if key in PLAUSIBLE else VALUES)
        for key in schema.get("required", [])
        if draw(st.integers(0, 9)) > 0  # now and then a required field is left out
    }
    optional = [key for key in schema["properties"] if key not in details]
    for key in draw(st.lists(st.sampled_from([*optional, "bogus"]), max_size=3, unique=True)):
        details[key] = draw(st.sampled_from(PLAUSIBLE[key]) if key in PLAUSIBLE else VALUES)
    return details


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(ACTION_NAMES).flatmap(lambda a: st.tuples(st.just(a), near_valid(a))))
def test_the_compiled_fast_check_agrees_with_jsonschema(case):
    action, details = case
    try:
        _fast_check(get_spec(action))(details)
        fast_ok = True
    except Exception:
        fast_ok = False
    assert fast_ok == _validator(get_spec(action)).is_valid(details), (action, details)


def test_validation_never_writes_schema_defaults_into_the_details():
    # The schema gives deleteSubtasks a default; validating must leave the agent's details as
    # sent, on the fast path as on the slow one, or the stored request and its hash would
    # depend on which validator ran.
    details = {"issueKeys": ["ENG-1"]}
    validate_details("jira_delete_issues", details)
    assert details == {"issueKeys": ["ENG-1"]}
