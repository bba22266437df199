"""Service load: throughput and p50/p99 latency of real `jiragate serve` processes.

```
python bench/load.py [--requests 400] [--concurrency 16] [--time-cap 60]
                     [--databases sqlite,postgres] [--replicas 1,2] [--no-append]
```

For each database (a SQLite file; a fresh schema in PostgreSQL at 127.0.0.1:5432/test) and
each replica count, it starts a Jira sandbox process and N `jiragate serve --no-worker`
replicas (separate processes sharing the database), then drives two workloads from one
asyncio + httpx client, round-robin over the replicas (a tiny stand-in for a load balancer):

- `POST /v1/evaluate` — the dry run (policy only; nothing recorded);
- `POST /v1/actions` with `jira_get_issue` — auto-allowed: recorded, audited, executed inline
  against the sandbox, answered with the issue.

Fixed request counts, a warm-up of 20 requests, and a time cap per workload. Loopback only.
Prints a table and (unless `--no-append`) writes it into docs/benchmarks.md under the
"Service load" heading, replacing only that section.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks.md"
HEADING = "## Service load"
AGENT_KEY = "bench-agent-key-0000000001"
POSTGRES_URL = os.environ.get(
    "JIRAGATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
EVALUATE = {
    "action": "jira_create_tickets",
    "summary": "bench: 3 bugs from the error log",
    "details": {
        "projectKey": "ENG",
        "issueCount": 3,
        "issueType": "Bug",
        "priority": "High",
        "labels": ["ai-generated"],
    },
}
GET_ISSUE = {"action": "jira_get_issue", "summary": "bench read", "details": {"issueKey": "ENG-1"}}


@dataclass
class Row:
    database: str
    replicas: int
    endpoint: str
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(args: list[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "jiragate.cli", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
        )


def wait_http(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {seconds}s")


@contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    import sqlalchemy as sa

    admin = sa.create_engine(POSTGRES_URL)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def deployment(kind: str, replicas: int) -> Iterator[list[str]]:
    """A sandbox process and `replicas` serve processes on one database; yields their URLs."""
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jg-load-")))
        processes: list[subprocess.Popen[bytes]] = []

        def stop_all() -> None:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()

        stack.callback(stop_all)
        jira_port = free_port()
        sandbox = spawn(["sandbox", "--port", str(jira_port)], directory / "sandbox.log", directory)
        processes.append(sandbox)
        url = stack.enter_context(database(kind, directory))
        config = {
            "policy_dir": str(REPO / "policies"),
            "database_url": url,
            "jira": {
                "url": f"http://127.0.0.1:{jira_port}",
                "email": "bench@example.com",
                "api_token": "bench-jira-token-000001",
            },
            "agents": [{"name": "bench-bot", "api_key": AGENT_KEY}],
            "run_worker": False,
        }
        config_path = directory / "jiragate.yaml"
        config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        wait_http(f"http://127.0.0.1:{jira_port}/rest/api/3/serverInfo", sandbox)
        urls: list[str] = []
        for index in range(replicas):
            port = free_port()
            args = ["serve", "--config", str(config_path), "--port", str(port), "--no-worker"]
            process = spawn(args, directory / f"replica-{index}.log", directory)
            processes.append(process)
            urls.append(f"http://127.0.0.1:{port}")
            # One at a time: the first one runs the migrations.
            wait_http(f"{urls[-1]}/healthz", process)
        yield urls


async def drive(
    urls: list[str], path: str, body: dict, *, requests: int, concurrency: int, cap: float
) -> tuple[list[float], int, float]:
    headers = {"Authorization": f"Bearer {AGENT_KEY}"}
    limits = httpx.Limits(max_connections=concurrency * len(urls))
    async with httpx.AsyncClient(headers=headers, timeout=30, limits=limits) as client:
        targets = itertools.cycle(urls)  # round-robin: the load balancer
        for _ in range(20):  # warm-up: connections, caches, the first SQLite checkpoint
            await client.post(f"{next(targets)}{path}", json=body)
        latencies: list[float] = []
        errors = 0
        counter = itertools.count()
        started = time.perf_counter()
        deadline = started + cap

        async def one_client() -> None:
            nonlocal errors
            while next(counter) < requests and time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    response = await client.post(f"{next(targets)}{path}", json=body)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                errors += not ok

        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        return latencies, errors, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for kind in args.databases.split(","):
        for replicas in [int(n) for n in args.replicas.split(",")]:
            with deployment(kind, replicas) as urls:
                for name, path, body in (
                    ("POST /v1/evaluate", "/v1/evaluate?explain=false", EVALUATE),
                    ("POST /v1/actions (jira_get_issue)", "/v1/actions", GET_ISSUE),
                ):
                    latencies, errors, seconds = asyncio.run(
                        drive(
                            urls,
                            path,
                            body,
                            requests=args.requests,
                            concurrency=args.concurrency,
                            cap=args.time_cap,
                        )
                    )
                    row = Row(
                        kind,
                        replicas,
                        name,
                        len(latencies),
                        errors,
                        seconds,
                        percentile(latencies, 50) * 1000,
                        percentile(latencies, 99) * 1000,
                    )
                    rows.append(row)
                    print(format_row(row), flush=True)
    return rows


def format_row(row: Row) -> str:
    return (
        f"| {row.database} | {row.replicas} | {row.endpoint} | {row.requests} | {row.errors} "
        f"| {row.throughput:.0f} | {row.p50_ms:.1f} | {row.p99_ms:.1f} |"
    )


TABLE_HEAD = (
    "| database | replicas | endpoint | requests | errors | req/s | p50 ms | p99 ms |\n"
    "|---|---|---|---|---|---|---|---|"
)


def section(rows: list[Row], args: argparse.Namespace) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    lines = [
        HEADING,
        "",
        "`python bench/load.py` (see bench/README.md): real `jiragate serve --no-worker`",
        "processes on one database, a Jira sandbox process, one asyncio httpx client",
        f"round-robin over the replicas; {args.requests} requests per row after 20 warm-up",
        f"requests, {args.concurrency} in flight, capped at {args.time_cap:.0f} s per row.",
        f"Machine: {machine} (shared and noisy: compare rows, not runs).",
        "The one Python client bounds the dry-run rows here (about 1,000 req/s); `wrk` drives",
        "`/v1/evaluate` much harder in the comparison with Cerbos below.",
        "",
        TABLE_HEAD,
        *(format_row(row) for row in rows),
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    """Replace (or append) only the "Service load" section of docs/benchmarks.md."""
    if not DOC.exists():
        DOC.write_text("# Benchmarks\n\n" + text, encoding="utf-8")
        return
    current = DOC.read_text(encoding="utf-8")
    start = current.find(HEADING + "\n")
    if start == -1:
        DOC.write_text(current.rstrip("\n") + "\n\n" + text, encoding="utf-8")
        return
    end = current.find("\n## ", start + len(HEADING))
    rest = current[end + 1 :] if end != -1 else ""
    DOC.write_text(current[:start] + text + ("\n" + rest if rest else ""), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--time-cap", type=float, default=60.0, help="seconds per row")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--replicas", default="1,2")
    parser.add_argument("--no-append", action="store_true", help="do not edit docs/benchmarks.md")
    args = parser.parse_args()
    print(TABLE_HEAD, flush=True)
    rows = run(args)
    if not args.no_append:
        write_section(section(rows, args))
        print(f"wrote the '{HEADING[3:]}' section of {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
