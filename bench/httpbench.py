"""Over HTTP, on loopback: Jiragate's `POST /v1/evaluate` against a Cerbos PDP's
`/api/check/resources`, the gateway's overhead on an allowed read, and the service's memory.

- **Servers.** Jiragate: `create_app(settings)` (what `jiragate serve` builds) under
  `jiragate serve --workers 2 --no-access-log --no-worker`, SQLite. Cerbos: the
  npm-installed binary (`cerbos_policies.cerbos_server`), disk storage, audit and telemetry
  off. Both listen on 127.0.0.1 only.
- **Load.** `wrk` (one thread, N connections, closed loop) with the same Lua script
  (`wrk_bodies.lua`) for both, cycling through the same generated actions in the same order:
  for Jiragate the action envelope with the agent's API key (`?explain=false`: the decision
  only, as Cerbos answers), for Cerbos the check request built from the same facts. A short
  unmeasured warm-up run precedes each measured run. Every response must be 2xx.
- **Agreement first.** Before any load, a sample of the inputs is sent to both servers one by
  one and both answers must equal the reference decision (decision + review group).
"""

from __future__ import annotations

import contextlib
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from cerbos_policies import (
    cerbos_request,
    decision_from_response,
    free_port,
    stop_process,
    wait_until_up,
)
from generate import AGENTS

BENCH = Path(__file__).resolve().parent
AGENT_KEYS = {agent: f"bench-api-key-{agent}-0123456789" for agent in AGENTS}
READ_FIELDS = "summary,status,issuetype,priority,assignee,labels"


# --------------------------------------------------------------------------- servers


def service_config(tmp: Path, policy_dir: Path, jira_url: str) -> Path:
    """A settings file: the policy set, SQLite, the sandbox as Jira, one key per agent."""
    from jiragate.store import init_db, make_engine

    database = f"sqlite:///{tmp / 'jiragate.db'}"
    engine = make_engine(database)  # created once here, so two workers never race on it
    init_db(engine)
    engine.dispose()
    config = {
        "policy_dir": str(policy_dir),
        "database_url": database,
        "jira": {"url": jira_url, "email": "bench@example.com", "api_token": "bench-jira-token"},
        "agents": [{"name": name, "api_key": key} for name, key in AGENT_KEYS.items()],
        "run_worker": False,
    }
    path = tmp / "jiragate.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@contextlib.contextmanager
def _process(
    command: list[str], url: str, log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    import os

    with log.open("ab") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=sink, env={**os.environ, **(env or {})}, cwd=BENCH
        )
        try:
            wait_until_up(url, process, timeout=180)
            yield process
        finally:
            stop_process(process, timeout=20)


