"""Where an allowed read's time goes, and what the gate adds end to end.

    python bench/read_path.py [--calls 500] [--database sqlite|postgres] [--skip-http]

1. **Steps, in process.** `Gateway.build` on a SQLite file (or a PostgreSQL schema) with a
   `jiragate sandbox` process on loopback as Jira. For an auto-allowed `jira_get_issue`, each
   step of `Gateway.submit` is timed on its own, `--calls` times after a warm-up: validating
   the envelope against the catalog, the policy decision, the Jira call, recording the read
   durably (the action, its execution and two chained audit events, one commit), and the
   whole `submit`. The steps reach into the gateway's parts on purpose: this is the
   breakdown the issue asks for ("measure what each step costs").
2. **End to end, over HTTP.** `jiragate serve` as a user starts it (`--workers 1`, access
   log on, the execution worker on: the default settings) and as docs/operations.md deploys
   it (`--no-access-log`), each against the same sandbox: sequential calls alternate
   between `POST /v1/actions` and the same read straight to the sandbox (p50/p99 and their
   difference, the overhead), then 16 in flight for a fixed number of requests each way
   (throughput through the gate as a share of the direct one).

Nothing is asserted: the machines are shared, so compare rows of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from httpbench import (
    AGENT_KEYS,
    READ_FIELDS,
    _percentile,
    _process,
    free_port,
    gateway_overhead,
    sandbox,
)

REPO = Path(__file__).resolve().parents[1]
AGENT = "log-triage-bot"
ENVELOPE = {"action": "jira_get_issue", "summary": "bench read", "details": {"issueKey": "ENG-1"}}
JIRA_AUTH = ("bench@example.com", "bench-jira-token")
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextlib.contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    """A fresh SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    import sqlalchemy as sa

    from jiragate.store import init_db, make_engine

    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'jiragate.db'}"
        engine = make_engine(url)
        init_db(engine)
        engine.dispose()
        yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def settings_file(tmp: Path, database_url: str, jira_url: str) -> Path:
    config = {
        "policy_dir": str(REPO / "policies"),
        "database_url": database_url,
        "jira": {"url": jira_url, "email": JIRA_AUTH[0], "api_token": JIRA_AUTH[1]},
        "agents": [{"name": name, "api_key": key} for name, key in AGENT_KEYS.items()],
        "session_secret": "bench-session-secret-0123456789abcdef",
    }
    path = tmp / "jiragate.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def summary(samples_ns: list[int]) -> dict[str, float]:
    ms = [sample / 1e6 for sample in samples_ns]
    return {"p50_ms": statistics.median(ms), "p99_ms": _percentile(ms, 0.99)}


async def timed(step: Callable[[], Awaitable[Any]], calls: int) -> list[int]:
    for _ in range(min(50, calls)):
        await step()
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        await step()
        samples.append(time.perf_counter_ns() - start)
    return samples


async def steps(config: Path, calls: int) -> dict[str, dict[str, float]]:
    from jiragate.gateway import Gateway
    from jiragate.settings import Settings
    from jiragate.store.models import new_action_id

    gateway = Gateway.build(Settings.from_file(str(config)))
    try:
        request = await gateway._on_site(gateway._parse(ENVELOPE))
        policies = gateway._policies.deciding()
        decision = policies.evaluate(request, agent=AGENT, explain=False)
        finished = await gateway._executor.run_read(request, new_action_id())
        fields = gateway._action_fields(request, decision, AGENT, None, None, claim=False)

        async def parse() -> object:
            return await gateway._on_site(gateway._parse(ENVELOPE))

        async def decide() -> object:
            return policies.evaluate(request, agent=AGENT, explain=False)

        async def jira() -> object:
            return await gateway._executor.run_read(request, new_action_id())

        async def record() -> object:
            return gateway._store.create_action(**fields, action_id=None, finished=finished)

        async def submit() -> object:
            return await gateway.submit(ENVELOPE, agent=AGENT)

        named = {
            "validate the envelope": parse,
            "decide": decide,
            "Jira call (adapter)": jira,
            "record the read (one commit)": record,
            "Gateway.submit, whole": submit,
        }
        return {name: summary(await timed(step, calls)) for name, step in named.items()}
    finally:
        await gateway.aclose()


async def _throughput(send: Callable[[httpx.AsyncClient], Awaitable[None]], requests: int) -> float:
    remaining = requests

    async def lane(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await send(client)

    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(send(client) for _ in range(16)))  # connections up
        start = time.perf_counter()
        await asyncio.gather(*(lane(client) for _ in range(16)))
        return requests / (time.perf_counter() - start)


def concurrent(url: str, jira_url: str, requests: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {AGENT_KEYS[AGENT]}"}

    async def through(client: httpx.AsyncClient) -> None:
        answer = await client.post(f"{url}/v1/actions", json=ENVELOPE, headers=headers)
        if answer.status_code != 200:
            raise RuntimeError(f"{answer.status_code} {answer.text[:300]}")

    async def direct(client: httpx.AsyncClient) -> None:
        answer = await client.get(
            f"{jira_url}/rest/api/3/issue/ENG-1", params={"fields": READ_FIELDS}, auth=JIRA_AUTH
        )
        answer.raise_for_status()

    gate = asyncio.run(_throughput(through, requests))
    straight = asyncio.run(_throughput(direct, requests))
    return {"gate_rps": gate, "direct_rps": straight, "share": gate / straight}


@contextlib.contextmanager
def serve(config: Path, log: Path, extra: list[str]) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "jiragate.cli", "serve", "--config", str(config)]
    command += ["--port", str(port), *extra]
    url = f"http://127.0.0.1:{port}"
    with _process(command, f"{url}/readyz", log):
        yield url


LAYOUTS = {
    "default settings (1 process, access log, worker)": [],
    "no access log (docs/operations.md)": ["--no-access-log"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--requests", type=int, default=2000, help="per 16-in-flight row")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="jiragate-bench-read-") as name:
        tmp = Path(name)
        log = tmp / "servers.log"
        with sandbox(log) as jira_url, database(args.database, tmp) as database_url:
            config = settings_file(tmp, database_url, jira_url)
            print(f"steps of an allowed jira_get_issue ({args.database}, {args.calls} calls):")
            for step, numbers in asyncio.run(steps(config, args.calls)).items():
                print(f"  {step:32} p50 {numbers['p50_ms']:7.3f} ms  p99 {numbers['p99_ms']:7.3f}")
            if args.skip_http:
                return 0
            for layout, extra in LAYOUTS.items():
                with serve(config, log, extra) as url:
                    one = gateway_overhead(url, jira_url, args.calls)
                    many = concurrent(url, jira_url, args.requests)
                print(f"{layout}, {args.database}:")
                print(
                    f"  sequential: gate p50 {one['gateway_p50_ms']:.2f} ms, direct "
                    f"{one['direct_p50_ms']:.2f} ms, overhead p50 {one['overhead_p50_ms']:+.2f} "
                    f"ms, p99 {one['overhead_p99_ms']:+.2f} ms"
                )
                print(
                    f"  16 in flight: gate {many['gate_rps']:.0f} req/s, direct "
                    f"{many['direct_rps']:.0f} req/s: {many['share']:.0%} of direct"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
