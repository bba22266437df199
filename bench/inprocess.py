"""In-process: Jiragate's `PolicySet.evaluate(ActionRequest)` against `cedarpy` on the same rules.

For each policy set the inputs are checked first: Jiragate, Cedar (one `is_authorized` per
decision) and the naive reference (`generate.reference_decisions`) must give the same
(decision, review group) for every input action, or nothing is timed.

Then, one call timed at a time with `time.perf_counter_ns` (garbage collector paused, after
a warm-up; `engine.latencies`), each engine within a time budget:

- jiragate: `PolicySet.evaluate(request, agent=...)` on pre-validated `ActionRequest`s;
- cedarpy is_authorized: one call on the pre-parsed `PolicySet` + `Entities` per decision,
  plus the combining rule over `diagnostics.reasons` (see `cedar_policies.py`);
- cedarpy batch: `is_authorized_batch` over 100 requests at a time; its per-decision
  latency is the batch's time divided by 100 (so its p99 is a per-batch average).
"""

from __future__ import annotations

import gc
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cedar_policies import CedarEngine, cedar_request
from engine import summarise
from generate import (
    default_rules,
    facts_for,
    generate_actions,
    generate_policy_dir,
    generate_rules,
    reference_decisions,
)
from jiragate.catalog import parse_envelope
from jiragate.policy.engine import PolicySet, load_policies

REPO = Path(__file__).resolve().parents[1]
BATCH = 100


@dataclass
class EngineRow:
    policy_set: str
    rules: int
    engine: str
    load_ms: float
    calls: int
    per_second: float
    p50_us: float
    p99_us: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class DisagreementError(AssertionError):
    """Two engines decided an input differently: the comparison would be meaningless."""


def timed(
    call: Callable[[int], Any],
    n_inputs: int,
    calls: int,
    budget_s: float,
    warmup: int,
    min_samples: int = 200,
) -> list[int]:
    """Latency of `call(i)` for i cycling over the inputs: at most `calls` samples, stopping
    early (but after at least `min_samples`) once `budget_s` seconds of samples are collected."""
    for index in range(warmup):
        call(index % n_inputs)
    samples: list[int] = []
    clock = time.perf_counter_ns
    budget_ns = budget_s * 1e9
    spent = 0
    gc.disable()  # a collection in the middle of one call is noise, not the engine
    try:
        for index in range(calls):
            start = clock()
            call(index % n_inputs)
            elapsed = clock() - start
            samples.append(elapsed)
            spent += elapsed
            if spent > budget_ns and len(samples) >= min_samples:
                break
    finally:
        gc.enable()
    return samples


def check_agreement(
    name: str, policies: PolicySet, cedar: CedarEngine, rules: list[dict[str, Any]], inputs: Any
) -> dict[str, int]:
    requests, facts, cedar_requests = inputs
    expected = reference_decisions(rules, facts)
    counts: dict[str, int] = {}
    for index, (request, item) in enumerate(zip(requests, facts, strict=True)):
        ours = policies.evaluate(request, agent=item["agent"])
        jiragate = (ours.decision.value, ours.review_group)
        theirs = cedar.decide(item, cedar_requests[index])
        if not jiragate == theirs == expected[index]:
            raise DisagreementError(
                f"{name}: input {index} ({item}): jiragate {jiragate}, cedar {theirs}, "
                f"reference {expected[index]}"
            )
        label = f"{jiragate[0]}" + (f" → {jiragate[1]}" if jiragate[1] else "")
        counts[label] = counts.get(label, 0) + 1
    return counts


def prepare_inputs(envelopes: list[tuple[dict[str, Any], str]]) -> Any:
    requests = [parse_envelope(envelope) for envelope, _ in envelopes]
    facts = [facts_for(envelope, agent) for envelope, agent in envelopes]
    cedar_requests = [cedar_request(item) for item in facts]
    return requests, facts, cedar_requests


def bench_set(
    name: str,
    rules: list[dict[str, Any]],
    policy_dir: Path,
    inputs: Any,
    *,
    calls: int,
    budget_s: float,
) -> tuple[list[EngineRow], dict[str, int]]:
    start = time.perf_counter()
    policies = load_policies(policy_dir)
    jiragate_load = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    cedar = CedarEngine(rules)
    cedar_load = (time.perf_counter() - start) * 1000
    counts = check_agreement(name, policies, cedar, rules, inputs)
    requests, facts, cedar_requests = inputs
    n = len(requests)
    rows = []

    def jiragate(index: int) -> Any:
        return policies.evaluate(requests[index], agent=facts[index]["agent"])

    samples = timed(jiragate, n, calls, budget_s, warmup=2000)
    rows.append(
        EngineRow(name, len(rules), "jiragate", jiragate_load, len(samples), *summarise(samples))
    )

    def cedar_one(index: int) -> Any:
        return cedar.decide(facts[index], cedar_requests[index])

    samples = timed(cedar_one, n, calls, budget_s, warmup=50)
    rows.append(
        EngineRow(name, len(rules), "cedarpy", cedar_load, len(samples), *summarise(samples))
    )

    batches = [(facts[i : i + BATCH], cedar_requests[i : i + BATCH]) for i in range(0, n, BATCH)]

    def cedar_batch(index: int) -> Any:
        return cedar.decide_batch(*batches[index])

    per_batch = timed(
        cedar_batch, len(batches), max(1, calls // BATCH), budget_s, warmup=2, min_samples=3
    )
    per_decision = [sample // BATCH for sample in per_batch for _ in range(BATCH)]
    rows.append(
        EngineRow(
            name,
            len(rules),
            "cedarpy batch",
            cedar_load,
            len(per_decision),
            *summarise(per_decision),
        )
    )
    return rows, counts


def run_inprocess(
    sizes: list[int], *, calls: int, budget_s: float, seed: int, n_inputs: int = 2000
) -> tuple[list[EngineRow], dict[str, dict[str, int]]]:
    inputs = prepare_inputs(generate_actions(n_inputs, seed=seed))
    rows: list[EngineRow] = []
    agreement: dict[str, dict[str, int]] = {}
    sets: list[tuple[str, list[dict[str, Any]], Path | None]] = [
        ("default", default_rules(), REPO / "policies")
    ]
    sets += [(f"generated {size:,}", generate_rules(size, seed), None) for size in sizes]
    with tempfile.TemporaryDirectory() as tmp:
        for name, rules, path in sets:
            if path is None:
                path = generate_policy_dir(len(rules), Path(tmp) / name.replace(" ", "-"), seed)
            set_rows, counts = bench_set(name, rules, path, inputs, calls=calls, budget_s=budget_s)
            for row in set_rows:
                print(
                    f"  {row.policy_set:>16} {row.engine:>14}: {row.per_second:>12,.0f}/s "
                    f"p50 {row.p50_us:9.1f} µs  p99 {row.p99_us:9.1f} µs  ({row.calls} calls)",
                    flush=True,
                )
            rows += set_rows
            agreement[name] = counts
    return rows, agreement


if __name__ == "__main__":
    run_inprocess([100, 1000], calls=20_000, budget_s=3.0, seed=42)
