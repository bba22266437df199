"""The action catalog: kinds, schemas, the envelope, and the invariants beyond the schemas."""

from __future__ import annotations

import json

import jsonschema
import pytest

from jiragate.catalog import (
    ACTION_NAMES,
    CATALOG,
    ActionKind,
    apply_patch,
    count_of,
    parse_envelope,
    project_of,
    schemas_dir,
    widening_reasons,
)
from jiragate.errors import ActionError, InvalidDetailsError, UnknownActionError
from tests.policy.samples import SEED, envelope

REQUIRED = {
    "read": {"jira_get_issue", "jira_search", "jira_get_transitions", "jira_list_sprints"},
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
    },
    "destructive": {"jira_delete_issues", "jira_archive_issues"},
}


def test_catalog_has_every_required_action_with_its_kind():
    for kind, names in REQUIRED.items():
        assert {n for n in ACTION_NAMES if CATALOG[n].kind == kind} == names


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
        "jira_create_tickets", projectKey="ENG", issueCount=0, issueType="Bug", priority="Urgent"
    )
    with pytest.raises(InvalidDetailsError) as caught:
        parse_envelope(bad)
    violations = {(v.pointer, v.rule) for v in caught.value.violations}
    assert ("/issueCount", "minimum") in violations
    assert ("/priority", "enum") in violations


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
    assert grown == ["the count grew from 12 to 20"]
    moved = widening_reasons("jira_create_tickets", original, {**original, "projectKey": "OPS"})
    assert moved == ["the project changed from ENG to OPS"]
    added = widening_reasons(
        "jira_delete_issues", {"issueKeys": ["ENG-1"]}, {"issueKeys": ["ENG-2"]}
    )
    assert added == ["issues were added: ENG-2"]
