"""atlassian-python-api's `ServiceDesk`, unchanged, through the proxy's Jira Service
Management rows (proxy/jsm_rows.py): its reads are the catalog's JSM actions with Jira's
answers, raising a customer request is held for review, and after approval the same call
returns the request raised once, sent again or not (docs/proxy.md, "Service desks")."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.clients.test_proxy_clients import (  # noqa: F401
    AGENT_KEY,
    action_in,
    clients_python,
    run_inline,
)
from tests.helpers.service import Service, running_service

SCRIPT = """
import json, sys
from atlassian import ServiceDesk
url, key, phase, summary = sys.argv[1:5]
desk = ServiceDesk(url=url, username="agent@example.com", password=key, cloud=True)
out = {}
def step(name, work):
    try:
        out[name] = {"ok": True, "value": work()}
    except Exception as exc:  # the client's own error text, which names the action id
        out[name] = {"ok": False, "text": f"{type(exc).__name__}: {exc}"[:1500]}
values = {"summary": summary, "description": "Every laptop since 9:00."}
raise_it = lambda: desk.create_customer_request("1", "11", values)["issueKey"]
if phase == "first":
    step("desk", lambda: desk.get_service_desk_by_id(1)["projectKey"])
    step("queues", lambda: [q["name"] for q in desk.get_queues(1, include_count=True)["values"]])
    step("queue", lambda: len(desk.get_issues_in_queue(1, 1, limit=100)["values"]))
    step("types", lambda: [t["name"] for t in desk.get_request_types(1)["values"]])
    step("sla", lambda: [s["name"] for s in desk.get_sla("OPS-1")])
    step("request", lambda: desk.get_customer_request("OPS-1")["issueKey"])
    step("raise", raise_it)
else:
    step("raise_again", raise_it)
    step("raise_once_more", raise_it)
print(json.dumps(out))
"""


def run(python: Path, service: Service, phase: str, summary: str) -> dict[str, Any]:
    return run_inline(python, SCRIPT, service.url, AGENT_KEY, phase, summary)


def test_atlassian_service_desk_reads_and_raises_a_request_through_the_proxy(
    clients_python: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    summary = f"VPN is down in Berlin {uuid.uuid4().hex[:8]}"
    db = f"sqlite:///{tmp_path / 'jiragate.db'}"
    with running_service(db, proxy_wait_seconds=0.2) as service:
        first = run(clients_python, service, "first", summary)
        assert first["desk"] == {"ok": True, "value": "OPS"}
        assert first["queues"]["value"] == ["All open", "Unassigned", "Incidents"]
        assert first["queue"]["ok"] and first["queue"]["value"] > 0
        assert first["types"]["value"] == ["Get IT help", "Report an incident"]
        assert first["sla"]["value"] == ["Time to first response", "Time to resolution"]
        assert first["request"] == {"ok": True, "value": "OPS-1"}  # a generic read
        queue = service.agent.get("/v1/actions", params={"action": "jira_get_queue_issues"})
        assert queue.json()["items"][0]["details"]["maxResults"] == 50  # limit=100, capped
        held = first["raise"]
        assert not held["ok"] and "project-managers" in held["text"], held
        action_id = action_in(held["text"])
        record = service.agent_view(action_id)
        assert record["action"] == "jira_create_customer_request"
        assert record["details"] == {
            "projectKey": "OPS",
            "serviceDeskId": 1,
            "requestTypeId": 11,
            "summary": summary,
            "description": "Every laptop since 9:00.",
        }
        service.client("pm-carol").post(
            f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"}
        ).raise_for_status()
        service.wait_for_status(action_id, "executed")
        again = run(clients_python, service, "again", summary)
        assert again["raise_again"]["ok"] and again["raise_once_more"]["ok"], again
        key = again["raise_again"]["value"]
        assert again["raise_once_more"]["value"] == key
        raised = service.sandbox_issues(summary=summary)
        assert [issue.key for issue in raised] == [key]
