"""Policies hot-reloaded under load in a real replica (both by `POST /v1/policies/reload` and
by the worker loop's file watch): every decision comes from one whole revision, the old or
the new, with that revision's rules; an invalid set never replaces the running one."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from jiragate.jira.sandbox import SandboxState
from tests.api.support import copy_policies
from tests.helpers.policy_files import (
    BROKEN_EPIC_RULE,
    epic_proposal,
    flip_deny_epics,
    write_atomically,
)
from tests.scale.cluster import AGENT, cluster

pytestmark = pytest.mark.slow

EPIC = epic_proposal("an epic under reload")
FLIP = flip_deny_epics("Epics are frozen during the reload test.")
BROKEN = BROKEN_EPIC_RULE


def test_no_request_sees_a_half_loaded_policy_set(
    tmp_path: Path, db_url: str, sandbox: tuple[str, SandboxState]
):
    jira_url, _ = sandbox
    policy_dir = copy_policies(tmp_path)
    flip = policy_dir / "zz-flip.yaml"
    with cluster(tmp_path, db_url, jira_url, policy_dir=str(policy_dir)) as c:
        replica = c.serve("replica", worker=True)  # its worker loop also watches the files
        admin = c.client(replica, "auditor")
        old = admin.get("/v1/policies").json()["revision"]
        seen: list[dict[str, Any]] = []
        errors: list[str] = []
        stop = threading.Event()

        def hammer() -> None:
            client = c.client(replica, AGENT)
            while not stop.is_set():
                response = client.post("/v1/evaluate", json=EPIC, params={"explain": "false"})
                if response.status_code != 200:
                    errors.append(response.text)  # an assert here would die with the thread
                seen.append(response.json())

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        revisions = {old}
        try:
            for _ in range(6):
                write_atomically(flip, FLIP)
                answer = admin.post("/v1/policies/reload")
                assert answer.status_code == 200, answer.text
                revisions.add(answer.json()["revision"])
                flip.unlink()
                answer = admin.post("/v1/policies/reload")
                assert answer.status_code == 200 and answer.json()["revision"] == old

            write_atomically(flip, BROKEN)
            refused = admin.post("/v1/policies/reload")
            assert refused.status_code == 422
            assert refused.json()["running_revision"] == old
            # The file watch sees the broken file too, and must keep the running set.
            for _ in range(40):
                assert admin.get("/v1/policies").json()["revision"] == old
                stop.wait(0.05)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            flip.unlink(missing_ok=True)

        assert errors == []
        assert len(revisions) == 2, revisions
        (new,) = revisions - {old}
        assert len(seen) > 20
        for decision in seen:
            assert decision["policy_revision"] in (old, new), decision
            if decision["policy_revision"] == new:
                assert decision["decision"] == "deny", decision
                assert decision["determining_rule"] == "flip-deny-epics"
            else:
                assert decision["decision"] == "require_approval", decision
                assert decision["review_group"] == "project-managers"
                assert "flip-deny-epics" not in str(decision)
        assert "policy reload refused" in replica.log()  # the watcher said so, once
