"""jiragate.jira.spec against Atlassian's shipped OpenAPI documents."""

from __future__ import annotations

import pytest

from jiragate.errors import OpenAPISpecError
from jiragate.jira import spec

ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": []}]}
CREATE = {"fields": {"project": {"key": "ENG"}, "summary": "s", "issuetype": {"name": "Bug"}}}


def test_valid_requests_have_no_problems() -> None:
    assert spec.validate_request("POST", "/rest/api/3/issue", body=CREATE) == []
    assert (
        spec.validate_request("POST", "/rest/api/3/issue/bulk", body={"issueUpdates": [CREATE]})
        == []
    )
    assert spec.validate_request("GET", "/rest/api/3/issue/ENG-1/transitions") == []
    assert (
        spec.validate_request(
            "POST", "/rest/agile/1.0/sprint/102/issue", body={"issues": ["ENG-1"]}
        )
        == []
    )


def test_literal_segments_win_over_parameters() -> None:
    assert spec.find_operation("PUT", "/rest/api/3/issue/archive").template.endswith("/archive")
    operation = spec.find_operation("GET", "/rest/api/3/issue/ENG-7")
    assert operation.path_params == {"issueIdOrKey": "ENG-7"}


def test_unknown_path_and_method_are_problems() -> None:
    assert "matches no path" in spec.validate_request("GET", "/rest/api/3/nope/1")[0]
    (problem,) = spec.validate_request("PATCH", "/rest/api/3/issue/ENG-1")
    assert "PATCH" in problem and "GET" in problem
    assert "not under" in spec.validate_request("GET", "/wiki/api")[0]


def test_body_problems_name_the_pointer() -> None:
    problems = spec.validate_request(
        "POST", "/rest/api/3/search/jql", body={"jql": "project = ENG", "maxResults": "ten"}
    )
    assert problems == ["body/maxResults: 'ten' is not of type 'integer'"]
    assert spec.validate_request("POST", "/rest/api/3/issue", body=None) == [
        "a JSON request body is required"
    ]
    assert spec.validate_request("GET", "/rest/api/3/field", body={"x": 1}) == [
        "this operation takes no request body"
    ]


def test_parameters_are_coerced_and_checked() -> None:
    assert spec.validate_request("GET", "/rest/api/3/search/jql?jql=a&maxResults=10") == []
    (problem,) = spec.validate_request("GET", "/rest/api/3/search/jql", query={"maxResults": "x"})
    assert "maxResults" in problem and "integer" in problem
    (problem,) = spec.validate_request("GET", "/rest/agile/1.0/sprint/abc")
    assert "sprintId" in problem


def test_flavours_differ_on_rich_text() -> None:
    plain = {"fields": {**CREATE["fields"], "description": "plain"}}
    rich = {"fields": {**CREATE["fields"], "description": ADF}}
    assert spec.validate_request("POST", "/rest/api/2/issue", body=plain) == []
    assert spec.validate_request("POST", "/rest/api/3/issue", body=rich) == []
    assert "ADF" in spec.validate_request("POST", "/rest/api/3/issue", body=plain)[0]
    assert "plain text" in spec.validate_request("POST", "/rest/api/2/issue", body=rich)[0]
    assert (
        "ADF"
        in spec.validate_request("POST", "/rest/api/3/issue/ENG-1/comment", body={"body": "plain"})[
            0
        ]
    )
    assert (
        spec.validate_request("POST", "/rest/api/2/issue/ENG-1/comment", body={"body": "x"}) == []
    )


def test_unassign_with_null_is_accepted_but_wrong_types_are_not() -> None:
    path = "/rest/api/3/issue/ENG-1/assignee"
    assert spec.validate_request("PUT", path, body={"accountId": None}) == []
    assert (
        spec.validate_request("PUT", "/rest/api/2/issue/ENG-1/assignee", body={"name": None}) == []
    )
    assert spec.validate_request("PUT", path, body={"accountId": 7}) != []


def test_responses_are_checked_against_the_declared_status() -> None:
    ok = {"id": "1", "key": "ENG-1", "self": "http://x/rest/api/3/issue/1"}
    assert spec.validate_response("POST", "/rest/api/3/issue", 201, ok) == []
    problems = spec.validate_response("POST", "/rest/api/3/issue", 201, {**ok, "extra": 1})
    assert problems and "extra" in problems[0]
    (problem,) = spec.validate_response("GET", "/rest/api/3/field", 418, None)
    assert "418 is not declared" in problem
    assert spec.validate_response("POST", "/rest/api/3/issue", 201, None) != []


def test_errors_retired_search_and_universal_statuses() -> None:
    error = {"errorMessages": ["no"], "errors": {}}
    assert spec.validate_response("GET", "/rest/api/3/search", 410, error) == []
    assert spec.validate_response("GET", "/rest/api/3/search/jql", 410, error) != []
    assert spec.validate_response("PUT", "/rest/api/3/issue/ENG-1/assignee", 429, error) == []
    assert spec.validate_response("DELETE", "/rest/api/3/issue/ENG-1", 404, error) == []
    assert spec.validate_response("DELETE", "/rest/api/3/issue/ENG-1", 404, {"msg": "x"}) != []
    assert spec.validate_response("GET", "/rest/agile/1.0/sprint/1", 404, error) == []


def test_agile_sprints_use_sprint_bean() -> None:
    sprint = {"id": 1, "name": "s", "state": "active", "originBoardId": 1}
    assert spec.validate_response("GET", "/rest/agile/1.0/sprint/1", 200, sprint) == []
    assert spec.validate_response("GET", "/rest/agile/1.0/sprint/1", 200, {**sprint, "x": 1}) != []
    page = {"startAt": 0, "maxResults": 50, "isLast": True, "values": [sprint]}
    assert spec.validate_response("GET", "/rest/agile/1.0/board/1/sprint", 200, page) == []


def test_jira_timestamps_are_accepted_but_garbage_is_not() -> None:
    comment = {"id": "1", "body": ADF, "created": "2024-05-01T09:00:00.000+0000"}
    assert spec.validate_response("POST", "/rest/api/3/issue/ENG-1/comment", 201, comment) == []
    comment["created"] = "yesterday"
    assert spec.validate_response("POST", "/rest/api/3/issue/ENG-1/comment", 201, comment) != []


def test_a_missing_spec_file_fails_loudly(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(spec, "SPEC_DIR", tmp_path)
    spec.load_spec.cache_clear()
    try:
        with pytest.raises(OpenAPISpecError, match=r"jira-platform\.v3\.json"):
            spec.validate_request("GET", "/rest/api/3/field")
    finally:
        monkeypatch.undo()
        spec.load_spec.cache_clear()
    assert spec.validate_request("GET", "/rest/api/3/field") == []
