"""How much the notification outbox costs a worker round: planning (first time: inserts;
steady state: the one read that finds everything planned), claiming and finishing rows.

    python bench/notify_outbox.py [--actions 200] [--channels 3] [--postgres URL]

Prints one line per database and step; runs on a fresh SQLite file (and a fresh PostgreSQL
schema with --postgres), loopback only, and stops by itself.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

from jiragate.store import init_db, make_engine
from jiragate.store.notifications import SENT, Outbox, Planned


def measure(label: str, url: str, actions: int, channels: int) -> None:
    engine = make_engine(url)
    init_db(engine)
    outbox = Outbox(engine)
    planned = [
        Planned(f"act_{n:06d}", f"channel-{c}", "webhook", "request")
        for n in range(actions)
        for c in range(channels)
    ]
    rows = len(planned)
    started = time.perf_counter()
    created = outbox.plan(planned, actor="bench")
    first = time.perf_counter() - started
    assert created == rows
    started = time.perf_counter()
    for _ in range(10):
        assert outbox.plan(planned, actor="bench") == 0
    steady = (time.perf_counter() - started) / 10
    started = time.perf_counter()
    claimed = 0
    while True:
        batch = outbox.claim_due(worker="bench", lease_seconds=60, limit=50)
        if not batch:
            break
        for row in batch:
            outbox.finish(row, worker="bench", status=SENT, outcome="HTTP 200")
        claimed += len(batch)
    drained = time.perf_counter() - started
    assert claimed == rows
    print(
        f"{label:8} {rows:6} rows | plan, first: {first / rows * 1000:6.2f} ms/row | "
        f"plan, steady (all exist): {steady * 1000:7.1f} ms/round | "
        f"claim+finish: {drained / rows * 1000:6.2f} ms/row ({rows / drained:6.0f} rows/s)"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--postgres", help="e.g. postgresql+psycopg://postgres@127.0.0.1/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        measure("sqlite", f"sqlite:///{directory}/bench.db", args.actions, args.channels)
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.postgres)
        with admin.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
        sep = "&" if "?" in args.postgres else "?"
        try:
            measure(
                "postgres",
                f"{args.postgres}{sep}options=-csearch_path%3D{schema}",
                args.actions,
                args.channels,
            )
        finally:
            with admin.begin() as connection:
                connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


if __name__ == "__main__":
    main()
