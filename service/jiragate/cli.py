"""The `jiragate` command.

Each subcommand lives in a `commands` module beside the code that owns its work, exposing
`add_arguments(name, parser)` and `run(args) -> exit code`. Those modules import only the
standard library at module level and the heavy parts inside `run`, so `jiragate check` never
pays for FastAPI or SQLAlchemy.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from jiragate import __version__

# subcommand -> (its commands module, one line of help)
_COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("jiragate.policy.commands", "Validate and lint a policy directory."),
    "test": ("jiragate.policy.commands", "Run the *_test.yaml policy tests."),
    "eval": ("jiragate.policy.commands", "Dry-run one action (JSON file) against the policies."),
    "sandbox": ("jiragate.jira.sandbox.commands", "Serve the Jira emulator."),
    "serve": ("jiragate.commands", "Run the gateway service (HTTP API, inbox, worker)."),
    "worker": ("jiragate.commands", "Run an execution worker (no HTTP)."),
    "demo": ("jiragate.commands", "Start sandbox + service + inbox with demo accounts."),
    "audit": ("jiragate.commands", "Verify or export the audit trail."),
    "replay": (
        "jiragate.commands",
        "Re-evaluate recorded actions against another policy directory: what would change.",
    ),
    "hash-password": (
        "jiragate.web.commands",
        "Print the argon2id hash of a reviewer's inbox password (read from stdin or a prompt).",
    ),
    "mcp": ("jiragate.mcp_commands", "Serve the gateway as an MCP server over stdio."),
    "jira": (
        "jiragate.commands",
        "Talk to the configured Jira: `jira snapshot --out FILE` saves the site's metadata.",
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the chosen command's module is imported (for its arguments)."""
    parser = argparse.ArgumentParser(
        prog="jiragate",
        description="A policy gate between AI assistants and Jira.",
    )
    parser.add_argument("--version", action="version", version=f"jiragate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in _COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            module = importlib.import_module(module_name)
            add_arguments: Callable[[str, argparse.ArgumentParser], None] = module.add_arguments
            add_arguments(name, command_parser)
            command_parser.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(command if command in _COMMANDS else None)
    args = parser.parse_args(args_list)
    run: Callable[[argparse.Namespace], int] = args._module.run
    try:
        return run(args)
    except BrokenPipeError:  # `jiragate test | head` closed our stdout: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
