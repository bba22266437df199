"""Benchmark the policy engine: load time, decisions per second, and per-decision latency.

For the default policy and generated sets of 100 / 1,000 / 10,000 rules it reports:

- load: milliseconds to load, check and compile the set (median of a few loads);
- evaluate(ActionRequest): pre-validated requests, the gateway's hot path;
- evaluate(dict): the same actions as envelopes, including catalog validation.

Each latency is `time.perf_counter_ns` around one call, over CALLS calls after a warm-up.
Numbers are printed, never asserted (the machine is shared). Targets, for the 10,000-rule
set: load <= 1 s, p50 <= 10 µs for evaluate(ActionRequest).

After the table, where one load of each generated set goes: YAML (`yamlsource.parse` of
every file), structure + model (the rest of `load_model`: schema, model, cross-references)
and compile (`PolicySet(model)`: the index).

    python bench/engine.py [--calls 20000] [--sizes 100,1000,10000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate_actions, generate_policy_dir
from jiragate.catalog import parse_envelope
from jiragate.policy.engine import PolicySet, load_policies
from jiragate.policy.loader import load_model, policy_files
from jiragate.policy.yamlsource import parse

REPO = Path(__file__).resolve().parents[1]
WARMUP = 2000


def time_load(path: Path, repeat: int = 3) -> tuple[float, PolicySet]:
    durations = []
    policies = None
    for _ in range(repeat):
        start = time.perf_counter_ns()
        policies = load_policies(path)
        durations.append((time.perf_counter_ns() - start) / 1e6)
    assert policies is not None
    return statistics.median(durations), policies


def latencies(
    call: Callable[[Any, str], Any], inputs: list[tuple[Any, str]], calls: int
) -> list[int]:
    for index in range(WARMUP):
        item, agent = inputs[index % len(inputs)]
        call(item, agent)
    samples = [0] * calls
    clock = time.perf_counter_ns
    gc.disable()  # a collection in the middle of one call is noise, not the engine
    try:
        for index in range(calls):
            item, agent = inputs[index % len(inputs)]
            start = clock()
            call(item, agent)
            samples[index] = clock() - start
    finally:
        gc.enable()
    return samples


def summarise(samples: list[int]) -> tuple[float, float, float]:
    """(decisions per second, p50 µs, p99 µs)."""
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2] / 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000
    per_second = len(samples) / (sum(samples) / 1e9)
    return per_second, p50, p99


def bench_set(name: str, path: Path, calls: int, envelopes: list[tuple[Any, str]]) -> list[str]:
    load_ms, policies = time_load(path)
    requests = [(parse_envelope(envelope), agent) for envelope, agent in envelopes]

    def evaluate(item: Any, agent: str) -> Any:
        return policies.evaluate(item, agent=agent)

    rows = []
    for label, inputs in (("ActionRequest", requests), ("dict", envelopes)):
        per_second, p50, p99 = summarise(latencies(evaluate, inputs, calls))
        rows.append(
            f"| {name} | {len(policies.rules)} | {load_ms:.1f} | {label} "
            f"| {per_second:,.0f} | {p50:.1f} | {p99:.1f} |"
        )
    return rows


def load_stages(path: Path) -> str:
    """One row: milliseconds of a load's stages (best of three)."""
    files = policy_files(path)
    texts = [file.read_text(encoding="utf-8") for file in files]
    yaml_ms = model_ms = compile_ms = float("inf")
    for _ in range(3):
        start = time.perf_counter_ns()
        for text in texts:
            parse(text)
        yaml_ms = min(yaml_ms, (time.perf_counter_ns() - start) / 1e6)
        start = time.perf_counter_ns()
        model = load_model(path)
        model_ms = min(model_ms, (time.perf_counter_ns() - start) / 1e6 - yaml_ms)
        start = time.perf_counter_ns()
        PolicySet(model)
        compile_ms = min(compile_ms, (time.perf_counter_ns() - start) / 1e6)
    return f"| {len(model.rules):,} | {yaml_ms:.0f} | {model_ms:.0f} | {compile_ms:.0f} |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    envelopes = generate_actions(2000, seed=args.seed)
    print(f"python {sys.version.split()[0]}, {args.calls:,} calls per row after {WARMUP} warm-up")
    print()
    print(
        "| policy set     |  rules | load (ms) | evaluate(...) | decisions/s | p50 µs  | p99 µs  |"
    )
    print(
        "|----------------|-------:|----------:|---------------|------------:|--------:|--------:|"
    )
    for row in bench_set("default", REPO / "policies", args.calls, envelopes):
        print(row, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for size in (int(s) for s in args.sizes.split(",")):
            path = generate_policy_dir(size, Path(tmp) / f"p{size}", seed=args.seed)
            paths.append(path)
            for row in bench_set(f"generated {size:,}", path, args.calls, envelopes):
                print(row, flush=True)
        print()
        print("| rules | YAML (ms) | structure + model (ms) | compile (ms) |")
        print("|------:|----------:|-----------------------:|-------------:|")
        for path in paths:
            print(load_stages(path), flush=True)


if __name__ == "__main__":
    main()
