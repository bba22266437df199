"""Run every comparison in one go and write docs/benchmarks.md with a chart.

    python bench/run.py           # the full run (~10 minutes on 2 cores)
    python bench/run.py --quick   # a short run to check that everything works (~3 minutes)
    python bench/run.py --report-only   # rewrite the page and chart from the last results

In-process Jiragate vs cedarpy (`inprocess.py`), HTTP Jiragate vs a Cerbos PDP
(`httpbench.py`), the gateway's overhead on an allowed read, and the service's peak memory
with 10,000 rules. Every engine is checked to agree with the others (and with a naive
reference) on the inputs before anything is timed. Raw numbers go to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cerbos_policies import cerbos_request, cerbos_server, cerbos_version
from generate import (
    default_rules,
    facts_for,
    generate_actions,
    generate_policy_dir,
    generate_rules,
    reference_decisions,
)
from httpbench import (
    AGENT_KEYS,
    LoadRow,
    check_http_agreement,
    gateway_overhead,
    jiragate_service,
    load_run,
    sandbox,
    service_memory,
    write_bodies,
)
from inprocess import run_inprocess
from proxy import proxy_overhead
from read_path import LAYOUTS, concurrent, database, serve, settings_file
from report import write_report

REPO = Path(__file__).resolve().parents[1]


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        platform.processor() or platform.machine(),
    )
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram_gib": round(total_kib / 1024 / 1024, 1),
        "os": f"{platform.system()} {platform.release()}",
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "jiragate": metadata.version("jiragate"),
        "cedarpy": metadata.version("cedarpy"),
        "cerbos": cerbos_version(),
        "uvicorn": metadata.version("uvicorn"),
        "fastapi": metadata.version("fastapi"),
        "wrk": wrk_version[1] if len(wrk_version) > 1 else "?",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def run_http(
    sets: list[tuple[str, list[dict[str, Any]], Path]],
    *,
    concurrencies: list[int],
    seconds: float,
    warmup: float,
    agreement_inputs: int,
    overhead_calls: int,
    seed: int,
    tmp: Path,
    log: Path,
) -> tuple[list[LoadRow], dict[str, float], dict[str, int]]:
    envelopes = generate_actions(2000, seed=seed)
    facts = [facts_for(envelope, agent) for envelope, agent in envelopes]
    jiragate_bodies = write_bodies(
        tmp / "jiragate-bodies.txt", [(AGENT_KEYS[agent], env) for env, agent in envelopes]
    )
    cerbos_bodies = write_bodies(
        tmp / "cerbos-bodies.txt", [("", cerbos_request(f)) for f in facts]
    )
    rows: list[LoadRow] = []
    overhead: dict[str, float] = {}
    checked: dict[str, int] = {}
    with sandbox(log) as jira_url:
        for name, rules, policy_dir in sets:
            expected = reference_decisions(rules, facts[:agreement_inputs])
            with (
                jiragate_service(policy_dir, jira_url, log) as (url, _),
                cerbos_server(rules, log) as cerbos_url,
            ):
                checked[name] = check_http_agreement(
                    url,
                    cerbos_url,
                    envelopes[:agreement_inputs],
                    facts[:agreement_inputs],
                    expected,
                )
                print(f"  {name}: {checked[name]} inputs agree over HTTP", flush=True)
                targets = (
                    ("jiragate /v1/evaluate", url, "/v1/evaluate?explain=false", jiragate_bodies),
                    (
                        "cerbos /api/check/resources",
                        cerbos_url,
                        "/api/check/resources",
                        cerbos_bodies,
                    ),
                )
                for concurrency in concurrencies:
                    for target, base, path, bodies in targets:
                        row = load_run(
                            target,
                            name,
                            base,
                            path,
                            bodies,
                            concurrency=concurrency,
                            seconds=seconds,
                            warmup=warmup,
                        )
                        rows.append(row)
                if name == "default":
                    overhead = gateway_overhead(url, jira_url, overhead_calls)
                    print(f"  gateway overhead: {overhead}", flush=True)
                    overhead["proxy"] = proxy_overhead(url, jira_url, overhead_calls)
                    print(f"  Jira REST proxy overhead: {overhead['proxy']}", flush=True)
    return rows, overhead, checked


def run_reads(*, calls: int, requests: int, tmp: Path, log: Path) -> list[dict[str, Any]]:
    """Allowed reads through `jiragate serve` as a user starts it (one process, the default
    settings) and as docs/operations.md deploys it (no access log), on a SQLite file and on
    PostgreSQL, each against its own sandbox: the sequential overhead and, at 16 in flight,
    the throughput through the gate as a share of the same reads sent straight to Jira."""
    rows: list[dict[str, Any]] = []
    for kind in ("sqlite", "postgres"):
        place = tmp / f"reads-{kind}"
        place.mkdir()
        with sandbox(log) as jira_url, database(kind, place) as database_url:
            config = settings_file(place, database_url, jira_url)
            for layout, extra in LAYOUTS.items():
                with serve(config, log, extra) as url:
                    one = gateway_overhead(url, jira_url, calls)
                    many = concurrent(url, jira_url, requests)
                row = {"database": kind, "layout": layout, **one, **many}
                print(f"  reads, {kind}, {layout}: {row}", flush=True)
                rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (minutes)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the page and chart from bench/results/results.json, measuring nothing",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    results_dir = REPO / "bench" / "results"
    if args.report_only:
        results = json.loads((results_dir / "results.json").read_text(encoding="utf-8"))
        write_report(results, args.output, REPO / "docs" / "img" / "benchmarks.png")
        print(f"wrote {args.output}", flush=True)
        return 0
    results_dir.mkdir(parents=True, exist_ok=True)
    log = results_dir / "servers.log"
    log.write_text("")

    info = machine()
    info["mode"] = "quick" if quick else "full"
    print(f"machine: {info}", flush=True)

    print("in-process: Jiragate vs cedarpy", flush=True)
    engine_rows, agreement = run_inprocess(
        [100, 1000, 10000],
        calls=3_000 if quick else 20_000,
        budget_s=1.0 if quick else 5.0,
        seed=args.seed,
        n_inputs=2000,
    )

    with tempfile.TemporaryDirectory(prefix="jiragate-bench-") as tmp_name:
        tmp = Path(tmp_name)
        big = generate_policy_dir(10_000, tmp / "p10000", seed=args.seed)
        mid = generate_policy_dir(1_000, tmp / "p1000", seed=args.seed)
        sets = [("default", default_rules(), REPO / "policies")]
        sets.append(("generated 1,000", generate_rules(1_000, args.seed), mid))
        print("over HTTP: Jiragate vs Cerbos", flush=True)
        load_rows, overhead, http_checked = run_http(
            sets,
            concurrencies=[16] if quick else [1, 16, 64],
            seconds=3 if quick else 10,
            warmup=1 if quick else 2,
            agreement_inputs=100 if quick else 300,
            overhead_calls=200 if quick else 1000,
            seed=args.seed,
            tmp=tmp,
            log=log,
        )
        print("reads through the gate: default settings, SQLite and PostgreSQL", flush=True)
        reads = run_reads(
            calls=200 if quick else 1000,
            requests=500 if quick else 2000,
            tmp=tmp,
            log=log,
        )
        print("memory: one `jiragate serve` process", flush=True)
        envelopes = generate_actions(300, seed=args.seed)
        with sandbox(log) as jira_url:
            memory = {
                "default": service_memory(REPO / "policies", jira_url, log, envelopes),
                "generated 10,000": service_memory(big, jira_url, log, envelopes),
            }
        print(f"  {memory}", flush=True)

    results = {
        "machine": info,
        "engine": [row.as_dict() for row in engine_rows],
        "agreement": agreement,
        "http_agreement": http_checked,
        "load": [row.as_dict() for row in load_rows],
        "overhead": overhead,
        "reads": reads,
        "memory": memory,
    }
    (results_dir / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    write_report(results, args.output, REPO / "docs" / "img" / "benchmarks.png")
    print(f"wrote {args.output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
