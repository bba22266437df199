"""`jiragate mcp`: serve the gateway as an MCP server over stdio, as one agent.

The agent is whoever holds the API key in `JIRAGATE_API_KEY` (a key from the configured
`agents`). Standard-library imports only at module level (see cli.py); `run` imports the rest.
Exit codes: 0 when the client closes the connection, 2 for bad settings or a bad key.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

API_KEY_ENV = "JIRAGATE_API_KEY"


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("JIRAGATE_CONFIG"),
        help="YAML or JSON settings file (env JIRAGATE_CONFIG); JIRAGATE_* variables override",
    )
    parser.epilog = (
        f"The agent's API key comes from the environment variable {API_KEY_ENV}. "
        "stdout carries the MCP protocol; diagnostics go to stderr."
    )


def _fail(message: str) -> int:
    print(f"jiragate mcp: {message}", file=sys.stderr)
    return 2


def _load_settings(config: Path | None) -> Any:
    from pydantic import ValidationError

    from jiragate.settings import Settings

    try:
        return Settings.from_file(config)
    except (ValidationError, ValueError, OSError) as exc:
        from jiragate.redaction import redact_text

        raise SystemExit(_fail(f"invalid settings: {redact_text(str(exc))}")) from exc


def resolve_agent(settings: Any, key: str | None) -> str:
    """The agent name for `key`, or SystemExit(2) with a message saying what is wrong."""
    if key is None or not key.strip():
        raise SystemExit(
            _fail(
                f"{API_KEY_ENV} is not set; set it to the API key of an agent from the "
                "configuration (`agents:`)"
            )
        )
    agent = settings.agent_for_key(key.strip())
    if agent is None:
        if settings.reviewer_for_key(key.strip()) is not None:
            raise SystemExit(_fail(f"the key in {API_KEY_ENV} belongs to a reviewer, not an agent"))
        raise SystemExit(_fail(f"the key in {API_KEY_ENV} is not the key of any configured agent"))
    if agent.revoked:
        raise SystemExit(_fail(f"the API key of agent {agent.name} is revoked"))
    return str(agent.name)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    settings = _load_settings(args.config)
    agent = resolve_agent(settings, os.environ.get(API_KEY_ENV))
    # stdout is the protocol channel: every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")

    from jiragate.mcp import serve_stdio

    print(f"jiragate mcp: serving as agent {agent} over stdio", file=sys.stderr)
    asyncio.run(serve_stdio(settings, agent))
    return 0
