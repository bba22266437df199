"""The shipped hourly ticket budget over real HTTP, on SQLite and PostgreSQL: what executed
counts (12 approved as 4 count 4), a pending approval reserves its tickets, a rejection
releases them, and a request beyond the budget is denied with the budget, the usage and
when it frees up; `GET /v1/budgets` and `/metrics` say the same."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.support import DB_KINDS, audit_events, envelope, seed_tickets, service_on
from tests.helpers.service import REPO_ROOT, Service

BUDGET = "tickets-per-agent-hour"


@pytest.fixture(params=DB_KINDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    # The shipped set whole, budgets included; a fresh database per test (usage is counted
    # from it).
    with service_on(request, request.param, tmp_path, policy_dir=REPO_ROOT / "policies") as svc:
        yield svc


def submit(service: Service, body: dict, expect: int, agent: str = "log-triage-bot") -> dict:
    response = service.client(agent).post("/v1/actions", json=body)
    assert response.status_code == expect, response.text
    return response.json()


def decide(service: Service, action_id: str, verdict: str = "approve", **body: object) -> dict:
    response = service.client("lead-alice").post(
        f"/v1/approvals/{action_id}/decision", json={"verdict": verdict, **body}
    )
    assert response.status_code == 200, response.text
    return response.json()


def used(service: Service, viewer: str = "auditor", agent: str = "log-triage-bot") -> int:
    response = service.client(viewer).get("/v1/budgets")
    assert response.status_code == 200, response.text
    (budget,) = [b for b in response.json()["budgets"] if b["budget"] == BUDGET]
    assert budget["limit"] == 50 and budget["window_seconds"] == 3600
    return sum(u["used"] for u in budget["usage"] if u["agent"] == agent)


def test_executed_edits_count_reservations_hold_and_rejections_release(service: Service):
    # 12 Low tickets approved as 4: 4 are created, and 4 count.
    bulk = submit(service, seed_tickets(12, priority="Low"), 202)
    assert bulk["status"] == "pending_approval"
    assert used(service) == 12  # reserved while a reviewer decides
    decide(service, bulk["id"], modifiedDetails={"issueCount": 4})
    assert service.wait_for_status(bulk["id"], "executed")["status"] == "executed"
    assert len(service.sandbox_issues(label=bulk["details"]["labels"][1])) == 4
    assert used(service) == 4

    # 4 used + 47 asked > 50: denied, saying which budget, what was used, when it frees up.
    denied = submit(service, seed_tickets(47, priority="Low"), 403)
    assert denied["status"] == "denied"
    assert denied["rule"] == "ticket-budget"
    reason = denied["reason"]
    assert denied["decision"]["budgets"][0]["used"] == 4  # explain: used / limit / window
    assert f"budget {BUDGET}: 4 of 50 used in the last 1h, this action needs 47" in reason
    assert re.search(r"frees up at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", reason), reason
    assert used(service) == 4  # a denial reserves nothing

    # 46 more fit exactly, and are held for review: the hour is now full.
    held = submit(service, seed_tickets(46, priority="Low"), 202)
    assert used(service) == 50
    single = envelope(
        "jira_create_ticket", projectKey="ENG", summary="One more", issueType="Bug", priority="Low"
    )
    assert submit(service, single, 403)["rule"] == "ticket-budget"
    # Another agent's hour is its own.
    assert submit(service, single, 202, agent="ide-assistant")["status"] == "pending_approval"

    # Rejected: its 46 are released, and the single ticket fits again.
    decide(service, held["id"], verdict="reject")
    assert used(service) == 4
    assert submit(service, single, 202)["status"] == "pending_approval"

    # The audit records the budget a decision saw.
    submitted = [e for e in audit_events(service, denied["id"]) if e["type"] == "action.submitted"]
    (check,) = submitted[0]["data"]["budgets"]
    assert check == {**check, "budget": BUDGET, "used": 4, "units": 47, "over": True}

    metrics = service.client("auditor").get("/metrics").text
    assert f'jiragate_budget_exceeded_total{{budget="{BUDGET}",decision="deny"}} 2.0' in metrics
    assert f'jiragate_budget_limit{{budget="{BUDGET}"}} 50.0' in metrics
    assert f'jiragate_budget_used{{agent="log-triage-bot",budget="{BUDGET}"}} 5.0' in metrics


def test_an_agent_sees_only_its_own_usage(service: Service):
    submit(service, seed_tickets(12, priority="Low"), 202)
    assert used(service, viewer="log-triage-bot") == 12
    mine = service.client("ide-assistant").get("/v1/budgets", params={"agent": "log-triage-bot"})
    assert mine.status_code == 200
    (budget,) = mine.json()["budgets"]
    assert budget["usage"] == []  # asked for another agent's: given its own (none)
    by_project = service.client("auditor").get("/v1/budgets", params={"project": "OPS"})
    assert by_project.json()["budgets"][0]["usage"] == []
    assert service.client("auditor").get("/v1/policies").json()["budgets"][0]["name"] == BUDGET


def test_the_cheqpoint_compatible_api_is_no_way_around_a_budget(service: Service):
    api = {"x-api-key": "agent-key-log-triage-bot-0001"}
    client = service.client("log-triage-bot")
    held = client.post("/api/approvals/request", headers=api, json=seed_tickets(46, "Low"))
    assert held.status_code == 200, held.text
    assert held.json()["status"] == "PENDING"
    assert used(service) == 46  # reserved like any pending approval
    over = client.post("/api/approvals/request", headers=api, json=seed_tickets(5, "Low"))
    assert over.status_code == 200, over.text
    body = over.json()
    assert body["status"] == "REJECTED"
    view = service.agent_view(body["id"])
    assert (view["status"], view["rule"]) == ("denied", "ticket-budget")
    assert "budget tickets-per-agent-hour: 46 of 50 used" in view["reason"]
    assert used(service) == 46


def test_a_partly_executed_creation_counts_only_the_tickets_it_created(service: Service):
    # Jira refuses tickets 1 and 3 of 5: 3 exist, and 3 count (not the 5 approved).
    armed = httpx.post(
        f"{service.sandbox_url}/_sandbox/faults",
        json={
            "match": {"method": "POST", "path": "/rest/api/3/issue/bulk"},
            "times": 1,
            "fault": {"kind": "partial_bulk", "indexes": [1, 3]},
        },
        timeout=10,
    )
    assert armed.status_code in (200, 201), armed.text
    bulk = submit(service, seed_tickets(5, priority="Low"), 202)
    assert used(service) == 5  # reserved while pending
    decide(service, bulk["id"])
    final = service.wait_for_status(bulk["id"], "partially_executed", "executed", "failed")
    assert final["status"] == "partially_executed", final
    assert len(final["result"]["created"]) == 3
    assert used(service) == 3
    # The two refused tickets are free again: 47 more fit the hour exactly.
    assert submit(service, seed_tickets(47, priority="Low"), 202)["status"] == "pending_approval"
    assert used(service) == 50
