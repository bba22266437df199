"""The HTTP edge over real HTTP: authentication, hostile input, policies and their reload,
operations endpoints, the audit trail, and that no secret ever leaks."""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.support import (
    DB_KINDS,
    audit_events,
    copy_policies,
    envelope,
    seed_tickets,
    service_on,
)
from tests.helpers.service import KEYS, Service


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_policies(tmp_path_factory.mktemp("edge-policies"))


@pytest.fixture(scope="module", params=DB_KINDS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, policy_dir: Path
) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("edge")
    # The watcher would notice test_reload's edits on its own and race the explicit reload
    # (tests/faults/test_policy_convergence.py covers it): here it waits a minute a round.
    with service_on(
        request, request.param, directory, policy_dir=policy_dir, policy_poll_interval=60
    ) as running:
        yield running


@pytest.fixture
def anonymous(service: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as client:
        yield client


def refusals(service: Service, type_: str) -> list[dict]:
    return [e for e in audit_events(service) if e["type"] == type_]


# ----------------------------------------------------------------------------- 13. auth


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({}, "missing API key"),
        ({"Authorization": "Bearer not-a-key-at-all-0000"}, "unknown API key"),
        ({"Authorization": f"Basic {KEYS['log-triage-bot']}"}, "missing API key"),
        ({"Authorization": f"Bearer {KEYS['retired-bot']}"}, "revoked"),
    ],
    ids=["no-key", "wrong-key", "wrong-scheme", "revoked-key"],
)
def test_bad_credentials_get_a_json_401_and_are_audited(
    service: Service, anonymous: httpx.Client, headers: dict, says: str
):
    before = len(refusals(service, "auth.refused"))
    response = anonymous.post("/v1/actions", json=seed_tickets(), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert says in response.json()["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    events = refusals(service, "auth.refused")
    assert len(events) == before + 1
    assert events[-1]["data"]["path"] == "/v1/actions"
    assert says in events[-1]["data"]["reason"]


def test_a_reviewer_cannot_submit_actions(service: Service):
    response = service.client("lead-alice").post("/v1/actions", json=seed_tickets())
    assert response.status_code == 403
    assert response.json() == {
        "error": "forbidden",
        "message": "lead-alice is a reviewer, not an agent",
    }


def test_an_agent_cannot_decide_approvals(service: Service):
    action = service.agent.post("/v1/actions", json=seed_tickets()).json()
    response = service.client("ide-assistant").post(
        f"/v1/approvals/{action['id']}/decision", json={"verdict": "approve"}
    )
    assert response.status_code == 403
    assert service.agent_view(action["id"])["status"] == "pending_approval"


def test_another_agents_action_is_not_found_and_the_attempt_audited(service: Service):
    action = service.agent.post("/v1/actions", json=seed_tickets()).json()
    response = service.client("ide-assistant").get(f"/v1/actions/{action['id']}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    [event] = [e for e in audit_events(service, action["id"]) if e["type"] == "access.refused"]
    assert event["actor"] == "ide-assistant"


def test_an_agent_lists_only_its_own_actions(service: Service):
    refused = service.agent.get("/v1/actions", params={"agent": "ide-assistant"})
    assert refused.status_code == 403
    mine = service.agent.get("/v1/actions").json()["items"]
    assert mine and {item["agent"] for item in mine} == {"log-triage-bot"}


def test_a_reviewer_lists_only_their_groups_actions(service: Service):
    service.agent.post("/v1/actions", json=envelope("jira_delete_issues", issueKeys=["ENG-6"]))
    groups = {
        i["review_group"] for i in service.client("lead-bob").get("/v1/actions").json()["items"]
    }
    assert groups == {"engineering-leads"}
    forbidden = service.client("lead-bob").get("/v1/actions", params={"group": "project-managers"})
    assert forbidden.status_code == 403


# ----------------------------------------------------------------------------- 14. hostile input


def post_raw(service: Service, content: bytes) -> httpx.Response:
    return service.agent.post(
        "/v1/actions", content=content, headers={"Content-Type": "application/json"}
    )


def test_hostile_bodies_are_refused_and_nothing_is_lost(service: Service):
    before = len(service.agent.get("/v1/actions", params={"limit": 200}).json()["items"])
    limit = service.gateway.settings.max_body_bytes

    too_big = post_raw(service, b'{"action": "' + b"x" * limit + b'"}')
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
        for _ in range(limit // 1024 + 2):
            yield b"x" * 1024

    streamed = service.agent.post(
        "/v1/actions", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413

    not_utf8 = post_raw(service, b'{"action": "\xff\xfe"}')
    assert not_utf8.status_code == 400
    assert "not UTF-8" in not_utf8.json()["message"]

    deep = post_raw(service, b"[" * 5000 + b"]" * 5000)
    assert deep.status_code == 400
    assert "nested deeper" in deep.json()["message"]

    nested_object = {"action": "jira_get_issue", "summary": "x", "details": {}}
    node = nested_object["details"]
    for _ in range(40):
        node["a"] = {}
        node = node["a"]
    assert post_raw(service, json.dumps(nested_object).encode()).status_code == 400

    array = post_raw(service, b"[1, 2, 3]")
    assert array.status_code == 400
    assert "expected a JSON object, got list" in array.json()["message"]

    broken = post_raw(service, b'{"action": ')
    assert broken.status_code == 400 and "line 1" in broken.json()["message"]

    smuggled = envelope("jira_search", jql="status = Done", projectKey="ENG OR project = HR")
    injected = service.agent.post("/v1/actions", json=smuggled)
    assert injected.status_code == 422
    assert [v["pointer"] for v in injected.json()["violations"]] == ["/projectKey"]

    huge = seed_tickets()
    huge["details"]["issueCount"] = 10**9
    assert service.agent.post("/v1/actions", json=huge).status_code == 422

    relabelled = {**seed_tickets(), "kind": "read"}
    refused = service.agent.post("/v1/actions", json=relabelled)
    assert refused.status_code == 400 and "'kind'" in refused.json()["message"]

    after = service.agent.get("/v1/actions", params={"limit": 200}).json()["items"]
    assert len(after) == before  # none of these was recorded, let alone executed
    ok = service.agent.post("/v1/actions", json=envelope("jira_get_issue", issueKey="ENG-3"))
    assert ok.status_code == 200 and ok.json()["status"] == "executed"


def test_markup_in_a_summary_is_stored_verbatim_and_returned_as_json_text(service: Service):
    body = seed_tickets()
    body["summary"] = '<script>alert("x")</script> & friends'
    response = service.agent.post("/v1/actions", json=body)
    assert response.status_code == 202
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["summary"] == body["summary"]
    stored = service.gateway._store.get_action(response.json()["id"])
    assert stored is not None and stored.summary == body["summary"]


# ----------------------------------------------------------------------------- 15. policies


def test_the_running_policies_are_readable(service: Service):
    response = service.agent.get("/v1/policies")
    assert response.status_code == 200
    body = response.json()
    assert body["revision"].startswith("sha256:")
    assert {g["name"] for g in body["groups"]} == {"engineering-leads", "project-managers"}
    rules = {r["id"]: r for r in body["rules"]}
    assert rules["deny-bulk-deletes"]["decision"] == "deny"
    assert re.search(r"destructive\.yaml:\d+$", rules["deny-bulk-deletes"]["location"])


def test_reload_refuses_a_broken_set_and_keeps_the_running_one(service: Service, policy_dir: Path):
    admin = service.client("auditor")
    running = admin.get("/v1/policies").json()["revision"]
    assert service.client("lead-alice").post("/v1/policies/reload").status_code == 403
    assert service.agent.post("/v1/policies/reload").status_code == 403

    extra = policy_dir / "zz-extra.yaml"
    extra.write_text(
        "rules:\n  - id: broken\n    match: {action: jira_create_epic}\n    decision: maybe\n",
        encoding="utf-8",
    )
    try:
        refused = admin.post("/v1/policies/reload")
        assert refused.status_code == 422, refused.text
        body = refused.json()
        assert body["error"] == "invalid_policies"
        assert body["running_revision"] == running
        assert any(e["file"].endswith("zz-extra.yaml") and e["line"] for e in body["errors"])
        assert admin.get("/v1/policies").json()["revision"] == running

        extra.write_text(
            "rules:\n  - id: extra-epics\n    match: {action: jira_create_epic}\n"
            "    decision: require_approval\n    route_to: project-managers\n",
            encoding="utf-8",
        )
        reloaded = admin.post("/v1/policies/reload")
        assert reloaded.status_code == 200, reloaded.text
        assert reloaded.json()["previous_revision"] == running
        assert reloaded.json()["revision"] != running
        assert admin.get("/v1/policies").json()["revision"] == reloaded.json()["revision"]
    finally:
        extra.unlink()
        assert admin.post("/v1/policies/reload").json()["revision"] == running
    types = [e["type"] for e in audit_events(service)]
    assert "policy.reload_refused" in types and "policy.reloaded" in types


# ----------------------------------------------------------------------------- 16. operations


def test_health_readiness_and_metrics(service: Service, anonymous: httpx.Client):
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"
    service.agent.post("/v1/actions", json=envelope("jira_get_issue", issueKey="ENG-2"))
    service.agent.post(
        "/v1/actions",
        json=envelope("jira_delete_issues", issueKeys=[f"ENG-{i}" for i in range(1, 12)]),
    )
    text = anonymous.get("/metrics").text
    assert 'jiragate_decisions_total{action="jira_get_issue",decision="allow"}' in text
    assert 'jiragate_decisions_total{action="jira_delete_issues",decision="deny"}' in text
    assert (
        'jiragate_decisions_total{action="jira_create_tickets",decision="require_approval"}' in text
    )


def test_the_audit_chain_verifies_and_exports_as_jsonl(service: Service):
    admin = service.client("auditor")
    verified = admin.get("/v1/audit/verify").json()
    assert verified["ok"] is True and verified["checked"] > 0
    export = admin.get("/v1/audit/export")
    assert export.headers["content-type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in export.text.splitlines()]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert len(events) == verified["checked"]
    for previous, event in itertools.pairwise(events):
        assert event["prev_hash"] == previous["hash"]
    assert service.agent.get("/v1/audit").status_code == 403
    assert service.client("lead-alice").get("/v1/audit/export").status_code == 403


# ----------------------------------------------------------------------------- 17. secrets


def test_no_secret_leaks_into_answers_audit_metrics_or_logs(
    service: Service, anonymous: httpx.Client, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    bodies = [
        anonymous.get("/v1/actions").text,
        anonymous.get("/v1/actions", headers={"Authorization": "Bearer x" * 3}).text,
        service.client("retired-bot").get("/v1/actions").text,
        service.agent.post("/v1/actions", json=envelope("jira_get_issue", issueKey="ENG-999")).text,
        service.agent.post("/v1/actions", json=seed_tickets()).text,
        service.client("lead-alice").post("/v1/actions", json=seed_tickets()).text,
        service.client("lead-alice")
        .post("/v1/approvals/act_nope/decision", json={"verdict": "approve"})
        .text,
        service.agent.get("/v1/policies").text,
        anonymous.post("/v1/webhooks/cheqpoint", content=b'{"id": "x"}').text,
        anonymous.get("/readyz").text,
        anonymous.get("/metrics").text,
        service.client("auditor").get("/v1/audit/export").text,
        anonymous.get("/openapi.json").text,
    ]
    failed = json.loads(bodies[3])
    assert failed["status"] == "failed"  # Jira's 404 is reported, not our credentials
    haystacks = [*bodies, caplog.text]
    secrets = service.gateway.settings.secrets()
    assert len(secrets) >= 9
    for secret in secrets:
        for text in haystacks:
            assert secret not in text
