"""Every process that decides converges on one policy revision, the database's active one.

Real processes over one database (a shared SQLite file, or a PostgreSQL schema): two
`jiragate serve --no-worker` replicas, a `jiragate serve --workers 2` server and a `jiragate
worker`. Before this, a reload reached only the process that answered it and `--no-worker`
replicas never reloaded: identical requests got different decisions from different processes.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from jiragate.jira.sandbox import SandboxState
from jiragate.policy.engine import load_policies
from tests.api.support import copy_policies
from tests.helpers.policy_files import (
    BROKEN_EPIC_RULE,
    epic_proposal,
    flip_deny_epics,
    write_atomically,
)
from tests.scale.cluster import Cluster, Proc, cluster, wait_until

pytestmark = pytest.mark.slow

POLL_INTERVAL = 0.2
# The documented bound is policy_poll_interval plus one load of the set. The set here loads in
# tens of milliseconds; the allowance is for a loaded CI machine, not for the design.
LOAD_ALLOWANCE = 5.0
REQUESTS = 12  # identical requests per endpoint (the issue saw 7 deny / 5 require_approval)

EPIC = epic_proposal("an epic under convergence")
FLIP = flip_deny_epics("Epics are frozen while the policies change.")
BROKEN = BROKEN_EPIC_RULE
REFUSED_LINE = "policy reload refused"


def decisions(client: httpx.Client, count: int = REQUESTS) -> list[dict[str, Any]]:
    answers = [
        client.post("/v1/evaluate", json=EPIC, params={"explain": "false"}) for _ in range(count)
    ]
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    return [a.json() for a in answers]


def all_decide(client: httpx.Client, decision: str, revision: str) -> bool:
    return all(
        d["decision"] == decision and d["policy_revision"] == revision for d in decisions(client)
    )


def start(c: Cluster) -> tuple[dict[str, Proc], Proc]:
    """The servers and a worker, started together (starting is most of the test's time)."""
    servers = {
        "replica-a": c.serve("replica-a", wait=False),
        "replica-b": c.serve("replica-b", wait=False),
        "workers-2": c.serve("workers-2", workers=2, wait=False),
    }
    worker = c.worker("worker", wait=False)
    for proc in servers.values():
        c.wait_ready(proc)
    c.wait_worker(worker)
    return servers, worker


def test_every_process_decides_with_the_reloaded_revision_and_a_broken_set_replaces_nothing(
    tmp_path: Path, db_url: str, sandbox: tuple[str, SandboxState]
):
    jira_url, _ = sandbox
    policy_dir = copy_policies(tmp_path)  # shared by every process, as on one volume
    old = load_policies(policy_dir).revision
    with cluster(
        tmp_path, db_url, jira_url, policy_dir=str(policy_dir), policy_poll_interval=POLL_INTERVAL
    ) as c:
        servers, worker = start(c)
        clients = {name: c.client(proc) for name, proc in servers.items()}
        admin = c.client(servers["replica-a"], "auditor")
        for client in clients.values():
            assert all_decide(client, "require_approval", old)

        write_atomically(policy_dir / "zz-flip.yaml", FLIP)
        new = load_policies(policy_dir).revision
        answer = admin.post("/v1/policies/reload")
        reloaded_at = time.monotonic()
        assert answer.status_code == 200, answer.text
        assert answer.json()["revision"] == new != old
        # The process that answered runs the new set before answering.
        assert all_decide(clients["replica-a"], "deny", new)

        bound = POLL_INTERVAL + LOAD_ALLOWANCE
        for name, client in clients.items():
            wait_until(
                lambda client=client: all_decide(client, "deny", new),
                timeout=bound - (time.monotonic() - reloaded_at),
                what=f"{name} to decide with {new}\n{c.logs()}",
            )
        wait_until(
            lambda: f"policy revision {new} now decides here" in worker.log(),
            timeout=max(bound - (time.monotonic() - reloaded_at), 0.1),
            what=f"the worker to run {new}\n{worker.log()}",
        )
        for name, client in clients.items():
            for d in decisions(client):
                assert (d["decision"], d["policy_revision"]) == ("deny", new), (name, d)
                assert d["determining_rule"] == "flip-deny-epics"
            stored = client.post("/v1/actions", json=EPIC)
            assert stored.status_code == 403, stored.text
            assert stored.json()["policy_revision"] == new
            for _ in range(4):  # --workers 2: each answer comes from either process
                body = client.get("/v1/policies").json()
                assert (body["revision"], body["active_revision"], body["in_sync"]) == (
                    new,
                    new,
                    True,
                )

        # A broken set, reloaded on another replica: refused there, and noticed (and refused)
        # by every process's watcher; nothing replaces the running set anywhere.
        write_atomically(policy_dir / "zz-flip.yaml", BROKEN)
        refused = c.client(servers["replica-b"], "auditor").post("/v1/policies/reload")
        assert refused.status_code == 422, refused.text
        assert refused.json()["running_revision"] == new
        expected_refusals = {"replica-a": 1, "replica-b": 1, "workers-2": 2, "worker": 1}
        procs = {**servers, "worker": worker}
        for name, count in expected_refusals.items():
            wait_until(
                lambda name=name, count=count: procs[name].log().count(REFUSED_LINE) >= count,
                timeout=30,
                what=f"{name}'s watcher to see the broken file",
            )
        for name, client in clients.items():
            assert all_decide(client, "deny", new), name
            assert httpx.get(f"{servers[name].url}/readyz").status_code == 200
        events = admin.get("/v1/audit", params={"limit": 1000}).json()["items"]
        kinds = [
            (e["type"], e["data"].get("to")) for e in events if e["type"].startswith("policy.")
        ]
        assert ("policy.reloaded", new) in kinds
        assert any(kind == "policy.reload_refused" for kind, _ in kinds)
        assert {to for kind, to in kinds if kind != "policy.reload_refused"} <= {old, new}
        assert answer.json()["poll_interval_seconds"] == POLL_INTERVAL  # the bound's first term


def test_a_process_whose_files_differ_refuses_to_decide_until_they_match(
    tmp_path: Path, db_url: str, sandbox: tuple[str, SandboxState]
):
    jira_url, _ = sandbox
    dir_a, dir_b = copy_policies(tmp_path), copy_policies(tmp_path)
    old = load_policies(dir_a).revision
    with cluster(
        tmp_path, db_url, jira_url, policy_dir=str(dir_a), policy_poll_interval=POLL_INTERVAL
    ) as c:
        a = c.serve("replica-a", wait=False)
        b = c.serve("replica-b", env={"JIRAGATE_POLICY_DIR": str(dir_b)})
        c.wait_ready(a)
        agent_a, agent_b = c.client(a), c.client(b)
        write_atomically(dir_a / "zz-flip.yaml", FLIP)
        answer = c.client(a, "auditor").post("/v1/policies/reload")
        new = answer.json()["revision"]
        assert new != old

        def refuses() -> bool:
            return agent_b.post("/v1/evaluate", json=EPIC).status_code == 503

        wait_until(refuses, timeout=POLL_INTERVAL + LOAD_ALLOWANCE, what="replica-b to refuse")
        refusal = agent_b.post("/v1/evaluate", json=EPIC)
        assert refusal.json()["error"] == "policy_out_of_date"
        assert old in refusal.json()["message"] and new in refusal.json()["message"]
        submitted = agent_b.post("/v1/actions", json=EPIC)
        assert submitted.status_code == 503 and submitted.json()["error"] == "policy_out_of_date"
        ready = httpx.get(f"{b.url}/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["active_policies"] == new
        body = c.client(b, "auditor").get("/v1/policies").json()
        assert (body["revision"], body["active_revision"], body["in_sync"]) == (old, new, False)
        assert body["problem"] == f"its policy files give {old}"

        assert all_decide(agent_a, "deny", new)  # A is unaffected

        shutil.copy(dir_a / "zz-flip.yaml", dir_b / "zz-flip.yaml")
        wait_until(
            lambda: agent_b.post("/v1/evaluate", json=EPIC).status_code == 200,
            timeout=POLL_INTERVAL + LOAD_ALLOWANCE,
            what="replica-b to catch up",
        )
        assert all_decide(agent_b, "deny", new)
        assert httpx.get(f"{b.url}/readyz").status_code == 200


def big_policy_file(rules: int) -> str:
    lines = ["rules:"]
    for n in range(rules):
        lines.append(
            f"  - id: generated-{n}\n"
            f"    match: {{action: jira_create_epic, project: P{n}}}\n"
            "    decision: require_approval\n"
            "    route_to: project-managers\n"
            f"    reason: Generated rule {n}."
        )
    return "\n".join(lines) + "\n"


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def test_a_large_policy_set_loads_without_holding_up_healthz(
    tmp_path: Path, db_url: str, sandbox: tuple[str, SandboxState]
):
    jira_url, _ = sandbox
    policy_dir = copy_policies(tmp_path)
    staged = copy_policies(tmp_path)
    (staged / "zz-big.yaml").write_text(big_policy_file(5000), encoding="utf-8")
    # How long this machine takes to load the set, measured here, now: the yardstick.
    load_seconds = timed(lambda: load_policies(staged))
    big = load_policies(staged).revision
    with cluster(
        tmp_path, db_url, jira_url, policy_dir=str(policy_dir), policy_poll_interval=POLL_INTERVAL
    ) as c:
        replica = c.serve("replica", worker=True)  # a worker loop too, as before the change
        probe = httpx.Client(base_url=replica.url, timeout=60)
        c.clients.append(probe)
        baseline = statistics.median(timed(lambda: probe.get("/healthz")) for _ in range(20))
        shutil.copy(staged / "zz-big.yaml", policy_dir / "zz-big.yaml.tmp")
        os.replace(policy_dir / "zz-big.yaml.tmp", policy_dir / "zz-big.yaml")
        latencies: list[float] = []  # every probe's: /healthz and /readyz alike
        deadline = time.monotonic() + 120

        def running() -> str:
            started = time.perf_counter()
            revision: str = probe.get("/readyz").json()["checks"]["policies"]
            latencies.append(time.perf_counter() - started)
            return revision

        while running() != big:
            assert time.monotonic() < deadline, replica.log()
            latencies.append(timed(lambda: probe.get("/healthz")))
        assert len(latencies) > 10, "the load finished before the probes could measure it"
        # Blocking the event loop makes a request wait for the whole load; in a thread it
        # waits for some of the loader's GIL slices. Ratios, not absolute times: the machine
        # is shared, so the yardstick is this machine's own load time, measured just before.
        slowest = max(latencies)
        assert slowest < 0.5 * load_seconds, (slowest, load_seconds, baseline, len(latencies))
