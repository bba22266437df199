"""More read rows (proxy/read_rows.py): the paged version and component lists, the deprecated
`GET /issue/createmeta?projectKeys=` and the development panel (`/rest/dev-status/...`),
each the catalog read an agent on /v1/actions would name, decided the same way (the same
decision on /v1/evaluate), forwarded with Jira's own answer; on the Cloud and the Data Center
sandbox profiles, over real HTTP, on SQLite and PostgreSQL.

A request its row cannot scope is refused naming what to send, before Jira and without a
recorded action; a policy denying the project holds through the proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.service import Service, running_dc_service
from tests.proxy.support import latest, service_with_policy
from tests.proxy.test_read_rows import client, straight

# (path, query) -> (action, details): what an agent on /v1/actions would send.
Read = tuple[str, dict[str, Any], str, dict[str, Any]]

CLOUD_READS: list[Read] = [
    (
        "/rest/api/3/project/ENG/version",
        {"status": "released", "maxResults": "10", "orderBy": "-name"},
        "jira_list_versions",
        {"projectKey": "ENG", "released": True},
    ),
    (
        "/rest/api/3/project/ENG/version",
        {"status": "unreleased"},
        "jira_list_versions",
        {"projectKey": "ENG", "released": False},
    ),
    (
        "/rest/api/2/project/ENG/version",
        {"query": "check", "status": "released,archived", "startAt": "0"},
        "jira_list_versions",
        {"projectKey": "ENG"},
    ),
    (
        "/rest/api/3/project/ENG/component",
        {"maxResults": "1", "orderBy": "name", "query": "c"},
        "jira_list_components",
        {"projectKey": "ENG"},
    ),
    (
        "/rest/api/3/issue/createmeta",
        {"projectKeys": "ENG", "issuetypeNames": "Bug", "expand": "projects.issuetypes.fields"},
        "jira_get_create_meta",
        {"projectKey": "ENG", "issueType": "Bug"},
    ),
    (
        "/rest/api/3/issue/createmeta",
        {"projectKeys": "ENG"},
        "jira_get_create_meta",
        {"projectKey": "ENG"},
    ),
    # The development panel, as the issue view and mcp-atlassian read it (ENG-3 is 10003).
    (
        "/rest/dev-status/latest/issue/summary",
        {"issueId": "10003"},
        "jira_get_development_info",
        {"issueKeys": ["ENG-3"]},
    ),
    (
        "/rest/dev-status/1.0/issue/detail",
        {"issueId": "10003", "applicationType": "GitHub", "dataType": "pullrequest"},
        "jira_get_development_info",
        {"issueKeys": ["ENG-3"], "applicationType": "GitHub", "dataType": "pullrequest"},
    ),
]

DC_READS: list[Read] = [
    (
        "/rest/api/2/project/ENG/version",
        {"status": "unreleased", "maxResults": "5"},
        "jira_list_versions",
        {"projectKey": "ENG", "released": False},
    ),
    # What pycontribs' createmeta() and mcp-atlassian on Server/DC send.
    (
        "/rest/api/2/issue/createmeta",
        {
            "projectKeys": "ENG",
            "issuetypeNames": "Sub-task",
            "expand": "projects.issuetypes.fields",
        },
        "jira_get_create_meta",
        {"projectKey": "ENG", "issueType": "Sub-task"},
    ),
    (
        "/rest/dev-status/1.0/issue/detail",
        {"issueId": "10003", "applicationType": "GitHub", "dataType": "branch"},
        "jira_get_development_info",
        {"issueKeys": ["ENG-3"], "applicationType": "GitHub", "dataType": "branch"},
    ),
]


def check_reads(service: Service, reads: list[Read]) -> None:
    """Each read: recorded as its action with these details, the decision /v1/evaluate gives
    the same envelope, and Jira's own answer (but for links pointing at the proxy)."""
    with client(service) as jira:
        for path, query, action, details in reads:
            answer = jira.get(path, params=query)
            assert answer.status_code == 200, (path, answer.text)
            record = latest(service, action)
            assert (record["action"], record["details"]) == (action, details), path
            envelope = {"action": action, "summary": "same", "details": details}
            direct = service.agent.post("/v1/evaluate", json=envelope).json()
            assert direct["decision"] == record["decision"]["decision"] == "allow", path
            expected = straight(service, "GET", path, query, None).json()
            text = str(expected).replace(service.sandbox_url, service.url)
            assert str(answer.json()) == text, path


