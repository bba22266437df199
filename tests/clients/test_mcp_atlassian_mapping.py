"""Every Jira tool of the real mcp-atlassian 0.23.1 maps to a catalog action
(jiragate/catalog/mcp_atlassian.py), of the same kind.

mcp-atlassian runs from `.venv-clients/` as a subprocess, over stdio with the official `mcp`
client, in both of its env modes (Cloud-style Basic credentials and a Server/Data Center
personal token), pointed at the sandbox; its tool list is what it offers, not a copy kept
here. Every mapped action is registered (the last one, `jira_move_issue`, landed with issue
12's move work).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jiragate.catalog import CATALOG, ActionKind
from jiragate.catalog.mcp_atlassian import MCP_ATLASSIAN_TOOLS, PARTIAL, UNPLANNED
from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from tests.clients.test_real_clients import MODES, clients_python, loopback_env
from tests.helpers.servers import serve_app

__all__ = ["clients_python"]  # the fixture


@pytest.fixture(scope="module", params=sorted(MODES))
def tools(request: pytest.FixtureRequest, clients_python: Path) -> dict[str, Any]:
    """mcp-atlassian's Jira tools, listed by the running server in one env mode."""
    import subprocess

    from tests.clients.test_real_clients import REPO_ROOT, SCRIPTS

    mode = str(request.param)
    with serve_app(create_sandbox_app(SandboxState(profile=MODES[mode]))) as url:
        done = subprocess.run(
            [str(clients_python), str(SCRIPTS / "mcp_tools.py"), url, mode],
            capture_output=True,
            text=True,
            timeout=60,
            env=loopback_env(),
            cwd=REPO_ROOT,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-4000:]
    listed: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return listed


def test_every_jira_tool_is_declared_once(tools: dict[str, Any]) -> None:
    # The release's 63 Jira tools (38 reads, 25 writes); fewer means the server did not
    # start with every toolset, and the check below would prove nothing.
    assert len(tools) >= 60
    undeclared = sorted(set(tools) - set(MCP_ATLASSIAN_TOOLS) - set(UNPLANNED))
    assert undeclared == [], f"mcp-atlassian tools with no catalog action: {undeclared}"
    assert set(MCP_ATLASSIAN_TOOLS).isdisjoint(UNPLANNED)
    assert set(PARTIAL) <= set(MCP_ATLASSIAN_TOOLS)
    # Nothing declared for a tool the server does not have (a renamed tool is noticed).
    assert sorted((set(MCP_ATLASSIAN_TOOLS) | set(UNPLANNED)) - set(tools)) == []


def test_every_mapped_tool_is_a_registered_action_of_the_same_kind(tools: dict[str, Any]) -> None:
    """A tool mcp-atlassian marks read-only maps to a READ action and any other to a write:
    a write mapped to a read would be allowed without review by the default policies."""
    wrong_kind = {
        tool: (MCP_ATLASSIAN_TOOLS[tool], CATALOG[MCP_ATLASSIAN_TOOLS[tool]].kind.value)
        for tool, hints in tools.items()
        if tool in MCP_ATLASSIAN_TOOLS
        and MCP_ATLASSIAN_TOOLS[tool] in CATALOG
        and (CATALOG[MCP_ATLASSIAN_TOOLS[tool]].kind is ActionKind.READ) != hints["readOnly"]
    }
    assert wrong_kind == {}
    missing = {a for a in MCP_ATLASSIAN_TOOLS.values() if a not in CATALOG}
    assert missing == set(), sorted(missing)


def test_the_move_tool_maps_to_a_write_announced_as_destructive(tools: dict[str, Any]) -> None:
    """mcp-atlassian marks `jira_move_issue` destructive; our tool for it is a write (gated,
    not denied by default) that MCP clients are told is destructive too."""
    from jiragate.catalog import SideEffects

    spec = CATALOG[MCP_ATLASSIAN_TOOLS["jira_move_issue"]]
    assert tools["jira_move_issue"]["readOnly"] is False
    assert tools["jira_move_issue"]["destructive"] is True
    assert (spec.kind, spec.effects) == (ActionKind.WRITE, SideEffects.DESTRUCTIVE)


def test_no_mcp_atlassian_tool_is_left_without_an_action() -> None:
    assert dict(UNPLANNED) == {}


def test_the_mcp_docs_table_is_the_declared_mapping() -> None:
    from tests.clients.test_real_clients import REPO_ROOT

    text = (REPO_ROOT / "docs" / "mcp.md").read_text(encoding="utf-8")
    for tool, action in MCP_ATLASSIAN_TOOLS.items():
        assert f"| `{tool}` | `{action}`" in text, tool
    for tool in UNPLANNED:
        assert f"| `{tool}` | — (" in text, tool
