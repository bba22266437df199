"""`jiragate mcp` over stdio: the SDK's client spawns the command, as a desktop assistant would.

The HTTP service here runs no worker, so an approved action can only be executed by the
worker loop inside the `jiragate mcp` process: that is the design being tested (stdio has
no HTTP worker of its own, so it brings one).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jiragate.mcp import DRY_RUN_TOOL, STATUS_TOOL
from tests.helpers.service import KEYS, Service, running_service
from tests.mcp.conftest import (
    EXPOSED,
    bulk_create_arguments,
    stdio_session,
    structured,
    text_of,
    write_stdio_config,
)


@pytest.fixture
def workerless_service(db_url: str) -> Iterator[Service]:
    with running_service(db_url, mcp_actions=EXPOSED, run_worker=False) as svc:
        yield svc


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "JIRAGATE_API_KEY is not set"),
        ("not-a-key-of-anyone-at-all", "is not the key of any configured agent"),
        (KEYS["retired-bot"], "the API key of agent retired-bot is revoked"),
        (KEYS["lead-alice"], "belongs to a reviewer, not an agent"),
    ],
)
def test_the_command_refuses_a_missing_unknown_or_revoked_key(
    tmp_path: Path, key: str | None, message: str
):
    config = write_stdio_config(
        tmp_path / "jiragate.yaml", "http://127.0.0.1:9", f"sqlite:///{tmp_path / 'db'}"
    )
    env = {k: v for k, v in os.environ.items() if k != "JIRAGATE_API_KEY"}
    if key is not None:
        env["JIRAGATE_API_KEY"] = key
    finished = subprocess.run(
        [sys.executable, "-m", "jiragate.cli", "mcp", "--config", str(config)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2
    assert message in finished.stderr
    assert finished.stdout == ""  # nothing on the protocol channel
    assert not (tmp_path / "db").exists()  # refused before touching anything


def test_a_stdio_session_reads_is_gated_is_denied_and_executes_what_a_lead_approved(
    workerless_service: Service, db_url: str, tmp_path: Path
):
    service = workerless_service
    config = write_stdio_config(tmp_path / "jiragate.yaml", service.sandbox_url, db_url)
    lead = service.client("lead-alice")

    async def scenario() -> dict[str, Any]:
        with (tmp_path / "mcp-stderr.log").open("w") as errlog:
            async with stdio_session(config, KEYS["log-triage-bot"], errlog) as session:
                out: dict[str, Any] = {"tools": await session.list_tools()}
                out["read"] = await session.call_tool(
                    "jira_get_issue", {"summary": "Look at ENG-2", "details": {"issueKey": "ENG-2"}}
                )
                out["gated"] = await session.call_tool(
                    "jira_create_tickets", bulk_create_arguments(2)
                )
                action_id = structured(out["gated"])["action_id"]
                decided = await asyncio.to_thread(
                    lead.post,
                    f"/v1/approvals/{action_id}/decision",
                    json={"verdict": "approve", "modifiedDetails": {"priority": "Medium"}},
                )
                assert decided.status_code == 200, decided.text
                out["done"] = await session.call_tool(
                    STATUS_TOOL, {"action_id": action_id, "wait_seconds": 30}
                )
                out["denied"] = await session.call_tool(
                    "jira_delete_issues",
                    {
                        "summary": "purge",
                        "details": {"issueKeys": [f"ENG-{n}" for n in range(1, 20)]},
                    },
                )
                out["invalid"] = await session.call_tool(
                    "jira_get_issue", {"summary": "Look", "details": {"issueKey": "eng two"}}
                )
                return out

    out = asyncio.run(scenario())
    assert [t.name for t in out["tools"].tools] == [*EXPOSED, STATUS_TOOL, DRY_RUN_TOOL]

    read = structured(out["read"])
    assert read["status"] == "executed"
    assert read["result"]["data"]["issue"]["key"] == "ENG-2"

    gated = structured(out["gated"])
    assert gated["status"] == "pending_approval"
    assert gated["review_group"] == "engineering-leads"

    done = structured(out["done"])
    assert done["status"] == "executed", done
    assert done["effective_details"]["priority"] == "Medium"
    made = service.sandbox_issues(label=f"jiragate-{done['action_id']}")
    assert len(made) == 2 and {issue.priority for issue in made} == {"Medium"}
    # Executed by the worker inside `jiragate mcp`, not by the (workerless) service.
    timeline = service.agent_view(done["action_id"])["timeline"]
    claims = [event["actor"] for event in timeline if event["type"] == "action.claimed"]
    assert claims and service.gateway.worker_id not in claims

    assert out["denied"].is_error is True
    assert "deny-bulk-deletes" in text_of(out["denied"])
    assert out["invalid"].is_error is True
    assert "/details/issueKey" in text_of(out["invalid"])
    assert "(rule: pattern)" in text_of(out["invalid"])
