"""MCP clients (the official SDK's) against a running Jiragate, over HTTP and over stdio.

Tests are plain functions that `asyncio.run` a scenario: the SDK's clients are async, and
one event loop per test keeps each scenario self-contained.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import httpx2
import pytest
import yaml
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.service import (
    KEYS,
    Service,
    running_service,
    settings_data,
)

READ_TOOLS = ["jira_get_issue", "jira_search"]
WRITE_TOOLS = ["jira_create_tickets", "jira_delete_issues"]
#: What the services in these tests expose (a subset, so exposure is tested too).
EXPOSED = READ_TOOLS + WRITE_TOOLS


@pytest.fixture
def service(db_url: str) -> Iterator[Service]:  # noqa: F811
    with running_service(db_url, mcp_actions=EXPOSED) as running:
        yield running


@asynccontextmanager
async def http_session(
    service: Service, agent: str = "log-triage-bot"
) -> AsyncIterator[ClientSession]:
    """An initialized MCP session over streamable HTTP, authenticated as `agent`."""
    headers = {"Authorization": f"Bearer {KEYS[agent]}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120)) as http,
        streamable_http_client(f"{service.url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def write_stdio_config(path: Path, jira_url: str, database_url: str, **extra: Any) -> Path:
    """A config file for `jiragate mcp`: a service's sandbox, database and accounts."""
    config = settings_data(database_url, jira_url, mcp_actions=EXPOSED, **extra)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def stdio_parameters(config: Path, key: str | None) -> StdioServerParameters:
    env = {"JIRAGATE_API_KEY": key} if key is not None else {}
    # The MCP client passes the child only a few safe variables; without PYTHONPATH a run
    # from a git worktree would spawn the installed checkout's code, not the one under test.
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "jiragate.cli", "mcp", "--config", str(config)],
        env=env,
        cwd=str(config.parent),
    )


@asynccontextmanager
async def stdio_session(config: Path, key: str, errlog: TextIO) -> AsyncIterator[ClientSession]:
    """An initialized MCP session with `jiragate mcp` spawned as a child process."""
    async with (
        stdio_client(stdio_parameters(config, key), errlog=errlog) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def structured(result: Any) -> dict[str, Any]:
    """The structured content of a tool result, checked against its text twin."""
    data = result.structured_content
    assert isinstance(data, dict), result
    text = result.content[0].text
    assert json.loads(text[text.index("\n\n{") + 2 :]) == json.loads(json.dumps(data))
    return data


def text_of(result: Any) -> str:
    return str(result.content[0].text)


def bulk_create_arguments(count: int = 3, priority: str = "High") -> dict[str, Any]:
    return {
        "summary": f"File {count} bugs found in last night's error log",
        "justification": "distinct stack traces in checkout-service logs",
        "details": {
            "projectKey": "ENG",
            "issueCount": count,
            "issueType": "Bug",
            "priority": priority,
            "labels": ["ai-generated"],
            "tickets": [
                {"summary": f"NullPointerException in checkout #{i}"} for i in range(count)
            ],
        },
    }
