"""Jira calls and wall time of each issue-level write (issue 12), on both sandbox profiles.

    python bench/issue_writes.py [--repeat 5]

Each action runs against a fresh sandbox over loopback HTTP (uvicorn). `calls` is the HTTP
calls the adapter made (`ExecutionResult.calls`): the project-scope reads (the issue, the
object an id names, the link types, the field list) plus the write itself. Times are the
median of `--repeat` runs; the machines are shared, so read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import socket
import statistics
import threading
import time
from typing import Any

import uvicorn

from jiragate.jira.config import JiraConfig
from jiragate.jira.operations import JiraAdapter
from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from jiragate.jira.sandbox.state import Comment, adf_text, now_iso

ALICE = "5b10a2844c20165700ede21a"


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        pass


def serve(state: SandboxState) -> tuple[str, _Server]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = _Server(uvicorn.Config(create_sandbox_app(state), port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", server


def actions(flavour: str, comment: str) -> list[tuple[str, dict[str, Any]]]:
    user = "5b10a2844c20165700ede21b" if flavour == "cloud" else "bob"
    megabyte = base64.b64encode(b"x" * 1_000_000).decode()
    return [
        ("jira_edit_comment", {"issueKey": "ENG-2", "commentId": comment, "body": "y"}),
        ("jira_add_worklog", {"issueKey": "ENG-2", "timeSpent": "1h"}),
        ("jira_add_watcher", {"issueKey": "ENG-2", "user": user}),
        (
            "jira_create_issue_link",
            {"issueKey": "ENG-2", "linkType": "Blocks", "otherIssueKey": "ENG-3"},
        ),
        (
            "jira_create_remote_link",
            {"issueKey": "ENG-2", "url": "https://ci.example.com/1", "title": "CI"},
        ),
        ("jira_link_to_epic", {"epicKey": "ENG-1", "issueKeys": ["ENG-6", "ENG-8", "ENG-9"]}),
        ("jira_add_attachment", {"issueKey": "ENG-2", "filename": "a.bin", "content": megabyte}),
        ("jira_update_fields", {"issueKeys": ["ENG-6"], "customFields": {"Team": "Payments"}}),
    ]


def run(flavour: str, repeat: int) -> None:
    state = SandboxState(profile=flavour)
    url, server = serve(state)
    credentials: dict[str, Any] = (
        {"email": "bench@example.com", "api_token": "bench"}
        if flavour == "cloud"
        else {"personal_access_token": "bench", "epic_link_field": "customfield_10014"}
    )
    config = JiraConfig(base_url=url, flavour=flavour, **credentials)
    timings: dict[str, list[float]] = {}
    calls: dict[str, int] = {}

    async def once(n: int) -> None:
        state.reset()
        with state.lock:
            comment = Comment(state.next_comment(), ALICE, adf_text("x"), now_iso())
            state.issues["ENG-2"].comments.append(comment)
        async with JiraAdapter(config) as adapter:
            for name, details in actions(flavour, str(comment.id)):
                start = time.perf_counter()
                result = await adapter.execute(name, details, action_id=f"b{n}", summary="b")
                timings.setdefault(name, []).append(time.perf_counter() - start)
                calls[name] = result.calls
                assert result.outcome == "succeeded", result.as_dict()

    for n in range(repeat):
        asyncio.run(once(n))
    server.should_exit = True
    for name, samples in timings.items():
        ms = 1000 * statistics.median(samples)
        print(f"{flavour:10}  {name:26}  calls {calls[name]:2}  median {ms:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for flavour in ("cloud", "datacenter"):
        run(flavour, args.repeat)


if __name__ == "__main__":
    main()
