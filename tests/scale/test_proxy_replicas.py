"""The Jira REST proxy across replicas and a restart, on PostgreSQL: a gated create sent to
one replica, decided in the inbox, executed by a worker, and sent again to another replica
(and, after the first replica was killed, to a new one) answers with that one action's
created issue; nothing is created twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from jiragate.jira.sandbox import SandboxState
from tests.helpers.service import KEYS
from tests.proxy.support import held_action
from tests.scale.cluster import AGENT, cluster, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

HIGH = {
    "fields": {
        "project": {"key": "ENG"},
        "issuetype": {"name": "Task"},
        "summary": "Checkout is down for EU users (replicas)",
        "priority": {"name": "High"},
        "labels": ["proxy-replicas"],
    }
}


def jira_client(url: str) -> httpx.Client:
    """The proxy as a Jira client sees it: the replica's root, the agent key as a PAT."""
    return httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {KEYS[AGENT]}"}, timeout=60
    )


def test_a_resend_to_any_replica_or_after_a_restart_is_the_one_action(
    tmp_path: Path, postgres_url: str, sandbox: tuple[str, SandboxState]
):
    jira_url, state = sandbox

    def created() -> list[Any]:
        with state.lock:
            return [i for i in state.issues.values() if "proxy-replicas" in i.labels]

    with cluster(tmp_path, postgres_url, jira_url, proxy_wait_seconds=0.2) as c:
        first = c.serve("first")
        second = c.serve("second")
        c.worker("worker")
        with jira_client(first.url or "") as one, jira_client(second.url or "") as two:
            action_id = held_action(one.post("/rest/api/3/issue", json=HIGH))
            # The same request on the other replica, before a decision: the same action.
            assert held_action(two.post("/rest/api/3/issue", json=HIGH)) == action_id
            decided = c.client(second, "lead-alice").post(
                f"/v1/approvals/{action_id}/decision", json={"verdict": "approve"}
            )
            assert decided.status_code == 200, decided.text
            wait_until(
                lambda: (
                    c.client(first).get(f"/v1/actions/{action_id}").json()["status"] == "executed"
                ),
                what="the worker's execution",
            )
            answer = two.post("/rest/api/3/issue", json=HIGH)
            assert answer.status_code == 201, answer.text
            key = answer.json()["key"]
            assert answer.json()["self"] == f"{second.url}/rest/api/3/issue/{key}"
        # The replica that took the first request dies; a new one takes the resend.
        first.kill()
        third = c.serve("third")
        with jira_client(third.url or "") as three:
            again = three.post("/rest/api/3/issue", json=HIGH)
            assert (again.status_code, again.json()["key"]) == (201, key)
    assert [issue.key for issue in created()] == [key]  # one issue, however often it was sent
