"""Two real `jiragate serve` replicas (each with its worker loop) on one PostgreSQL database
announce every gated action exactly once per channel: both plan every round, and the outbox's
unique key and leases decide who sends. A replica killed (SIGKILL) in the middle of a send
loses nothing: its lease runs out and another replica sends the notification."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from tests.api.support import seed_tickets
from tests.conftest_db import database_url
from tests.helpers.servers import serve_app
from tests.notify.receivers import Receiver, http_receiver
from tests.scale.cluster import cluster, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SECRET = "replica-webhook-secret-000000001"
ACTIONS = 12


@pytest.fixture
def jira_url() -> Iterator[str]:
    with serve_app(create_sandbox_app(SandboxState())) as url:
        yield url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as found:
        yield found


def test_two_replicas_send_each_notification_once(
    request: pytest.FixtureRequest, tmp_path: Path, jira_url: str, receiver: Receiver
):
    with (
        database_url(request, "postgres", tmp_path) as db_url,
        cluster(
            tmp_path,
            db_url,
            jira_url,
            notifications=[
                {
                    "name": "hook",
                    "kind": "webhook",
                    "groups": ["engineering-leads"],
                    "url": f"{receiver.url}/hook",
                    "secret": {"env": "JG_TEST_REPLICA_SECRET"},
                }
            ],
            notification_delivery={"retry_base_seconds": 0.1},
            worker_poll_interval=0.05,
        ) as running,
    ):
        env = {"JG_TEST_REPLICA_SECRET": SECRET}
        # Started together (each takes seconds to import and migrate on a busy machine).
        first = running.serve("replica-a", worker=True, env=env, wait=False)
        second = running.serve("replica-b", worker=True, env=env, wait=False)
        running.wait_ready(first)
        running.wait_ready(second)
        ids = []
        for n in range(ACTIONS):
            client = running.client(first if n % 2 else second)
            response = client.post("/v1/actions", json=seed_tickets(count=2))
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])

        def announced() -> Counter[str]:
            events = [json.loads(r.body) for r in receiver.at("/hook")]
            return Counter(e["action_id"] for e in events if e["event"] == "request")

        wait_until(lambda: set(announced()) == set(ids), timeout=60, what="every announcement")
        # Every row is `sent` (nothing left to send), so the count is final.
        auditor = running.client(first, "auditor")

        def all_sent() -> bool:
            page = auditor.get("/v1/audit", params={"limit": 1000}).json()["items"]
            sent = [e for e in page if e["type"] == "notification.sent"]
            return len({e["action_id"] for e in sent}) == ACTIONS

        wait_until(all_sent, timeout=60, what="every row recorded as sent")
        assert announced() == Counter(dict.fromkeys(ids, 1))
        page = auditor.get("/v1/audit", params={"limit": 1000}).json()["items"]
        senders = {e["actor"].split(":")[1] for e in page if e["type"] == "notification.sent"}
        assert senders, "the audit names the sending replica"
        assert len([e for e in page if e["type"] == "notification.sent"]) == ACTIONS
        assert "Traceback" not in first.log() + second.log()
        assert SECRET not in first.log() + second.log()


def test_a_replica_killed_mid_send_leaves_it_to_another(
    request: pytest.FixtureRequest, tmp_path: Path, jira_url: str, receiver: Receiver
):
    with (
        database_url(request, "postgres", tmp_path) as db_url,
        cluster(
            tmp_path,
            db_url,
            jira_url,
            notifications=[
                {
                    "name": "hook",
                    "kind": "webhook",
                    "groups": ["engineering-leads"],
                    "url": f"{receiver.url}/hook",
                    "secret": {"env": "JG_TEST_REPLICA_SECRET"},
                }
            ],
            # The shortest lease the settings allow for this timeout (3 tries x 10 s + backoff):
            # the send hangs until the replica is killed, well within its first 10 s.
            notification_delivery={"lease_seconds": 34, "timeout_seconds": 10},
            worker_poll_interval=0.05,
        ) as running,
    ):
        env = {"JG_TEST_REPLICA_SECRET": SECRET}
        receiver.hold("/hook")
        doomed = running.serve("replica-doomed", worker=True, env=env)
        response = running.client(doomed).post("/v1/actions", json=seed_tickets(count=2))
        assert response.status_code == 202, response.text
        action_id = response.json()["id"]
        wait_until(lambda: receiver.at("/hook"), what="the doomed replica's send")
        doomed.kill()
        receiver.release()
        survivor = running.serve("replica-survivor", worker=True, env=env)
        auditor = running.client(survivor, "auditor")

        def sent() -> list[dict]:
            page = auditor.get("/v1/audit", params={"action_id": action_id}).json()["items"]
            return [e for e in page if e["type"] == "notification.sent"]

        events = wait_until(sent, timeout=60, what="the survivor's send")
        assert len(events) == 1
        assert events[0]["data"]["attempt"] == 2  # the dead replica's claim was the first
        bodies = [json.loads(r.body) for r in receiver.at("/hook")]
        assert [b["action_id"] for b in bodies if b["event"] == "request"] == [action_id] * 2
