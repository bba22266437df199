"""The Jira REST proxy end to end: a real Jiragate (uvicorn) in front of the Jira sandbox, on
SQLite and PostgreSQL, spoken to the way Jira clients speak to Jira (docs/proxy.md)."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import httpx
import pytest

from tests.helpers.echo_upstream import create_echo_upstream
from tests.helpers.servers import serve_app
from tests.helpers.service import JIRA_EMAIL, JIRA_TOKEN, KEYS, Service, running_service
from tests.proxy.conftest import AGENT_KEY, basic
from tests.proxy.support import held_action

HIGH = {
    "fields": {
        "project": {"key": "ENG"},
        "issuetype": {"name": "Task"},
        "summary": "Checkout is down for EU users",
        "priority": {"name": "High"},
        "labels": ["proxy-test"],
    }
}


def decide(service: Service, reviewer: str, action_id: str, **body: object) -> httpx.Response:
    response = service.client(reviewer).post(
        f"/v1/approvals/{action_id}/decision", json={"verdict": "approve", **body}
    )
    assert response.status_code == 200, response.text
    return response


def raw(service: Service, method: str, path: str, headers: list[tuple[str, str]], body=b""):
    """A request exactly as written (no client-side normalisation of the path)."""
    url = urlsplit(service.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", url.netloc)
        for name, value in headers:
            connection.putheader(name, value)
        if body:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read() or b"null")
    finally:
        connection.close()


# --------------------------------------------------------------------------- reads


def test_reads_are_forwarded_unchanged_with_the_service_account(service: Service, jira):
    before = len(list(service.sandbox.logged()))
    issue = jira.get("/rest/api/3/issue/ENG-1", params={"fields": "summary,status"})
    assert issue.status_code == 200, issue.text
    assert issue.json()["key"] == "ENG-1"
    assert set(issue.json()["fields"]) == {"summary", "status"}
    # Links point at the proxy, so a client following `self` stays behind the gate.
    assert issue.json()["self"].startswith(service.url)
    assert service.sandbox_url not in issue.text
    # Basic with any user name and the agent key as the password is the same agent.
    with httpx.Client(base_url=service.url, headers=basic("anyone@example.com", AGENT_KEY)) as c:
        assert c.get("/rest/api/2/serverInfo").status_code == 200
    seen = list(service.sandbox.logged())[before:]
    # Jira saw our service account (Basic), never the agent's Bearer key.
    assert {entry.auth for entry in seen} == {"basic"}
    actions = service.agent.get("/v1/actions", params={"action": "jira_get_issue"}).json()
    assert actions["items"][0]["details"] == {"issueKey": "ENG-1", "fields": ["summary", "status"]}


def test_a_search_runs_the_catalogs_jql_inside_its_project(service: Service, jira):
    found = jira.get(
        "/rest/api/3/search/jql",
        params={"jql": "project = ENG AND status = 'To Do'", "fields": "summary"},
    )
    assert found.status_code == 200, found.text
    keys = {issue["key"] for issue in found.json()["issues"]}
    assert keys and all(key.startswith("ENG-") for key in keys)
    sent = [e for e in service.sandbox.logged() if e.path.endswith("/search/jql")][-1]
    assert 'project = "ENG"' in sent.query.replace("+", " ").replace("%22", '"').replace(
        "%3D", "="
    ).replace("%20", " ")
    # JQL across projects is refused the way /v1/actions refuses it, with the position.
    across = jira.get("/rest/api/3/search/jql", params={"jql": "project in (ENG, OPS)"})
    assert across.status_code == 400
    assert "JQL position" in across.json()["errorMessages"][0]


# --------------------------------------------------------------------------- writes


def test_gated_create_then_approved_with_edits_runs_once(service: Service, jira):
    held = jira.post("/rest/api/3/issue", json=HIGH)
    action_id = held_action(held)
    message = held.json()["errorMessages"][0]
    assert "engineering-leads" in message and "high-priority-creation" in message
    assert f"/v1/actions/{action_id}" in message
    # Sent again before anyone decided: the same action, still pending.
    assert held_action(jira.post("/rest/api/3/issue", json=HIGH)) == action_id
    edited = "Checkout is down for EU card payments"
    decide(service, "lead-alice", action_id, modifiedDetails={"summary": edited})
    service.wait_for_status(action_id, "executed")
    created = jira.post("/rest/api/3/issue", json=HIGH)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert created.json()["self"] == f"{service.url}/rest/api/3/issue/{key}"
    again = jira.post("/rest/api/3/issue", json=HIGH)
    assert (again.status_code, again.json()["key"]) == (201, key)
    issues = service.sandbox_issues(label="proxy-test")
    assert [(i.key, i.summary, i.priority) for i in issues] == [(key, edited, "High")]


def test_a_resent_request_is_the_senders_own_action_only(service: Service, jira):
    first = held_action(jira.post("/rest/api/3/issue", json=HIGH))
    other_key = KEYS["ide-assistant"]
    with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {other_key}"}) as c:
        second = held_action(c.post("/rest/api/3/issue", json=HIGH))
        decide(service, "lead-alice", first)
        service.wait_for_status(first, "executed")
        # The other agent's identical request is its own action: still pending, nothing made.
        assert held_action(c.post("/rest/api/3/issue", json=HIGH)) == second
    assert second != first
    assert len(service.sandbox_issues(label="proxy-test")) == 1


def test_bulk_create_approved_as_four_creates_exactly_those(service: Service, jira):
    updates = [
        {
            "fields": {
                "project": {"key": "ENG"},
                "issuetype": {"name": "Bug"},
                "summary": f"Log error {n}",
                "priority": {"name": "High"},
                "labels": ["bulk-proxy"],
            }
        }
        for n in range(12)
    ]
    action_id = held_action(jira.post("/rest/api/2/issue/bulk", json={"issueUpdates": updates}))
    edit = {"issueCount": 4, "priority": "Medium"}
    decide(service, "lead-alice", action_id, modifiedDetails=edit)
    service.wait_for_status(action_id, "executed")
    done = jira.post("/rest/api/2/issue/bulk", json={"issueUpdates": updates})
    assert done.status_code == 201, done.text
    assert len(done.json()["issues"]) == 4
    made = service.sandbox_issues(label="bulk-proxy")
    assert sorted(i.summary for i in made) == [f"Log error {n}" for n in range(4)]
    assert {i.priority for i in made} == {"Medium"}


def test_denied_and_rejected_requests_name_the_rule_and_the_note(service: Service, jira):
    flood = {
        "issueUpdates": [
            {
                "fields": {
                    "project": {"key": "ENG"},
                    "issuetype": {"name": "Task"},
                    "summary": f"flood {n}",
                }
            }
            for n in range(51)
        ]
    }
    denied = jira.post("/rest/api/3/issue/bulk", json=flood)
    assert denied.status_code == 400, denied.text
    assert "deny-ticket-floods" in denied.json()["errorMessages"][0]
    assert "More than 50 tickets" in denied.json()["errorMessages"][0]
    deleting = held_action(jira.delete("/rest/api/3/issue/ENG-3"))
    service.client("pm-carol").post(
        f"/v1/approvals/{deleting}/decision",
        json={"verdict": "reject", "note": "ENG-3 is still referenced by the release"},
    ).raise_for_status()
    rejected = jira.delete("/rest/api/3/issue/ENG-3")
    assert rejected.status_code == 400
    assert "still referenced by the release" in rejected.json()["errorMessages"][0]
    assert "ENG-3" in service.sandbox.issues


def test_the_same_intent_gets_the_same_decision_through_both_paths(service: Service, jira):
    proxied = held_action(jira.post("/rest/api/3/issue", json=HIGH))
    record = service.agent_view(proxied)
    envelope = {"action": record["action"], "summary": "same", "details": record["details"]}
    evaluated = service.agent.post("/v1/evaluate", json=envelope)
    submitted = service.agent.post("/v1/actions", json=envelope)
    assert evaluated.status_code == 200 and submitted.status_code in (200, 201, 202)
    direct = evaluated.json()
    assert record["details"] == {
        "projectKey": "ENG",
        "issueType": "Task",
        "summary": "Checkout is down for EU users",
        "priority": "High",
        "labels": ["proxy-test"],
    }
    assert direct["decision"] == record["decision"]["decision"] == "require_approval"
    assert submitted.json()["rule"] == record["rule"]
    assert submitted.json()["review_group"] == record["review_group"] == "engineering-leads"
    assert direct["determining_rule"] == record["rule"] == "high-priority-creation"


def test_an_unmapped_write_is_a_generic_action_that_falls_to_the_defaults(service: Service, jira):
    path = "/rest/api/3/issue/ENG-1/properties/release.train"
    held = jira.put(path, json={"train": "2024.06"})
    action_id = held_action(held)
    record = service.agent_view(action_id)
    assert record["action"] == "jira_rest_write"
    assert (
        record["details"]["template"]
        == "/rest/api/{version}/issue/{issueIdOrKey}/properties/release.train"
    )
    assert record["details"]["projectKey"] == "ENG"
    assert record["rule"] is None  # no rule names it: the write default (approval)
    decide(service, "pm-carol", action_id)
    service.wait_for_status(action_id, "executed")
    done = jira.put(path, json={"train": "2024.06"})
    assert done.status_code in (200, 201), done.text
    with service.sandbox.lock:
        assert service.sandbox.issues["ENG-1"].properties["release.train"] == {"train": "2024.06"}
    metrics = service.agent.get("/metrics").text
    assert 'jiragate_proxy_decisions_total{action="jira_rest_write"' in metrics


BOB_ACCOUNT = "5b10a2844c20165700ede21b"
ALICE_ACCOUNT = "5b10a2844c20165700ede21a"


def test_watchers_worklogs_comments_and_links_are_their_catalog_actions(service: Service, jira):
    # Each endpoint is the action an agent on /v1/actions would name, with the same details,
    # so the policies on jira_add_watcher (...) govern the proxy too.
    cases = [
        (
            jira.post("/rest/api/3/issue/ENG-1/watchers", json=BOB_ACCOUNT),
            "jira_add_watcher",
            {"issueKey": "ENG-1", "user": BOB_ACCOUNT},
        ),
        (
            jira.post(
                "/rest/api/3/issue/ENG-2/worklog",
                json={"timeSpent": "1h 30m", "comment": "triage"},
            ),
            "jira_add_worklog",
            {"issueKey": "ENG-2", "timeSpent": "1h 30m", "comment": "triage"},
        ),
        (
            jira.post(
                "/rest/api/3/issueLink",
                json={
                    "type": {"name": "Blocks"},
                    "inwardIssue": {"key": "ENG-2"},
                    "outwardIssue": {"key": "ENG-4"},
                },
            ),
            "jira_create_issue_link",
            {"issueKey": "ENG-2", "linkType": "Blocks", "otherIssueKey": "ENG-4"},
        ),
        (
            jira.post(
                "/rest/api/3/issue/ENG-2/remotelink",
                json={"object": {"url": "https://ci.example.com/42", "title": "CI run 42"}},
            ),
            "jira_create_remote_link",
            {"issueKey": "ENG-2", "url": "https://ci.example.com/42", "title": "CI run 42"},
        ),
        (
            jira.delete("/rest/api/3/issue/ENG-2/comment/10001"),
            "jira_delete_comment",
            {"issueKey": "ENG-2", "commentId": "10001"},
        ),
    ]
    for answer, action, details in cases:
        record = service.agent_view(held_action(answer))
        assert (record["action"], record["details"]) == (action, details)
    watcher = held_action(jira.post("/rest/api/3/issue/ENG-1/watchers", json=BOB_ACCOUNT))
    decide(service, "pm-carol", watcher)
    service.wait_for_status(watcher, "executed")
    done = jira.post("/rest/api/3/issue/ENG-1/watchers", json=BOB_ACCOUNT)
    assert done.status_code == 204, done.text
    with service.sandbox.lock:
        assert service.sandbox.issues["ENG-1"].watchers.count(BOB_ACCOUNT) == 1


REVIEWER_OF = {"engineering-leads": "lead-alice", "project-managers": "pm-carol"}


def test_components_and_the_backlog_are_their_catalog_actions_and_run_once(service: Service, jira):
    component = {"project": "ENG", "name": "Payments", "leadAccountId": ALICE_ACCOUNT}
    backlog = {"issues": ["ENG-2"]}
    cases = [
        (
            "/rest/api/3/component",
            component,
            "jira_create_component",
            {"projectKey": "ENG", "name": "Payments", "lead": ALICE_ACCOUNT},
        ),
        (
            "/rest/agile/1.0/backlog/issue",
            backlog,
            "jira_move_to_backlog",
            {"issueKeys": ["ENG-2"]},
        ),
    ]
    for path, body, action, details in cases:
        action_id = held_action(jira.post(path, json=body))
        record = service.agent_view(action_id)
        assert (record["action"], record["details"]) == (action, details)
        decide(service, REVIEWER_OF[record["review_group"]], action_id)
        service.wait_for_status(action_id, "executed")
    created = jira.post("/rest/api/3/component", json=component)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Payments" and created.json()["id"]
    assert jira.post("/rest/agile/1.0/backlog/issue", json=backlog).status_code == 204
    again = jira.post("/rest/api/3/component", json=component)  # sent again: the same one
    assert again.json()["id"] == created.json()["id"]
    with service.sandbox.lock:
        named = [c for c in service.sandbox.components.values() if c.name == "Payments"]
    assert len(named) == 1
    # A body naming the lead twice, or by project id, is refused rather than guessed.
    for refused in (
        {**component, "leadUserName": "alice"},
        {"projectId": 10000, "name": "Payments"},
    ):
        answer = jira.post("/rest/api/3/component", json=refused)
        assert answer.status_code == 400, answer.text
        assert answer.json()["errorMessages"], answer.text


def test_a_query_parameter_the_action_does_not_carry_is_refused_not_dropped(service: Service, jira):
    # adjustEstimate changes what Jira does with the worklog: dropping it would run
    # something other than what the client asked for.
    answer = jira.post(
        "/rest/api/3/issue/ENG-2/worklog",
        params={"adjustEstimate": "new", "newEstimate": "2d"},
        json={"timeSpent": "1h"},
    )
    assert answer.status_code == 400, answer.text
    assert "adjustEstimate" in answer.json()["errorMessages"][0]
    with service.sandbox.lock:
        assert service.sandbox.issues["ENG-2"].worklogs == []


# --------------------------------------------------------------------------- attacks


PATH_TRICKS = [
    "/rest/api/3/issue/ENG-1/../../../rest/api/3/issue/OPS-1",
    "/rest/api/3/issue/ENG-1/%2e%2e/OPS-1",
    "/rest/api/3/issue/ENG-1%2F..%2FOPS-1",
    "/rest/api/3/issue/ENG-1%252F..%252FOPS-1",
    "/rest/api/3/issue/ENG-1;x=OPS-1/comment",
    "/rest/api/3//issue/OPS-1",
    "/rest/api/3/issue/ENG-1\\..\\OPS-1",
    "/rest/api/3/./issue/OPS-1",
]


@pytest.mark.parametrize("path", PATH_TRICKS)
def test_ambiguous_paths_are_refused_before_anything_runs(service: Service, path: str):
    before = len(list(service.sandbox.logged()))
    status, body = raw(
        service,
        "POST",
        path,
        [("Authorization", f"Bearer {AGENT_KEY}"), ("Content-Type", "application/json")],
        json.dumps({"body": "x"}).encode(),
    )
    assert status == 400, body
    assert body["errors"] == {} and "Jiragate refuses this path" in body["errorMessages"][0]
    assert len(list(service.sandbox.logged())) == before


def test_jira_credentials_and_reviewer_keys_are_refused(service: Service):
    before = len(list(service.sandbox.logged()))
    cases = [
        (basic(JIRA_EMAIL, JIRA_TOKEN), 401),  # the service account's own Jira token
        ({"Authorization": "Bearer jira-personal-access-token"}, 401),
        ({}, 401),
        ({"Authorization": f"Bearer {KEYS['lead-alice']}"}, 403),
        ({"Authorization": f"Bearer {KEYS['retired-bot']}"}, 401),
        ({"Authorization": "Digest abc"}, 401),
    ]
    for headers, status in cases:
        with httpx.Client(base_url=service.url, headers=headers) as client:
            answer = client.get("/rest/api/3/issue/ENG-1")
        assert answer.status_code == status, (headers, answer.text)
        assert set(answer.json()) == {"errorMessages", "errors"}
    assert len(list(service.sandbox.logged())) == before


def test_smuggling_shapes_and_bodies_are_refused(service: Service):
    before = len(list(service.sandbox.logged()))
    agent = ("Authorization", f"Bearer {AGENT_KEY}")
    twice = raw(service, "GET", "/rest/api/3/issue/ENG-1", [agent, agent])
    assert twice[0] == 400 and "more than once" in twice[1]["errorMessages"][0]
    payload = json.dumps({"body": "x" * (300 * 1024)}).encode()
    json_type = ("Content-Type", "application/json")
    big = raw(service, "POST", "/rest/api/3/issue/ENG-1/comment", [agent, json_type], payload)
    assert big[0] == 413 and "limit" in big[1]["errorMessages"][0]
    get_body = raw(service, "GET", "/rest/api/3/issue/ENG-1", [agent, json_type], b"{}")
    assert get_body[0] == 400
    form = raw(
        service,
        "POST",
        "/rest/api/3/issue/ENG-1/comment",
        [agent, ("Content-Type", "application/x-www-form-urlencoded")],
        b"body=x",
    )
    assert form[0] == 415
    nan = raw(service, "POST", "/rest/api/3/issue/ENG-1/comment", [agent, json_type], b'{"a":NaN}')
    assert nan[0] == 400
    assert len(list(service.sandbox.logged())) == before
    refusals = service.agent.get("/metrics").text
    assert 'jiragate_proxy_refusals_total{reason="body"}' in refusals


def test_nothing_the_agent_sent_reaches_jira_and_echoed_credentials_are_masked(db_url: str):
    """Jira behind an upstream that echoes every header it got in its error body."""
    upstream, seen = create_echo_upstream("json", 400)
    with serve_app(upstream) as echo_url, running_service(db_url, jira={"url": echo_url}) as svc:
        status, body = raw(
            svc,
            "GET",
            "/rest/api/3/issue/ENG-1",
            [
                ("Authorization", f"Bearer {AGENT_KEY}"),
                ("Cookie", "JSESSIONID=agent-session-cookie"),
                ("Proxy-Authorization", "Basic YWdlbnQ6cHJveHk="),
                ("X-Forwarded-For", "203.0.113.9"),
                ("Connection", "keep-alive, X-Smuggle"),
                ("X-Smuggle", "1"),
                ("TE", "trailers"),
            ],
        )
    assert status == 400  # Jira's (the echo's) own answer, passed on
    sent = seen[-1]
    assert sent["authorization"].startswith("Basic ")  # the service account, not the agent
    assert AGENT_KEY not in json.dumps(seen)
    for header in ("cookie", "proxy-authorization", "x-forwarded-for", "x-smuggle", "te"):
        assert header not in sent, header
    echoed = json.dumps(body)
    assert sent["authorization"].split()[1] not in echoed and JIRA_TOKEN not in echoed
    assert "[redacted]" in echoed


def test_a_search_sent_twice_by_post_is_two_fresh_reads(service: Service, jira):
    query = {"jql": "project = ENG ORDER BY key", "maxResults": 2, "fields": ["summary"]}
    first = jira.post("/rest/api/3/search/jql", json=query)
    second = jira.post("/rest/api/3/search/jql", json=query)
    assert first.status_code == second.status_code == 200, second.text
    assert first.json()["issues"] == second.json()["issues"] != []
