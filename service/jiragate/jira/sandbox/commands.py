"""`jiragate sandbox`: serve the Jira emulator with uvicorn.

Standard-library imports only at module level (see jiragate.cli); the app is built in `run`.
"""

from __future__ import annotations

import argparse


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port to listen on (8081)")
    parser.add_argument(
        "--db", metavar="FILE", default=None, help="SQLite file to persist the state in"
    )
    parser.add_argument(
        "--profile",
        choices=("cloud", "datacenter"),
        default="cloud",
        help="which Jira site to emulate: cloud (v3 and v2) or datacenter (v2) (cloud)",
    )
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="accept request bodies that break Atlassian's OpenAPI spec",
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from jiragate.jira.sandbox import SandboxState, create_sandbox_app

    state = SandboxState(path=args.db, profile=args.profile)
    app = create_sandbox_app(state, validate_requests=not args.no_validate)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
