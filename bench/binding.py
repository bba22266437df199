"""What binding an approval costs: the snapshot read (gateway/binding.py) per gated action,
and the same read again before it runs, against `jiragate sandbox` over loopback.

Prints the median and 95th percentile of one `read_snapshot` for 1, 4 and 12 issues (plus a
sprint and a version), one Jira call per target, as the adapter makes them.

    python bench/binding.py [--rounds 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from httpbench import sandbox
from jiragate.gateway.binding import read_snapshot
from jiragate.jira.config import JiraConfig
from jiragate.jira.operations import JiraAdapter

KEYS = [f"ENG-{n}" for n in range(1, 13)]


async def measure(url: str, issues: int, rounds: int) -> list[float]:
    config = JiraConfig(base_url=url, email="bench@example.com", api_token="bench-token-0001")
    details = {"issueKeys": KEYS[:issues], "sprintId": 102, "versionId": "10101"}
    async with JiraAdapter(config) as adapter:
        await read_snapshot(adapter, details, sprint_field="customfield_10020")  # warm up
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            snapshot = await read_snapshot(adapter, details, sprint_field="customfield_10020")
            times.append((time.perf_counter() - started) * 1000)
            assert "error" not in snapshot, snapshot
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sandbox(Path(tmp) / "sandbox.log") as url:
        print(f"{'issues':>6} {'median ms':>10} {'p95 ms':>8}")
        for issues in (1, 4, 12):
            times = sorted(asyncio.run(measure(url, issues, args.rounds)))
            p95 = times[int(len(times) * 0.95) - 1]
            print(f"{issues:>6} {statistics.median(times):>10.2f} {p95:>8.2f}")


if __name__ == "__main__":
    main()
