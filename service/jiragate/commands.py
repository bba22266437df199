"""`jiragate serve`, `worker`, `demo` and `audit`: the service's command-line edges.

Standard-library imports only at module level (see cli.py); each `run` imports what it needs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    if name in ("serve", "worker", "audit"):
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
        verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
        verify = verbs.add_parser("verify", help="check the hash chain; exit 1 if broken")
        verify.add_argument(
            "--expect-head", help="the head hash you anchored earlier (detects a deleted tail)"
        )
        export = verbs.add_parser("export", help="write every event as JSON Lines")
        export.add_argument("--since", type=int, default=None, help="only events after this seq")
        export.add_argument("--output", "-o", type=Path, default=None, help="file (default stdout)")
        for sub in (verify, export):
            sub.add_argument("--database-url", help="override the configured database URL")


def run(args: argparse.Namespace) -> int:
    handlers = {"serve": _serve, "worker": _worker, "demo": _demo, "audit": _audit}
    return handlers[args.command](args)


def _settings(args: argparse.Namespace, **overrides: Any) -> Any:
    from pydantic import ValidationError

    from jiragate.settings import Settings

    try:
        return Settings.from_file(args.config, **overrides)
    except (ValidationError, ValueError, OSError) as exc:
        print(f"jiragate: invalid settings: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


# --------------------------------------------------------------------------- serve


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from jiragate.api.app import create_app
    from jiragate.errors import JiragateError
    from jiragate.gateway import Gateway

    overrides = {"run_worker": False} if args.no_worker else {}
    settings = _settings(args, **overrides)
    try:
        # Build (and so check) everything before binding the port: a bad policy set, Jira
        # setting or database URL stops the start with one clear line, not a traceback.
        gateway = Gateway.build(settings)
    except JiragateError as exc:
        print(f"jiragate: cannot start: {exc}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("jiragate: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers == 1:
        uvicorn.run(
            create_app(settings, gateway=gateway),
            host=args.host,
            port=args.port,
            access_log=not args.no_access_log,
        )
        return 0
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

    import uvicorn
    from uvicorn.supervisors import Multiprocess

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
    Multiprocess(config, sockets=[sock]).run()
    return 0


# --------------------------------------------------------------------------- worker


def _worker(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from jiragate.errors import JiragateError
    from jiragate.gateway import Gateway

    settings = _settings(args)

    try:
        gateway = Gateway.build(settings)
    except JiragateError as exc:
        print(f"jiragate: cannot start: {exc}", file=sys.stderr)
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
            await asyncio.gather(gateway.work(stop), gateway.watch_policies(stop))
        finally:
            await gateway.aclose()

    asyncio.run(main())
    return 0


# --------------------------------------------------------------------------- audit


def _audit(args: argparse.Namespace) -> int:
    from jiragate.store import export_jsonl, make_engine, verify

    url = args.database_url or _settings(args).database_url
    engine = make_engine(url)
    try:
        if args.verb == "verify":
            report = verify(engine, expect_head=args.expect_head)
            print(report)
            return 0 if report.ok else 1
        if args.output is None:
            count = export_jsonl(engine, sys.stdout, since=args.since)
        else:
            with args.output.open("w", encoding="utf-8") as fp:
                count = export_jsonl(engine, fp, since=args.since)
        print(f"exported {count} events", file=sys.stderr)
        return 0
    finally:
        engine.dispose()


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