@contextlib.contextmanager
def sandbox(log: Path) -> Iterator[str]:
    """`jiragate sandbox` (the Jira emulator) on a free loopback port."""
    port = free_port()
    command = [sys.executable, "-m", "jiragate.cli", "sandbox", "--port", str(port)]
    with _process(command, f"http://127.0.0.1:{port}/", log):
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def jiragate_service(
    policy_dir: Path,
    jira_url: str,
    log: Path,
    *,
    workers: int = 2,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`jiragate serve` on a free loopback port, as a user deploys it: `--workers N` HTTP
    processes, no access log (the load balancer logs), no in-process execution worker."""
    with tempfile.TemporaryDirectory(prefix="jiragate-bench-") as tmp:
        config = service_config(Path(tmp), policy_dir, jira_url)
        port = free_port()
        command = [sys.executable, "-m", "jiragate.cli", "serve", "--config", str(config)]
        command += ["--port", str(port), "--no-worker", "--no-access-log"]
        command += ["--workers", str(workers)]
        url = f"http://127.0.0.1:{port}"
        with _process(command, f"{url}/readyz", log, {"JIRAGATE_CONFIG": str(config)}) as process:
            yield url, process


# --------------------------------------------------------------------------- agreement


def check_http_agreement(
    jiragate_url: str,
    cerbos_url: str,
    envelopes: list[tuple[dict[str, Any], str]],
    facts: list[dict[str, Any]],
    expected: list[tuple[str, str | None]],
) -> int:
    """Send each input to both servers; raise unless both give the reference answer."""
    with httpx.Client(timeout=30) as client:
        for index, ((envelope, agent), item) in enumerate(zip(envelopes, facts, strict=True)):
            ours = client.post(
                f"{jiragate_url}/v1/evaluate?explain=false",
                json=envelope,
                headers={"Authorization": f"Bearer {AGENT_KEYS[agent]}"},
            )
            ours.raise_for_status()
            jiragate = (ours.json()["decision"], ours.json()["review_group"])
            theirs = client.post(f"{cerbos_url}/api/check/resources", json=cerbos_request(item))
            theirs.raise_for_status()
            cerbos = decision_from_response(theirs.json(), item["kind"])
            if not jiragate == cerbos == expected[index]:
                raise AssertionError(
                    f"input {index} ({item}): jiragate {jiragate}, cerbos {cerbos}, "
                    f"reference {expected[index]}"
                )
    return len(envelopes)


# --------------------------------------------------------------------------- load


@dataclass
class LoadRow:
    target: str
    policy_set: str
    concurrency: int
    seconds: float
    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_bodies(path: Path, lines: list[tuple[str, dict[str, Any]]]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for key, body in lines:
            out.write(f"{key}\t{json.dumps(body, separators=(',', ':'))}\n")
    return path


def wrk(url: str, path: str, bodies: Path, *, concurrency: int, seconds: float) -> dict[str, Any]:
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    command += ["-s", str(BENCH / "wrk_bodies.lua"), url, "--", str(bodies), path]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^JSON (\{.*\})$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    result: dict[str, Any] = json.loads(match.group(1))
    failures = sum(result[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
    if failures:
        raise RuntimeError(f"wrk against {url}{path}: {failures} failed requests: {result}")
    return result


def load_run(
    target: str,
    policy_set: str,
    url: str,
    path: str,
    bodies: Path,
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
) -> LoadRow:
    wrk(url, path, bodies, concurrency=concurrency, seconds=warmup)
    result = wrk(url, path, bodies, concurrency=concurrency, seconds=seconds)
    duration = result["duration_us"] / 1e6
    row = LoadRow(
        target,
        policy_set,
        concurrency,
        duration,
        result["requests"],
        result["requests"] / duration,
        result["p50_us"] / 1000,
        result["p99_us"] / 1000,
    )
    print(
        f"  {target:>26} {policy_set:>16} c={concurrency:<3}: {row.per_second:>9,.0f} req/s "
        f"p50 {row.p50_ms:7.2f} ms  p99 {row.p99_ms:7.2f} ms",
        flush=True,
    )
    return row


# --------------------------------------------------------------------------- gateway overhead


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def gateway_overhead(jiragate_url: str, sandbox_url: str, calls: int) -> dict[str, float]:
    """Sequential calls, one keep-alive client each: an auto-allowed `jira_get_issue`
    through `POST /v1/actions` vs the same issue read straight from the sandbox."""
    envelope = {
        "action": "jira_get_issue",
        "summary": "bench read",
        "details": {"issueKey": "ENG-1"},
    }
    agent = "log-triage-bot"
    headers = {"Authorization": f"Bearer {AGENT_KEYS[agent]}"}
    through: list[float] = []
    direct: list[float] = []
    with (
        httpx.Client(timeout=30) as gateway,
        httpx.Client(timeout=30, auth=("bench@example.com", "bench-jira-token")) as jira,
    ):
        for index in range(calls + 50):
            start = time.perf_counter()
            answer = gateway.post(f"{jiragate_url}/v1/actions", json=envelope, headers=headers)
            elapsed = time.perf_counter() - start
            if answer.status_code != 200 or answer.json().get("status") != "executed":
                raise RuntimeError(
                    f"the read was not executed: {answer.status_code} {answer.text[:300]}"
                )
            start2 = time.perf_counter()
            read = jira.get(f"{sandbox_url}/rest/api/3/issue/ENG-1", params={"fields": READ_FIELDS})
            elapsed2 = time.perf_counter() - start2
            read.raise_for_status()
            if index >= 50:  # the first calls warm both up
                through.append(elapsed * 1000)
                direct.append(elapsed2 * 1000)
    return {
        "calls": calls,
        "gateway_p50_ms": statistics.median(through),
        "gateway_p99_ms": _percentile(through, 0.99),
        "direct_p50_ms": statistics.median(direct),
        "direct_p99_ms": _percentile(direct, 0.99),
        "overhead_p50_ms": statistics.median(through) - statistics.median(direct),
        "overhead_p99_ms": _percentile(through, 0.99) - _percentile(direct, 0.99),
    }


# --------------------------------------------------------------------------- memory


def status_kib(pid: int, field: str) -> int:
    """A `VmHWM` / `VmRSS` line of /proc/<pid>/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(f"{field} not in /proc/{pid}/status")


def service_memory(
    policy_dir: Path, jira_url: str, log: Path, envelopes: list[tuple[dict[str, Any], str]]
) -> dict[str, float]:
    """Peak RSS (VmHWM) of one `jiragate serve` process with the set loaded, after it has
    answered every input once."""
    with jiragate_service(policy_dir, jira_url, log, workers=1) as (url, process):
        with httpx.Client(timeout=30) as client:
            for envelope, agent in envelopes:
                client.post(
                    f"{url}/v1/evaluate?explain=false",
                    json=envelope,
                    headers={"Authorization": f"Bearer {AGENT_KEYS[agent]}"},
                ).raise_for_status()
        return {
            "vmhwm_mib": status_kib(process.pid, "VmHWM") / 1024,
            "vmrss_mib": status_kib(process.pid, "VmRSS") / 1024,
        }
