"""The Jira REST proxy's overhead: an allowed read through Jiragate's `/rest/api/3` vs the
same request straight to the Jira sandbox (docs/proxy.md, "Cost").

    python bench/proxy.py [--calls N]     # standalone: starts the sandbox and `jiragate serve`

`bench/run.py` calls `proxy_overhead` in its HTTP section (the default policy set) and puts
the numbers on docs/benchmarks.md. Sequential calls, one keep-alive client per path,
interleaved so both see the same machine; the first 50 of each warm up and are dropped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from httpbench import AGENT_KEYS, READ_FIELDS, _percentile, jiragate_service, sandbox

REPO = Path(__file__).resolve().parents[1]
WARMUP = 50


def proxy_overhead(jiragate_url: str, sandbox_url: str, calls: int) -> dict[str, float]:
    agent = "log-triage-bot"
    path = "/rest/api/3/issue/ENG-1"
    params = {"fields": READ_FIELDS}
    through: list[float] = []
    direct: list[float] = []
    with (
        httpx.Client(
            base_url=jiragate_url,
            timeout=30,
            headers={"Authorization": f"Bearer {AGENT_KEYS[agent]}"},
        ) as proxy,
        httpx.Client(
            base_url=sandbox_url, timeout=30, auth=("bench@example.com", "bench-jira-token")
        ) as jira,
    ):
        for index in range(calls + WARMUP):
            start = time.perf_counter()
            answer = proxy.get(path, params=params)
            elapsed = time.perf_counter() - start
            if answer.status_code != 200 or answer.json().get("key") != "ENG-1":
                raise RuntimeError(f"the proxied read failed: {answer.status_code} {answer.text}")
            start = time.perf_counter()
            read = jira.get(path, params=params)
            elapsed_direct = time.perf_counter() - start
            read.raise_for_status()
            if index >= WARMUP:
                through.append(elapsed * 1000)
                direct.append(elapsed_direct * 1000)
    return {
        "calls": calls,
        "proxy_p50_ms": statistics.median(through),
        "proxy_p99_ms": _percentile(through, 0.99),
        "direct_p50_ms": statistics.median(direct),
        "direct_p99_ms": _percentile(direct, 0.99),
        "overhead_p50_ms": statistics.median(through) - statistics.median(direct),
        "overhead_p99_ms": _percentile(through, 0.99) - _percentile(direct, 0.99),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="jiragate-bench-proxy-") as tmp:
        log = Path(tmp) / "servers.log"
        log.write_text("")
        with (
            sandbox(log) as jira_url,
            jiragate_service(REPO / "policies", jira_url, log, workers=1) as (url, _),
        ):
            numbers = proxy_overhead(url, jira_url, args.calls)
    for name, value in numbers.items():
        print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
