"""Site-wide generic reads (docs/proxy.md, "Site-wide reads"): Jira Service Management's
organizations (`GET /rest/servicedeskapi/organization`) belong to no project, so the action
has no `project` fact. A rule on its template decides it; a rule allowing an agent one
project does not match it (the defaults decide: a read no rule allows is denied); a rule
keeping an agent out of every other project (`not: {project: {in: [...]}}`) does match it,
since no project is in no list (fail closed); and no agent can give it a project.

Over real HTTP: a Jiragate (uvicorn) in front of the Jira sandbox, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.service import Service
from tests.proxy.support import service_with_policy
from tests.proxy.test_read_rows import client

ORGANIZATIONS = "/rest/servicedeskapi/organization"
ONE_PROJECT = """\
rules:
  - id: bot-reads-eng
    match: {agent: log-triage-bot, kind: read, project: ENG}
    decision: allow
    reason: The triage bot reads ENG.
"""
TEMPLATE_RULE = """\
  - id: organizations-for-the-bot
    match:
      agent: log-triage-bot
      action: jira_rest_read
      details.template: /rest/servicedeskapi/organization
    decision: allow
    reason: The triage bot may list the site's customer organizations.
"""
KEPT_OUT = """\
rules:
  - id: bot-stays-in-eng
    match:
      agent: log-triage-bot
      not: {project: {in: [ENG]}}
    decision: deny
    reason: The triage bot works in ENG only.
  - id: reads
    match: {kind: read}
    decision: allow
"""


@pytest.fixture
def policy(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[Service]:  # noqa: F811
    with service_with_policy(db_url, tmp_path, request.param) as running:
        yield running


def reached(service: Service) -> list[str]:
    return [entry.path for entry in service.sandbox.logged()]


@pytest.mark.parametrize("policy", [ONE_PROJECT], indirect=True)
def test_a_rule_for_one_project_does_not_allow_a_site_wide_read(policy: Service) -> None:
    with client(policy) as jira:
        assert jira.get("/rest/api/3/issue/ENG-1").status_code == 200
        denied = jira.get(ORGANIZATIONS)
    assert denied.status_code == 400, denied.text
    body = denied.json()
    assert "Jiragate denied this request (rule the defaults)" in body["errorMessages"][0]
    assert body["errorMessage"].startswith("Jiragate denied")  # JSM's shape too
    assert ORGANIZATIONS not in reached(policy)
    recorded = policy.agent.get("/v1/actions", params={"action": "jira_rest_read"}).json()
    [action] = recorded["items"]
    assert action["details"]["template"] == ORGANIZATIONS
    assert "projectKey" not in action["details"]  # site-wide: no project


@pytest.mark.parametrize("policy", [ONE_PROJECT + TEMPLATE_RULE], indirect=True)
def test_a_rule_on_its_template_decides_it(policy: Service) -> None:
    with client(policy) as jira:
        listed = jira.get(ORGANIZATIONS)
        other = jira.get("/rest/servicedeskapi/servicedesk")  # another site-wide read
    assert listed.status_code == 200, listed.text
    assert [o["name"] for o in listed.json()["values"]] == ["Acme Corp", "Globex"]
    assert listed.json()["_links"]["self"].startswith(policy.url)  # relinked
    assert other.status_code == 400 and "the defaults" in other.json()["errorMessage"]
    # No agent can bring it into a project, where a project rule would apply.
    details = {"method": "GET", "path": ORGANIZATIONS, "template": ORGANIZATIONS, "query": {}}
    claimed = policy.agent.post(
        "/v1/actions",
        json={
            "action": "jira_rest_read",
            "summary": "organizations",
            "details": {**details, "projectKey": "ENG"},
        },
    )
    assert claimed.status_code == 422, claimed.text
    assert "the path names no project" in claimed.text
    with client(policy, "ide-assistant") as someone_else:  # the rule is the bot's
        assert someone_else.get(ORGANIZATIONS).status_code == 400


@pytest.mark.parametrize("policy", [KEPT_OUT], indirect=True)
def test_a_rule_keeping_an_agent_out_of_other_projects_keeps_it_out(policy: Service) -> None:
    """`not: {project: {in: [ENG]}}` holds when there is no project (a condition on an
    absent fact is false, and `not` of it true): fail closed, the read is denied."""
    with client(policy) as jira:
        denied = jira.get(ORGANIZATIONS)
    assert denied.status_code == 400, denied.text
    assert "bot-stays-in-eng" in denied.json()["errorMessages"][0]
    assert ORGANIZATIONS not in reached(policy)
    with client(policy, "ide-assistant") as privileged:
        assert privileged.get(ORGANIZATIONS).status_code == 200


EXEMPTED = KEPT_OUT.replace(
    "      not: {project: {in: [ENG]}}\n",
    "      not: {project: {in: [ENG]}}\n"
    "      all:\n"
    "        - not: {details.template: /rest/servicedeskapi/organization}\n",
)


@pytest.mark.parametrize("policy", [EXEMPTED], indirect=True)
def test_a_keep_out_rule_can_leave_one_site_wide_read_to_the_other_rules(
    policy: Service,
) -> None:
    """The template named in the deny rule's own exceptions: that read alone is left to
    the other rules; other site-wide reads and other projects stay denied."""
    with client(policy) as jira:
        assert jira.get(ORGANIZATIONS).status_code == 200
        for path in ("/rest/api/3/serverInfo", "/rest/api/3/issue/OPS-1"):
            denied = jira.get(path)
            assert denied.status_code == 400 and "bot-stays-in-eng" in denied.text, path