def test_each_cloud_read_is_its_catalog_action_with_jiras_answer(service: Service) -> None:
    check_reads(service, CLOUD_READS)


@pytest.fixture
def dc(db_url: str, tmp_path: Path) -> Iterator[Service]:  # noqa: F811
    with running_dc_service(db_url, policy_dir=tmp_path / "policies", policy=READS_POLICY) as dc:
        yield dc


READS_POLICY = """\
review_groups:
  engineering-leads: {description: Leads, members: [lead-alice]}
rules:
  - id: reads
    match: {kind: read}
    decision: allow
"""


def test_each_data_center_read_is_its_catalog_action_with_jiras_answer(dc: Service) -> None:
    check_reads(dc, DC_READS)
    # Data Center has no paged component list: Jira's own 404, for the action it would be.
    with client(dc) as jira:
        answer = jira.get("/rest/api/2/project/ENG/component")
    assert answer.status_code == 404, answer.text
    assert latest(dc, "jira_list_components")["details"] == {"projectKey": "ENG"}


def test_a_page_is_forwarded_as_sent(service: Service) -> None:
    """The version and component actions read the project's whole list (they carry no
    maxResults to cap), so the page asked for is Jira's; a page that is not a number is
    refused before Jira."""
    with client(service) as jira:
        answer = jira.get("/rest/api/3/project/ENG/version", params={"maxResults": "1"})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["values"]) == 1 and answer.json()["total"] == 2
    sent = [r for r in service.sandbox.logged() if r.path == "/rest/api/3/project/ENG/version"]
    assert "maxResults=1" in sent[-1].query


REFUSED = [
    ("/rest/api/3/project/10000/version", {}, "project key"),
    ("/rest/api/3/project/10000/component", {}, "project key"),
    ("/rest/api/3/project/ENG/version", {"maxResults": "-1"}, "negative"),
    ("/rest/api/3/project/ENG/component", {"startAt": "first"}, "must be a number"),
    ("/rest/api/3/project/ENG/version", {"status": ["released", "archived"]}, "more than once"),
    ("/rest/api/3/issue/createmeta", {}, "projectKeys=ENG"),
    ("/rest/api/3/issue/createmeta", {"projectKeys": "ENG,OPS"}, "names 2 projects"),
    ("/rest/api/2/issue/createmeta", {"projectKeys": ["ENG", "OPS"]}, "names 2 projects"),
    ("/rest/api/3/issue/createmeta", {"projectIds": "10000"}, "not projectIds"),
    (
        "/rest/api/3/issue/createmeta",
        {"projectKeys": "ENG", "issuetypeIds": "1"},
        "not issuetypeIds",
    ),
    (
        "/rest/api/3/issue/createmeta",
        {"projectKeys": "ENG", "issuetypeNames": "Bug,Task"},
        "one issue type per request",
    ),
    ("/rest/dev-status/latest/issue/summary", {}, "issueId=10001"),
    ("/rest/dev-status/latest/issue/summary", {"issueId": "ENG-3"}, "issueId=10001"),
    ("/rest/dev-status/1.0/issue/detail", {"issueId": ["10003", "10004"]}, "more than once"),
]


@pytest.mark.parametrize(("path", "query", "named"), REFUSED)
def test_a_read_its_row_cannot_scope_is_refused_naming_what_to_send(
    service: Service, path: str, query: dict[str, Any], named: str
) -> None:
    with client(service) as jira:
        answer = jira.get(path, params=query)
    assert answer.status_code == 400, answer.text
    assert named in answer.json()["errorMessages"][0]
    assert not [r for r in service.sandbox.logged() if r.path == path]
    assert service.agent.get("/v1/actions").json()["items"] == []


