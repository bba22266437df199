"""A generic action (jira_rest_read/jira_rest_write: a Jira REST call no row maps) whose path
names its project only by an id is scoped by the project Jira places that id in
(catalog/rest.owned_ids, Gateway._scoped_by_jira): a policy denying project OPS holds for
OPS's issue, project, board and service desk named by number, through the proxy and on
/v1/actions, and a projectKey claimed otherwise is refused.

Over real HTTP: a Jiragate (uvicorn) in front of the Jira sandbox (OPS is project 10001,
OPS-1 is issue 10013, board 2 and service desk 1; ENG is 10000, ENG-3 is 10003, board 1,
desk 2), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jiragate.catalog.rest import parse_rest_path
from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.service import Service
from tests.proxy.support import service_with_policy
from tests.proxy.test_read_rows import client

POLICY = """\
review_groups:
  engineering-leads: {description: Leads, members: [lead-alice]}
rules:
  - id: ops-is-off-limits
    match: {project: OPS}
    decision: deny
    reason: Project OPS is off limits to agents.
  - id: reads
    match: {kind: read}
    decision: allow
"""

#: (OPS's path, the same call on ENG's object): generic reads no row maps.
PAIRS = [
    ("/rest/api/3/issue/10013/properties", "/rest/api/3/issue/10003/properties"),
    ("/rest/api/2/project/10001/properties", "/rest/api/2/project/10000/properties"),
    ("/rest/agile/1.0/board/2/properties", "/rest/agile/1.0/board/1/properties"),
    ("/rest/servicedeskapi/servicedesk/1/customer", "/rest/servicedeskapi/servicedesk/2/customer"),
    (
        "/rest/servicedeskapi/request/10013/participant",
        "/rest/servicedeskapi/request/10003/participant",
    ),
]


@pytest.fixture
def strict(db_url: str, tmp_path: Path) -> Iterator[Service]:  # noqa: F811
    with service_with_policy(db_url, tmp_path, POLICY) as running:
        yield running


def test_an_object_named_by_id_is_scoped_by_its_project_in_jira(strict: Service) -> None:
    with client(strict) as jira:
        for ops_path, eng_path in PAIRS:
            before = len(list(strict.sandbox.logged()))
            denied = jira.get(ops_path)
            assert denied.status_code == 400, (ops_path, denied.text)
            assert "ops-is-off-limits" in denied.json()["errorMessages"][0], ops_path
            reached = [r.path for r in list(strict.sandbox.logged())[before:]]
            assert ops_path not in reached, ops_path  # looked up, never forwarded
            allowed = jira.get(eng_path)
            assert "ops-is-off-limits" not in allowed.text, eng_path
    recorded = strict.agent.get("/v1/actions", params={"action": "jira_rest_read"}).json()
    scoped = {
        item["details"]["path"]: item["details"].get("projectKey") for item in recorded["items"]
    }
    for ops_path, eng_path in PAIRS:
        assert scoped[ops_path] == "OPS" and scoped[eng_path] == "ENG", scoped


def test_an_id_jira_does_not_know_leaves_the_action_unscoped(strict: Service) -> None:
    with client(strict) as jira:
        answer = jira.get("/rest/api/3/issue/99999/properties")
    assert answer.status_code == 404, answer.text  # Jira's own answer, forwarded


def envelope(path: str, **extra: str) -> dict:
    details = {
        "method": "GET",
        "path": path,
        "template": parse_rest_path(path).template,  # as the proxy would send it
        "query": {},
        **extra,
    }
    return {"action": "jira_rest_read", "summary": "generic read", "details": details}


def test_v1_actions_scopes_the_same_way_and_refuses_another_claim(strict: Service) -> None:
    path = "/rest/api/3/issue/10013/properties"
    denied = strict.agent.post("/v1/actions", json=envelope(path))
    assert denied.status_code == 403, denied.text
    assert denied.json()["rule"] == "ops-is-off-limits"
    refused = strict.agent.post("/v1/actions", json=envelope(path, projectKey="ENG"))
    assert refused.status_code == 422, refused.text
    assert "issue 10013 is in project 'OPS', not 'ENG'" in refused.json()["message"]
    allowed = strict.agent.post("/v1/actions", json=envelope("/rest/api/3/issue/10003/properties"))
    assert allowed.json()["details"]["projectKey"] == "ENG", allowed.text
