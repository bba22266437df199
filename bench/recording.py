"""What recording a finished read costs, alone and in group commits.

    python bench/recording.py [--database sqlite|postgres] [--rounds 200]

`Gateway.build` on a fresh SQLite file (or PostgreSQL schema) with a `jiragate sandbox`
process as Jira; one real `jira_get_issue` is run to get a real result, then
`Store.create_actions` writes batches of 1, 8 and 16 such reads (each read: its action,
its execution and two chained audit events; the batch: one transaction, one statement per
table). Printed: the median time of one batch and its share per read. The ReadRecorder
(gateway/recording.py) forms these batches from the reads that finish while the previous
batch is being written, so the per-read cost falls as load rises.

Nothing is asserted: the machines are shared, so compare rows of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from read_path import AGENT, ENVELOPE, database, sandbox, settings_file

BATCHES = (1, 8, 16)


async def measure(config: Path, rounds: int) -> dict[int, float]:
    from jiragate.gateway import Gateway
    from jiragate.settings import Settings
    from jiragate.store.models import new_action_id

    gateway = Gateway.build(Settings.from_file(str(config)))
    try:
        # The gateway's parts, reached into on purpose: the recording step alone.
        request = await gateway._on_site(gateway._parse(ENVELOPE))
        decision = gateway._policies.deciding().evaluate(request, agent=AGENT, explain=False)
        finished = await gateway._executor.run_read(request, new_action_id())
        fields = gateway._action_fields(request, decision, AGENT, None, None, claim=False)
        store = gateway._store
        medians = {}
        for size in BATCHES:
            samples = []
            for index in range(rounds + 20):
                batch = [
                    {**fields, "action_id": new_action_id(), "finished": finished}
                    for _ in range(size)
                ]
                start = time.perf_counter_ns()
                store.create_actions(batch)
                if index >= 20:  # warm-up
                    samples.append(time.perf_counter_ns() - start)
            medians[size] = statistics.median(samples) / 1e3
        return medians
    finally:
        await gateway.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="jiragate-bench-recording-") as name:
        tmp = Path(name)
        with sandbox(tmp / "servers.log") as jira_url, database(args.database, tmp) as url:
            medians = asyncio.run(measure(settings_file(tmp, url, jira_url), args.rounds))
    print(f"recording finished reads ({args.database}, {args.rounds} batches per row):")
    for size, batch_us in medians.items():
        per_read = batch_us / size
        print(f"  batch of {size:2}: {batch_us:8.0f} us per commit, {per_read:6.0f} us per read")
    return 0


if __name__ == "__main__":
    sys.exit(main())
