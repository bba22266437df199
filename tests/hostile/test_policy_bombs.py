"""Policy files written to take a real `jiragate serve` down: a billion-laughs YAML and a
100 MB file dropped into the watched policy directory, then `POST /v1/policies/reload`. Each
is refused with the limit it crossed, the running set stays (same revision, same decisions),
and `/healthz` answers throughout. A catastrophic `matches` pattern, which is valid, loads
and answers a 10,000-character description at once: RE2 does not backtrack."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from jiragate.jira.sandbox import SandboxState
from tests.api.support import copy_policies
from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.policy_files import epic_proposal, write_atomically
from tests.policy.samples import BOMB, BOMB_LIMIT_LINE
from tests.scale.cluster import AGENT, cluster, wait_until
from tests.scale.conftest import sandbox  # noqa: F401

pytestmark = pytest.mark.slow

EPIC = epic_proposal("an epic while policies are attacked")
BACKTRACKER = """
rules:
  - id: all-a-descriptions
    match:
      action: jira_create_ticket
      details.description: {matches: "^(a+)+$"}
    decision: deny
    reason: descriptions of only a's are refused
"""


def _ticket(description: str) -> dict[str, object]:
    return {
        "action": "jira_create_ticket",
        "summary": "a long description",
        "details": {
            "projectKey": "ENG",
            "issueType": "Task",
            "summary": "s",
            "description": description,
        },
    }


def test_bombs_in_the_policy_directory_never_replace_the_running_set(
    tmp_path: Path,
    db_url: str,  # noqa: F811
    sandbox: tuple[str, SandboxState],  # noqa: F811
):
    jira_url, _ = sandbox
    policy_dir = copy_policies(tmp_path)
    with cluster(tmp_path, db_url, jira_url, policy_dir=str(policy_dir)) as c:
        replica = c.serve("replica", worker=True)  # its worker loop watches the files
        admin, agent = c.client(replica, "auditor"), c.client(replica, AGENT)
        running = admin.get("/v1/policies").json()["revision"]
        decision = agent.post("/v1/evaluate", json=EPIC).json()
        assert decision["decision"] == "require_approval"

        health_failures: list[str] = []
        answered = 0
        stop = threading.Event()

        def probe_health() -> None:
            nonlocal answered
            # A short timeout is the point: a reload holding the event loop shows up here.
            with httpx.Client(base_url=replica.url or "", timeout=5) as client:
                while not stop.is_set():
                    try:
                        status = client.get("/healthz").status_code
                    except httpx.TransportError as exc:
                        health_failures.append(repr(exc))
                        continue
                    if status != 200:
                        health_failures.append(str(status))
                    answered += 1
                    stop.wait(0.02)

        prober = threading.Thread(target=probe_health)
        prober.start()
        try:
            bomb = policy_dir / "zz-bomb.yaml"
            write_atomically(bomb, BOMB)
            wait_until(
                lambda: "more than 500,000 nodes" in replica.log(), what="the watcher's refusal"
            )
            refused = admin.post("/v1/policies/reload")
            assert refused.status_code == 422, refused.text
            assert refused.json()["running_revision"] == running
            (error,) = refused.json()["errors"]
            assert (Path(error["file"]).name, error["line"]) == ("zz-bomb.yaml", BOMB_LIMIT_LINE)
            assert "YAML limit exceeded: more than 500,000 nodes" in error["message"]
            assert admin.get("/v1/policies").json()["revision"] == running
            assert agent.post("/v1/evaluate", json=EPIC).json() == decision

            bomb.unlink()
            huge = policy_dir / "zz-huge.yaml"
            with huge.open("wb") as handle:  # sparse: 100 MB on paper, nothing on disk
                handle.truncate(100 * 1024 * 1024)
            wait_until(lambda: "too large together" in replica.log(), what="the size refusal")
            refused = admin.post("/v1/policies/reload")
            assert refused.status_code == 422, refused.text
            assert "policy files too large together (104," in refused.json()["errors"][0]["message"]
            assert admin.get("/v1/policies").json()["revision"] == running
            assert agent.post("/v1/evaluate", json=EPIC).json() == decision

            huge.unlink()
            write_atomically(policy_dir / "zz-backtracker.yaml", BACKTRACKER)
            reloaded = admin.post("/v1/policies/reload")
            assert reloaded.status_code == 200, reloaded.text
            almost = agent.post("/v1/evaluate", json=_ticket("a" * 10_000 + "!")).json()
            assert "all-a-descriptions" not in almost["matched_rules"]
            only_a = agent.post("/v1/evaluate", json=_ticket("a" * 10_000)).json()
            assert only_a["decision"] == "deny"
            assert only_a["determining_rule"] == "all-a-descriptions"
        finally:
            stop.set()
            prober.join()
        assert health_failures == []
        assert answered > 0
        assert replica.alive
