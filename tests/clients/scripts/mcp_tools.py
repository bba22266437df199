"""List the Jira tools of the `mcp-atlassian` MCP server, started over stdio by the official
`mcp` client against the sandbox. argv: base URL, "cloud" | "server". Prints one JSON line:
{tool name: {"readOnly": readOnlyHint, "destructive": destructiveHint}} for every `jira_` tool."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

url, mode = sys.argv[1], sys.argv[2]
env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "CONFLUENCE_"))}
env.update(
    JIRA_URL=url,
    READ_ONLY_MODE="false",
    TOOLSETS="all",
    FASTMCP_CHECK_FOR_UPDATES="off",  # no call home: the tests talk to 127.0.0.1 only
    FASTMCP_SHOW_SERVER_BANNER="false",
)
if mode == "cloud":
    env.update(JIRA_USERNAME="alice@example.com", JIRA_API_TOKEN="api-token")
else:
    env.update(JIRA_PERSONAL_TOKEN="personal-access-token")
SERVER = StdioServerParameters(
    command=os.path.join(os.path.dirname(sys.executable), "mcp-atlassian"),
    args=["--transport", "stdio"],
    env=env,
)


async def main() -> None:
    async with stdio_client(SERVER) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = (await session.list_tools()).tools
    listed = {
        tool.name: {
            "readOnly": bool(tool.annotations and tool.annotations.readOnlyHint),
            "destructive": tool.annotations.destructiveHint if tool.annotations else None,
        }
        for tool in tools
        if tool.name.startswith("jira_")
    }
    print(json.dumps(listed, sort_keys=True))


asyncio.run(main())
