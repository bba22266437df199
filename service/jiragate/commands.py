"""`jiragate serve`, `worker`, `demo`, `audit` and `replay`: the service's command-line edges.

Standard-library imports only at module level (see cli.py); each `run` imports what it needs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    if name == "jira":
        verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
        snapshot = verbs.add_parser(
            "snapshot",
            help="save the site's priorities, issue types (per project), statuses, "
            "resolutions, fields and link types, for `jiragate check --site`",
        )
        snapshot.add_argument("--out", type=Path, required=True, help="the JSON file to write")
        snapshot.add_argument(
            "--config",
            type=Path,
            default=os.environ.get("JIRAGATE_CONFIG"),
            help="YAML or JSON settings file (env JIRAGATE_CONFIG); JIRAGATE_* variables override",
        )
        return
    if name in ("serve", "worker", "audit", "replay"):
        parser.add_argument(
            "--config",
            type=Path,
            default=os.environ.get("JIRAGATE_CONFIG"),
            help="YAML or JSON settings file (env JIRAGATE_CONFIG); JIRAGATE_* variables override",
        )
    if name == "serve":
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"
        )
        parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
        parser.add_argument(
            "--no-worker", action="store_true", help="do not execute approved actions here"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="HTTP worker processes sharing the port (e.g. one per core; default 1)",
        )
        parser.add_argument("--no-access-log", action="store_true", help="do not log every request")
    elif name == "worker":
        parser.add_argument(
            "--once", action="store_true", help="one round of housekeeping and execution, then exit"
        )
    elif name == "demo":
        parser.add_argument("--port", type=int, default=8000, help="service port (0 = any free)")
        parser.add_argument("--sandbox-port", type=int, default=8081, help="Jira sandbox port")
        parser.add_argument(
            "--data-dir", type=Path, default=None, help="where the demo database lives (temp dir)"
        )
        parser.add_argument(
            "--exit-after-walkthrough",
            action="store_true",
            help="run the scripted walkthrough, print it, and exit (used in CI)",
        )
    elif name == "audit":
        _audit_arguments(parser)
    elif name == "replay":
        parser.add_argument(
            "--policies", type=Path, required=True, help="the candidate policy directory"
        )
        parser.add_argument(
            "--database-url", help="the database to read (instead of the config's database_url)"
        )
        parser.add_argument(
            "--since",
            help="only actions submitted from then on: an ISO 8601 time "
            "(2026-12-01T00:00:00Z) or a duration ago (7d, 12h, 30m)",
        )
        parser.add_argument("--format", choices=("text", "json"), default="text")
        parser.add_argument(
            "--fail-on-change",
            action="store_true",
            help="exit 1 when any decision would change (for a deployment pipeline)",
        )


def _audit_arguments(parser: argparse.ArgumentParser) -> None:
    # Where the database is may be said before the verb or after it; after it wins. The
    # verbs' copies default to SUPPRESS so they never overwrite a value given before the verb.
    parser.add_argument(
        "--database-url", help="the database to read (instead of the config's database_url)"
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    verify = verbs.add_parser("verify", help="check the hash chain; exit 1 if broken")
    verify.add_argument(
        "--expect-head",
        metavar="SEQ:HASH",
        help="a head recorded earlier (as printed by `audit head` or `audit verify`): the "
        "chain must still hold it at that position; events appended since are fine",
    )
    verbs.add_parser("head", help="print the head as SEQ:HASH, to record outside the database")
    export = verbs.add_parser("export", help="write every event as JSON Lines")
    export.add_argument("--since", type=int, default=None, help="only events after this seq")
    export.add_argument("--output", "-o", type=Path, default=None, help="file (default stdout)")
    for sub in (verify, verbs.choices["head"], export):
        sub.add_argument(
            "--config",
            type=Path,
            default=argparse.SUPPRESS,
            help="YAML or JSON settings file (env JIRAGATE_CONFIG)",
        )
        sub.add_argument("--database-url", default=argparse.SUPPRESS, help="the database to read")


def run(args: argparse.Namespace) -> int:
    handlers = {
        "serve": _serve,
        "worker": _worker,
        "demo": _demo,
        "audit": _audit,
        "jira": _jira_snapshot,
        "replay": _replay,
    }
    return handlers[args.command](args)


def _settings(args: argparse.Namespace, **overrides: Any) -> Any:
    from pydantic import ValidationError

    from jiragate.settings import Settings

    try:
        return Settings.from_file(args.config, **overrides)
    except (ValidationError, ValueError, OSError) as exc:
        from jiragate.redaction import redact_text

        print(f"jiragate: invalid settings: {redact_text(str(exc))}", file=sys.stderr)
        raise SystemExit(2) from exc


# --------------------------------------------------------------------------- serve


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from jiragate.api.app import create_app
    from jiragate.errors import JiragateError
    from jiragate.gateway import Gateway
    from jiragate.redaction import install_log_redaction, redact_text

    overrides = {"run_worker": False} if args.no_worker else {}
    settings = _settings(args, **overrides)
    try:
        # Build (and so check) everything before binding the port: a bad policy set, Jira
        # setting or database URL stops the start with one clear line, not a traceback.
        gateway = Gateway.build(settings)
    except JiragateError as exc:
        print(f"jiragate: cannot start: {redact_text(str(exc))}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("jiragate: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers == 1:
        config = uvicorn.Config(
            create_app(settings, gateway=gateway),
            host=args.host,
            port=args.port,
            access_log=not args.no_access_log,
        )
        install_log_redaction()  # after uvicorn.Config configured logging, before any request
        server = uvicorn.Server(config)
        server.run()
        return 0 if server.started else 3  # 3: uvicorn's own "could not start" (port taken)
    import asyncio

    asyncio.run(gateway.aclose())  # each worker process builds its own
    return _serve_workers(args, overrides)


def _serve_workers(args: argparse.Namespace, overrides: dict[str, Any]) -> int:
    """Several uvicorn worker processes on one socket.

    The socket is made here with `proto=IPPROTO_TCP`: uvicorn's own multi-process socket has
    proto 0, and asyncio only enables TCP_NODELAY on connections accepted from a TCP-proto
    socket (`asyncio.base_events._set_nodelay`); without it Nagle's algorithm and delayed
    ACKs add ~40 ms to every small response (found by bench/httpbench.py).
    """
    import json
    import socket
    import tempfile

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    # prometheus_client's multiprocess mode: every worker writes its samples to files in this
    # directory (the library reads the variable when a worker imports it), and /metrics, in
    # whichever worker answers, adds up all of them (jiragate.metrics).
    metrics_dir = tempfile.TemporaryDirectory(prefix="jiragate-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir.name
    if args.config is not None:
        os.environ["JIRAGATE_CONFIG"] = str(Path(args.config).resolve())
    os.environ["JIRAGATE_SERVE_OVERRIDES"] = json.dumps(overrides)
    config = uvicorn.Config(
        "jiragate.api.app:create_app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=not args.no_access_log,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.set_inheritable(True)
    with metrics_dir:
        Multiprocess(config, sockets=[sock]).run()
    return 0


# --------------------------------------------------------------------------- worker


def _worker(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from jiragate.errors import JiragateError
    from jiragate.gateway import Gateway
    from jiragate.redaction import install_log_redaction, redact_text

    settings = _settings(args)
    install_log_redaction()
    try:
        gateway = Gateway.build(settings)
    except JiragateError as exc:
        print(f"jiragate: cannot start: {redact_text(str(exc))}", file=sys.stderr)
        return 2

    async def main() -> None:
        try:
            if args.once:
                await gateway.sync_policies()
                await gateway.maintain()
                while await gateway.run_once() is not None:
                    pass
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            print(f"jiragate worker {gateway.worker_id} running", file=sys.stderr)
            # It decides too (a reviewer's edit is evaluated again): it keeps to the active
            # policy revision like every service process.
            await asyncio.gather(
                gateway.work(stop), gateway.watch_policies(stop), gateway.checkpoint_wal(stop)
            )
        finally:
            await gateway.aclose()

    asyncio.run(main())
    return 0


# --------------------------------------------------------------------------- audit


def _audit(args: argparse.Namespace) -> int:
    from jiragate.errors import StoreError
    from jiragate.gateway.audit import Anchor, AuditReader

    anchor = None
    if getattr(args, "expect_head", None) is not None:
        try:
            anchor = Anchor.parse(args.expect_head)
        except ValueError as exc:
            return _audit_error(f"--expect-head: {exc}")
    url = _audit_database_url(args)
    if url is None:
        return _audit_error(
            "no database to read: pass --config FILE or --database-url URL "
            "(or set JIRAGATE_CONFIG or JIRAGATE_DATABASE_URL)"
        )
    try:
        # Read-only: verifying never creates a database, a table or a migration.
        with AuditReader(url) as reader:
            return _audit_verb(args, reader, anchor)
    except StoreError as exc:
        return _audit_error(str(exc))


def _audit_verb(args: argparse.Namespace, reader: Any, anchor: Any) -> int:
    if args.verb in ("verify", "head"):
        report = reader.verify(expect_head=anchor)
        print(report.head if args.verb == "head" and report.ok else report)
        return 0 if report.ok else 1
    if args.output is None:
        count = reader.export(sys.stdout, since=args.since)
    else:
        with args.output.open("w", encoding="utf-8") as fp:
            count = reader.export(fp, since=args.since)
    print(f"exported {count} events", file=sys.stderr)
    return 0


def _audit_database_url(args: argparse.Namespace) -> str | None:
    """--database-url, else the settings' (from --config and/or JIRAGATE_* variables); None
    when nothing says where the database is (the default ./jiragate.db is not assumed)."""
    if args.database_url:
        return str(args.database_url)
    if args.config is None and not any(
        os.environ.get(name) for name in ("JIRAGATE_CONFIG", "JIRAGATE_DATABASE_URL")
    ):
        return None
    return str(_settings(args).database_url)


def _audit_error(message: str) -> int:
    print(f"jiragate audit: {message}", file=sys.stderr)
    return 2


# --------------------------------------------------------------------------- replay


def _replay(args: argparse.Namespace) -> int:
    """Exit 0 (1 with --fail-on-change and a change), 2 on bad input, the candidate set not
    loading, or a database that cannot be read."""
    import json

    from jiragate.errors import PolicyLoadError, StoreError
    from jiragate.gateway.replay import Replayer
    from jiragate.policy.engine import load_policies

    try:
        since = _since(args.since)
    except ValueError as exc:
        return _replay_error(f"--since: {exc}")
    try:
        policies = load_policies(args.policies)
    except PolicyLoadError as exc:
        return _replay_error(f"the policies in {args.policies} do not load:\n{exc}")
    url = _audit_database_url(args)
    if url is None:
        return _replay_error(
            "no database to read: pass --config FILE or --database-url URL "
            "(or set JIRAGATE_CONFIG or JIRAGATE_DATABASE_URL)"
        )
    try:
        with Replayer(url) as replayer:
            report = replayer.replay(policies, since=since)
    except StoreError as exc:
        return _replay_error(str(exc))
    if args.format == "json":
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(report.text())
    return 1 if args.fail_on_change and report.changes else 0


def _since(raw: str | None) -> Any:
    import re
    from datetime import UTC, datetime, timedelta

    from jiragate.policy.loader import parse_duration

    if raw is None:
        return None
    if re.fullmatch(r"([0-9]+[smhd])+", raw):
        return datetime.now(UTC) - timedelta(seconds=parse_duration(raw))
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"{raw!r} is neither an ISO 8601 time (2026-12-01T00:00:00Z) nor a duration (7d)"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"{raw!r} has no timezone: add Z or +00:00")
    return moment.astimezone(UTC)


def _replay_error(message: str) -> int:
    print(f"jiragate replay: {message}", file=sys.stderr)
    return 2


# --------------------------------------------------------------------------- demo


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from jiragate.demo import run_demo

    return asyncio.run(
        run_demo(
            port=args.port,
            sandbox_port=args.sandbox_port,
            data_dir=args.data_dir,
            exit_after_walkthrough=args.exit_after_walkthrough,
        )
    )


# --------------------------------------------------------------------------- jira snapshot


def _jira_snapshot(args: argparse.Namespace) -> int:
    """Read the site's metadata through the configured Jira and save it as JSON."""
    import asyncio
    import json

    from jiragate.errors import JiraError
    from jiragate.gateway.site import read_site_metadata
    from jiragate.redaction import redact_text

    settings = _settings(args)
    try:
        data = asyncio.run(read_site_metadata(settings)).as_dict()
    except JiraError as exc:
        message = redact_text(str(exc))
        print(f"jiragate: could not read the site's metadata: {message}", file=sys.stderr)
        return 1
    args.out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    projects = ", ".join(sorted(data["projectIssueTypes"])) or "none"
    print(
        f"{args.out}: {len(data['priorities'])} priorities, {len(data['issueTypes'])} issue "
        f"types, {len(data['statuses'])} statuses, {len(data['fields'])} fields; projects: "
        f"{projects}"
    )
    return 0