POLICY = """\
review_groups:
  engineering-leads: {description: Leads, members: [lead-alice]}
rules:
  - id: ops-is-off-limits
    match: {kind: read, project: OPS}
    decision: deny
    reason: Project OPS is not readable by agents.
  - id: reads
    match: {kind: read}
    decision: allow
"""


@pytest.fixture
def strict(db_url: str, tmp_path: Path) -> Iterator[Service]:  # noqa: F811
    with service_with_policy(db_url, tmp_path, POLICY) as running:
        yield running


DENIED = [
    ("/rest/api/3/project/OPS/version", {"status": "released"}),
    ("/rest/api/3/project/OPS/component", {}),
    (
        "/rest/api/2/issue/createmeta",
        {"projectKeys": "OPS", "expand": "projects.issuetypes.fields"},
    ),
    # OPS-1 is 10013: dev-status names no project, Jira places the issue in OPS.
    ("/rest/dev-status/latest/issue/summary", {"issueId": "10013"}),
    ("/rest/dev-status/1.0/issue/detail", {"issueId": "10013", "applicationType": "GitHub"}),
]


def test_an_issue_jira_does_not_know_is_its_404(service: Service) -> None:
    with client(service) as jira:
        answer = jira.get("/rest/dev-status/latest/issue/summary", params={"issueId": "99999"})
    assert answer.status_code == 404, answer.text
    assert "does not exist" in answer.json()["errorMessages"][0]
    assert not [r for r in service.sandbox.logged() if "/dev-status/" in r.path]
    assert service.agent.get("/v1/actions").json()["items"] == []


def test_a_data_type_the_action_does_not_read_is_refused(service: Service) -> None:
    """jira_get_development_info reads pull requests, branches and repositories: a detail of
    builds is not its read, refused by the catalog's schema before Jira."""
    with client(service) as jira:
        answer = jira.get(
            "/rest/dev-status/1.0/issue/detail",
            params={"issueId": "10003", "applicationType": "GitHub", "dataType": "build"},
        )
    assert answer.status_code == 400, answer.text
    assert "dataType" in answer.text
    assert not [r for r in service.sandbox.logged() if "/dev-status/" in r.path]
    assert service.agent.get("/v1/actions").json()["items"] == []


def test_a_deny_on_the_project_holds_through_the_proxy(strict: Service) -> None:
    before = len(list(strict.sandbox.logged()))
    with client(strict) as jira:
        for path, query in DENIED:
            answer = jira.get(path, params=query)
            assert answer.status_code == 400, (path, answer.text)
            assert "ops-is-off-limits" in answer.json()["errorMessages"][0], path
        # The same reads of ENG are allowed.
        assert jira.get("/rest/api/3/project/ENG/version").status_code == 200
        assert jira.get("/rest/api/3/issue/createmeta", params={"projectKeys": "ENG"}).is_success
        summary = "/rest/dev-status/latest/issue/summary"
        assert jira.get(summary, params={"issueId": "10003"}).status_code == 200
    reached = [(r.path, r.query) for r in list(strict.sandbox.logged())[before:]]
    assert not [p for p, _ in reached if "/OPS/" in p]
    assert not [q for p, q in reached if p.endswith("/createmeta") and "OPS" in q]
    assert not [q for p, q in reached if "/dev-status/" in p and "10013" in q]


def test_the_same_intent_is_denied_on_v1_evaluate(strict: Service) -> None:
    for action, details in (
        ("jira_list_versions", {"projectKey": "OPS", "released": True}),
        ("jira_list_components", {"projectKey": "OPS"}),
        ("jira_get_create_meta", {"projectKey": "OPS"}),
        ("jira_get_development_info", {"issueKeys": ["OPS-1"]}),
    ):
        envelope = {"action": action, "summary": "same", "details": details}
        decided = strict.agent.post("/v1/evaluate", json=envelope).json()
        assert decided["decision"] == "deny", action
        assert decided["determining_rule"] == "ops-is-off-limits", action
