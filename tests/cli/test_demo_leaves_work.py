"""After its walkthrough the demo leaves work in every group's inbox and a config file with
which `jiragate mcp --config …` serves the demo's agent: both checked with real processes
(the demo, then the MCP server over stdio with the official SDK's client)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import sys

from mcp import ClientSession, StdioServerParameters, stdio_client

from jiragate.demo import AGENT, CONFIG_NAME, LEFT_FOR_REVIEW
from jiragate.mcp import STATUS_TOOL
from tests.cli.conftest import DemoRun


def test_the_demo_leaves_pending_work_and_a_config_the_mcp_server_runs_with(demo_run: DemoRun):
    out = demo_run.result.stdout
    assert "the agent is told: approved with edits: 4 of 12, as Medium; note: " in out
    waiting = re.findall(r"^   ([\w-]+): .* \(pending_approval, (act_\w+)\)$", out, re.M)
    assert [group for group, _ in waiting] == [group for group, _ in LEFT_FOR_REVIEW]
    assert {group for group, _ in waiting} == {"engineering-leads", "project-managers"}

    config = demo_run.data_dir / CONFIG_NAME
    assert f"Config file (for `jiragate mcp --config`): {config}" in out
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it holds the demo's keys
    assert json.loads(config.read_text())["database_url"].endswith("jiragate-demo.db")

    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "jiragate.cli", "mcp", "--config", str(config)],
        env={**os.environ, "JIRAGATE_API_KEY": AGENT[1]},
    )

    async def scenario() -> list[str]:
        async with (
            stdio_client(server) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            texts = []
            for _, action_id in waiting:
                answer = await session.call_tool(STATUS_TOOL, {"action_id": action_id})
                texts.append(answer.content[0].text)  # type: ignore[union-attr]
            return texts

    texts = asyncio.run(scenario())
    for (group, action_id), text in zip(waiting, texts, strict=True):
        assert f"{action_id}) awaits approval from the review group {group!r}" in text, text
