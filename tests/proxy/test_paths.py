"""Path normalisation (catalog/rest.py): one reading of every accepted path, refusal of
every ambiguous one, and templates and projects the catalog recomputes (no claiming)."""

from __future__ import annotations

from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiragate.catalog import parse_envelope
from jiragate.catalog.rest import (
    RestPathError,
    is_template,
    owned_ids,
    parse_rest_path,
    project_of_path,
)
from jiragate.errors import InvalidDetailsError

PIECES = st.sampled_from([*"abcENG-0123456789._~%2Ff;\\/ ", "%2e", "%25", "%3B", "%41"])
SEGMENTS = st.lists(PIECES, max_size=8).map("".join)


V = "/rest/api/{version}"


@pytest.mark.parametrize(
    ("path", "template", "project"),
    [
        ("/rest/api/3/issue/ENG-1", "/rest/api/{version}/issue/{issueIdOrKey}", "ENG"),
        (
            "/rest/api/2/issue/10001/watchers",
            "/rest/api/{version}/issue/{issueIdOrKey}/watchers",
            None,
        ),
        (
            "/rest/api/3/project/OPS/versions",
            "/rest/api/{version}/project/{projectIdOrKey}/versions",
            "OPS",
        ),
        ("/rest/agile/1.0/sprint/12/issue", "/rest/agile/1.0/sprint/{id}/issue", None),
        ("/rest/api/latest/serverInfo/", "/rest/api/{version}/serverInfo", None),
        (
            "/rest/api/3/issue/ENG-1/comment/10010",
            "/rest/api/{version}/issue/{issueIdOrKey}/comment/{id}",
            "ENG",
        ),
        (
            "/rest/servicedeskapi/servicedesk/1/queue/3/issue",
            "/rest/servicedeskapi/servicedesk/{serviceDeskId}/queue/{queueId}/issue",
            None,
        ),
        (
            "/rest/servicedeskapi/servicedesk/OPS/requesttype/11/field",
            "/rest/servicedeskapi/servicedesk/{projectIdOrKey}/requesttype/{requestTypeId}/field",
            "OPS",
        ),
        (
            "/rest/servicedeskapi/request/OPS-1/sla",
            "/rest/servicedeskapi/request/{issueIdOrKey}/sla",
            "OPS",
        ),
        ("/rest/servicedeskapi/request", "/rest/servicedeskapi/request", None),
        # JSM's own ids are all digits: a queue "named" otherwise is a literal segment.
        (
            "/rest/servicedeskapi/servicedesk/2/queue/open",
            "/rest/servicedeskapi/servicedesk/{serviceDeskId}/queue/open",
            None,
        ),
        ("/rest/servicedeskapi/organization/5", "/rest/servicedeskapi/organization/{id}", None),
    ],
)
def test_templates_and_projects(path: str, template: str, project: str | None):
    parsed = parse_rest_path(path)
    assert (parsed.template, project_of_path(parsed)) == (template, project)
    assert is_template(template)


@pytest.mark.parametrize(
    "path",
    [
        "/rest/api/3/issue/ENG-1/../OPS-1",
        "/rest/api/3/./issue/OPS-1",
        "/rest/api/3//issue/OPS-1",
        "/rest/api/3/issue/ENG-1%2F..%2FOPS-1",
        "/rest/api/3/issue/ENG-1%2f..%2fOPS-1",
        "/rest/api/3/issue/ENG-1%252F..%252FOPS-1",
        "/rest/api/3/issue/%2e%2e/OPS-1",
        "/rest/api/3/issue/ENG-1;jsessionid=x",
        "/rest/api/3/issue/ENG-1%3Bx",
        "/rest/api/3/issue/ENG-1\\..\\OPS-1",
        "/rest/api/3/issue/ENG-1%5C..%5COPS-1",
        "/rest/api/3/issue/ENG-1%zz",
        "/rest/api/3/issue/ENG\u00e91",
        "/rest/api/3/issue/ENG 1",
        "/rest/servicedeskapi/servicedesk/1/../2/queue",
        "/rest/servicedeskapi/servicedesk/1%2F..%2F2/queue",
        "/rest/servicedeskapi/request/OPS-1%2e%2e/sla",
        "/rest/servicedeskapi//request",
        "/rest/servicedesk/request",
        "/rest/api/4/issue/ENG-1",
    ],
)
def test_ambiguous_paths_are_refused(path: str):
    with pytest.raises(RestPathError):
        parse_rest_path(path)


@settings(max_examples=400, deadline=None)
@given(st.lists(SEGMENTS, min_size=1, max_size=5))
def test_an_accepted_path_has_one_reading(segments: list[str]):
    raw = "/rest/api/3/" + "/".join(segments)
    try:
        parsed = parse_rest_path(raw)
    except RestPathError:
        return
    # What is classified is what is forwarded, and reading it again changes nothing: no
    # decoding step left could turn it into another path (no %, no dot segments, no ;).
    again = parse_rest_path(parsed.path)
    assert (again.path, again.template) == (parsed.path, parsed.template)
    assert unquote(parsed.path) == parsed.path
    assert not {".", "..", ""} & set(parsed.path.split("/")[1:])
    assert ";" not in parsed.path and "\\" not in parsed.path
    # Its segments are the raw segments, decoded once (an encoded slash never splits one).
    assert len(parsed.path.split("/")) == len(raw.rstrip("/").split("/"))


@given(st.sampled_from(["ENG-1", "OPS-7", "10001"]), st.sampled_from(["ENG", "OPS", None]))
def test_a_generic_action_cannot_claim_another_template_or_project(key, claimed):
    path = f"/rest/api/3/issue/{quote(key)}/watchers"
    details = {
        "method": "POST",
        "path": path,
        "template": "/rest/api/{version}/issue/{issueIdOrKey}/votes",
        "query": {},
        "body": "bob",
    }
    if claimed:
        details["projectKey"] = claimed
    with pytest.raises(InvalidDetailsError) as refused:
        parse_envelope({"action": "jira_rest_write", "summary": "x", "details": details})
    assert "/template" in {v.pointer for v in refused.value.violations}
    details["template"] = "/rest/api/{version}/issue/{issueIdOrKey}/watchers"
    real = key.split("-")[0] if "-" in key else None
    if key.isdigit():
        # An issue by id: its project is Jira's answer, which the catalog cannot read; the
        # gateway sets it and refuses another claim (tests/proxy/test_generic_scope.py).
        parse_envelope({"action": "jira_rest_write", "summary": "x", "details": details})
    elif claimed != real:
        with pytest.raises(InvalidDetailsError):
            parse_envelope({"action": "jira_rest_write", "summary": "x", "details": details})
    else:
        request = parse_envelope({"action": "jira_rest_write", "summary": "x", "details": details})
        assert request.kind.value == "write"


def test_templates_the_proxy_never_produces():
    for text in (
        "/rest/api/3/issue/{issueIdOrKey}",
        "/rest/api/{version}/issue/ENG-1",
        "/rest/api/{version}/issue/{id}",
        "/rest/api/{version}/issue/{issueIdOrKey}/",
        "issue/{issueIdOrKey}",
        "/rest/servicedeskapi/{version}/request",
        "/rest/servicedeskapi/servicedesk/1/queue",
        "/rest/api/{version}/issue/{queueId}",
    ):
        assert not is_template(text), text


@pytest.mark.parametrize(
    ("path", "owned"),
    [
        ("/rest/api/3/version/10100/relatedIssueCounts", (("version", "10100"),)),
        ("/rest/api/2/issue/10013/properties", (("issue", "10013"),)),
        ("/rest/api/3/project/10001/properties", (("project", "10001"),)),
        ("/rest/agile/1.0/board/2/sprint", (("board", "2"),)),
        ("/rest/agile/1.0/sprint/7/properties/x", (("sprint", "7"),)),
        ("/rest/servicedeskapi/servicedesk/1/customer", (("servicedesk", "1"),)),
        ("/rest/servicedeskapi/request/10013/participant", (("issue", "10013"),)),
        ("/rest/api/3/component/10200", (("component", "10200"),)),
        # By key, or naming no object by number: nothing to ask Jira.
        ("/rest/api/3/issue/ENG-1/properties", ()),
        ("/rest/api/3/project/OPS/properties", ()),
        ("/rest/api/3/serverInfo", ()),
    ],
)
def test_the_ids_whose_project_only_jira_knows(path: str, owned: tuple) -> None:
    assert owned_ids(parse_rest_path(path)) == owned


def test_every_owned_kind_is_one_the_gateway_can_locate() -> None:
    """catalog/rest.py is pure and names kinds as text; jira/owners.py locates them."""
    from typing import get_args

    from jiragate.catalog import rest
    from jiragate.jira.owners import Kind

    assert set(rest._OWNED_AFTER.values()) <= set(get_args(Kind))
