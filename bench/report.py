"""docs/benchmarks.md (the engine-comparison section) and its chart, from run.py's results.

Only the text between the two markers below (under this section's own heading) is replaced,
so other sections of the page (for example "Service load", written by bench/load.py) are
kept as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

START = "<!-- engine-comparison:start (bench/run.py writes this section) -->"
END = "<!-- engine-comparison:end -->"
TIMES = "\N{MULTIPLICATION SIGN}"
# The heading stays outside the markers, so a tool that replaces another "## ..." section up
# to the next heading never takes this section's start marker with it.
HEADING = "## Jiragate, Cedar and Cerbos on the same policies\n\n"


def _row(engine: list[dict[str, Any]], policy_set: str, name: str) -> dict[str, Any]:
    return next(r for r in engine if r["policy_set"] == policy_set and r["engine"] == name)


def _load(load: list[dict[str, Any]], target: str, policy_set: str, c: int) -> dict[str, Any]:
    return next(
        r
        for r in load
        if r["target"].startswith(target)
        and r["policy_set"] == policy_set
        and r["concurrency"] == c
    )


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def targets(results: dict[str, Any]) -> list[str]:
    engine, load = results["engine"], results["load"]
    ours = _row(engine, "generated 1,000", "jiragate")
    cedar = _row(engine, "generated 1,000", "cedarpy")
    batch = _row(engine, "generated 1,000", "cedarpy batch")
    best_cedar = max(cedar["per_second"], batch["per_second"])
    ratio = ours["per_second"] / best_cedar
    # The targets are issue 15's: in one run, so the ratios compare like with like.
    lines = [
        f"- Engine, 1,000 rules: Jiragate {ours['per_second']:,.0f} decisions/s vs cedarpy's best "
        f"{best_cedar:,.0f}/s = **{ratio:,.0f}{TIMES}** "
        f"(target ≥ 100{TIMES}: {_verdict(ratio >= 100)}); "
        f"p50 {ours['p50_us']:.1f} µs (target ≤ 10 µs: {_verdict(ours['p50_us'] <= 10)}).",
    ]
    big_set = next(
        (r for r in engine if r["policy_set"] == "generated 10,000" and r["engine"] == "jiragate"),
        None,
    )
    if big_set is not None:
        lines.append(
            f"- Engine, 10,000 rules: load {big_set['load_ms']:,.0f} ms (target ≤ 1 s: "
            f"{_verdict(big_set['load_ms'] <= 1000)}); p50 {big_set['p50_us']:.1f} µs per "
            f"decision (target ≤ 10 µs: {_verdict(big_set['p50_us'] <= 10)})."
        )
    concurrency = 16 if any(r["concurrency"] == 16 for r in load) else load[0]["concurrency"]
    for policy_set in dict.fromkeys(r["policy_set"] for r in load):
        j = _load(load, "jiragate", policy_set, concurrency)
        c = _load(load, "cerbos", policy_set, concurrency)
        http_ratio = j["per_second"] / c["per_second"]
        lines.append(
            f"- HTTP dry run, {policy_set}, {concurrency} connections: Jiragate "
            f"{j['per_second']:,.0f} req/s vs Cerbos {c['per_second']:,.0f} req/s = "
            f"**{http_ratio:.2f}{TIMES}** "
            f"(target ≥ 2{TIMES}: {_verdict(http_ratio >= 2)}); p99 "
            f"{j['p99_ms']:.2f} ms vs {c['p99_ms']:.2f} ms (target no worse: "
            f"{_verdict(j['p99_ms'] <= c['p99_ms'])})."
        )
    overhead = results["overhead"]
    lines.append(
        "- Gateway overhead on an allowed `jira_get_issue`: "
        f"p50 +{overhead['overhead_p50_ms']:.2f} ms, "
        f"p99 +{overhead['overhead_p99_ms']:.2f} ms (target ≤ 1 ms p50 and ≤ 5 ms p99: "
        f"{_verdict(overhead['overhead_p50_ms'] <= 1.0 and overhead['overhead_p99_ms'] <= 5)})."
    )
    proxied = overhead.get("proxy")
    if proxied:
        lines.append(
            "- Jira REST proxy overhead on an allowed `GET /rest/api/3/issue/ENG-1`: "
            f"p50 +{proxied['overhead_p50_ms']:.2f} ms, "
            f"p99 +{proxied['overhead_p99_ms']:.2f} ms (target ≤ 1 ms p50 and ≤ 5 ms p99: "
            f"{_verdict(proxied['overhead_p50_ms'] <= 1.0 and proxied['overhead_p99_ms'] <= 5)})."
        )
    lines += _read_targets(results.get("reads", []))
    big = results["memory"]["generated 10,000"]["vmhwm_mib"]
    lines.append(
        f"- Service peak RSS (VmHWM) with 10,000 rules: {big:.0f} MiB (target ≤ 200 MB: "
        f"{_verdict(big * 1.048576 <= 200)})."
    )
    return lines


#: The layout issue 15 names first: `jiragate serve` as a user starts it.
DEFAULT_LAYOUT = "default settings (1 process, access log, worker)"


def _read_targets(reads: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in reads:
        if row["layout"] != DEFAULT_LAYOUT:
            continue
        ok = row["overhead_p50_ms"] <= 1.0 and row["overhead_p99_ms"] <= 5
        lines.append(
            f"- Allowed read through `POST /v1/actions`, `jiragate serve` defaults, "
            f"{row['database']}: p50 +{row['overhead_p50_ms']:.2f} ms, p99 "
            f"+{row['overhead_p99_ms']:.2f} ms (target ≤ 1 ms p50 and ≤ 5 ms p99: "
            f"{_verdict(ok)}); 16 in flight: {row['gate_rps']:,.0f} vs {row['direct_rps']:,.0f} "
            f"req/s straight to Jira = **{row['share']:.0%}** (target ≥ 60%: "
            f"{_verdict(row['share'] >= 0.6)})."
        )
    return lines


def _read_rows(reads: list[dict[str, Any]]) -> list[str]:
    if not reads:
        return []
    return [
        "### Reads through the gate: default settings, SQLite and PostgreSQL",
        "",
        "`jiragate serve` with a settings file only (one process, access log and execution "
        "worker on) and as docs/operations.md runs it (`--no-access-log`), on a SQLite file "
        "and on PostgreSQL, each in front of its own sandbox: sequential `jira_get_issue` "
        "through `POST /v1/actions` against the same read straight to the sandbox, then 16 "
        "in flight each way (one asyncio httpx client on the same machine).",
        "",
        "| database | layout | gate p50 ms | direct p50 ms | added p50 ms | added p99 ms "
        "| gate req/s | direct req/s | share |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['database']} | {r['layout']} | {r['gateway_p50_ms']:.2f} "
            f"| {r['direct_p50_ms']:.2f} | {r['overhead_p50_ms']:+.2f} "
            f"| {r['overhead_p99_ms']:+.2f} | {r['gate_rps']:,.0f} | {r['direct_rps']:,.0f} "
            f"| {r['share']:.0%} |"
            for r in reads
        ),
        "",
    ]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{label} {n}" for label, n in sorted(counts.items()))


def section(results: dict[str, Any], chart: str) -> str:
    m = results["machine"]
    quick = " --quick" if m["mode"] == "quick" else ""
    out = [START, ""]
    out += [
        f"Measured side by side in one run of `python bench/run.py{quick}` "
        f"on {m['date']}: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']} "
        f"(load average at start {m['load_average'][0]:.2f}: a shared machine, so treat small "
        f"differences as noise). Python {m['python']}, Jiragate {m['jiragate']}, cedarpy "
        f"{m['cedarpy']}, Cerbos {m['cerbos']}, uvicorn {m['uvicorn']}, FastAPI "
        f"{m['fastapi']}, wrk {m['wrk']}. How each engine is driven, and why it is a fair "
        "comparison, is in [bench/README.md](../bench/README.md).",
        "",
        f"![Decisions per second in process, and requests per second over HTTP]({chart})",
        "",
        "### Targets",
        "",
        *targets(results),
        "",
        "### In process: `PolicySet.evaluate` vs `cedarpy`",
        "",
        "Every input's (decision, review group) was checked to be the same for Jiragate, Cedar "
        "and a naive reference evaluator before timing: "
        + "; ".join(
            f"{name}: {sum(c.values()):,} inputs ({_counts(c)})"
            for name, c in results["agreement"].items()
        )
        + ".",
        "",
        "| policy set | rules | engine | load (ms) | decisions/s | p50 µs | p99 µs | calls |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results["engine"]:
        out.append(
            f"| {r['policy_set']} | {r['rules']:,} | {r['engine']} | {r['load_ms']:,.0f} "
            f"| {r['per_second']:,.0f} | {r['p50_us']:,.1f} | {r['p99_us']:,.1f} | {r['calls']:,} |"
        )
    out += [
        "",
        "`cedarpy batch` is `is_authorized_batch` over 100 requests; its per-decision numbers "
        "are the batch time divided by 100.",
        "",
        "### Over HTTP: `POST /v1/evaluate` vs Cerbos `/api/check/resources`",
        "",
        "Same inputs in the same order, same `wrk` script, one wrk thread, loopback. Jiragate: "
        "`jiragate serve --workers 2 --no-access-log`, `?explain=false`. Cerbos: one "
        "server process (Go uses both cores). Agreement checked over HTTP first: "
        + ", ".join(f"{k}: {v} inputs" for k, v in results["http_agreement"].items())
        + ".",
        "",
        "| server | policy set | connections | requests/s | p50 ms | p99 ms | requests |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results["load"]:
        out.append(
            f"| {r['target']} | {r['policy_set']} | {r['concurrency']} | {r['per_second']:,.0f} "
            f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['requests']:,} |"
        )
    o = results["overhead"]
    out += [
        "",
        "### Gateway overhead on an allowed read",
        "",
        f"`jira_get_issue` (auto-allowed by `allow-safe-reads`) through `POST /v1/actions` "
        f"vs the same `GET /rest/api/3/issue/ENG-1` straight to `jiragate sandbox`, "
        f"{o['calls']:,} sequential calls each on keep-alive connections:",
        "",
        "| path | p50 ms | p99 ms |",
        "|---|---:|---:|",
        f"| through Jiragate | {o['gateway_p50_ms']:.2f} | {o['gateway_p99_ms']:.2f} |",
        f"| straight to the sandbox | {o['direct_p50_ms']:.2f} | {o['direct_p99_ms']:.2f} |",
        f"| **added by the gateway** | **{o['overhead_p50_ms']:.2f}** "
        f"| **{o['overhead_p99_ms']:.2f}** |",
        "",
        *_proxy_rows(o.get("proxy")),
        *_read_rows(results.get("reads", [])),
        "### Memory",
        "",
        "Peak RSS (`VmHWM` from `/proc/<pid>/status`) of one `jiragate serve` process after "
        "loading the set and answering 300 dry runs:",
        "",
        "| policy set | VmHWM MiB | VmRSS MiB |",
        "|---|---:|---:|",
    ]
    for name, mem in results["memory"].items():
        out.append(f"| {name} | {mem['vmhwm_mib']:.0f} | {mem['vmrss_mib']:.0f} |")
    out += ["", END]
    return "\n".join(out) + "\n"


def write_chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"jiragate": "#2563eb", "cedarpy": "#f59e0b", "cedarpy batch": "#fcd34d"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2), dpi=110)
    engine = results["engine"]
    sets = list(dict.fromkeys(r["policy_set"] for r in engine))
    names = list(dict.fromkeys(r["engine"] for r in engine))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = [_row(engine, s, name)["per_second"] for s in sets]
        xs = [x + (i - (len(names) - 1) / 2) * width for x in range(len(sets))]
        bars = left.bar(xs, values, width, label=name, color=colours.get(name, "grey"))
        left.bar_label(
            bars, labels=[f"{v:,.0f}" for v in values], fontsize=7, rotation=90, padding=2
        )
    left.set_yscale("log")
    left.set_xticks(
        range(len(sets)),
        [
            s.replace("generated ", "") + " rules" if s != "default" else "default (16)"
            for s in sets
        ],
    )
    left.set_ylabel("decisions per second (log scale, higher is better)")
    left.set_title("In process: PolicySet.evaluate vs cedarpy")
    left.legend(loc="upper right", fontsize=9)
    left.set_ylim(top=max(r["per_second"] for r in engine) * 20)
    left.grid(axis="y", which="major", alpha=0.3)

    load = results["load"]
    series = list(dict.fromkeys((r["target"], r["policy_set"]) for r in load))
    concurrencies = sorted({r["concurrency"] for r in load})
    styles = {"default": "-", "generated 1,000": "--"}
    for target, policy_set in series:
        rows = [_load(load, target, policy_set, c) for c in concurrencies]
        colour = "#2563eb" if target.startswith("jiragate") else "#16a34a"
        right.plot(
            concurrencies,
            [r["per_second"] for r in rows],
            styles.get(policy_set, ":"),
            marker="o",
            color=colour,
            label=f"{target.split()[0]}, {policy_set} "
            f"(p99 at {concurrencies[-1]}: {rows[-1]['p99_ms']:.1f} ms)",
        )
    right.set_xscale("log", base=2)
    right.set_xticks(concurrencies, [str(c) for c in concurrencies])
    right.set_xlabel("concurrent connections (wrk)")
    right.set_ylabel("requests per second (higher is better)")
    right.set_title("Over HTTP on 2 cores: /v1/evaluate vs Cerbos check")
    right.set_ylim(bottom=0)
    right.grid(alpha=0.3)
    right.legend(fontsize=8, loc="best", framealpha=0.9)
    m = results["machine"]
    fig.suptitle(
        f"Jiragate {m['jiragate']} vs cedarpy {m['cedarpy']} and Cerbos {m['cerbos']} — "
        f"{m['cpu']}, {m['cores']} cores, Python {m['python']}",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def write_report(results: dict[str, Any], output: Path, chart: Path) -> None:
    write_chart(results, chart)
    relative = Path("img") / chart.name if chart.parent.name == "img" else chart
    text = section(results, str(relative))
    if output.exists():
        current = output.read_text(encoding="utf-8")
        if START in current and END in current:
            before = current[: current.index(START)]
            after = current[current.index(END) + len(END) :].lstrip("\n")
            output.write_text(before + text + ("\n" + after if after else ""), encoding="utf-8")
            return
        output.write_text(current.rstrip("\n") + "\n\n" + HEADING + text, encoding="utf-8")
        return
    output.write_text("# Benchmarks\n\n" + HEADING + text, encoding="utf-8")


def _proxy_rows(p: dict[str, Any] | None) -> list[str]:
    """The Jira REST proxy's table (docs/proxy.md), when the run measured it."""
    if not p:
        return []
    return [
        "### Jira REST proxy overhead on an allowed read",
        "",
        f"`GET /rest/api/3/issue/ENG-1` through Jiragate's proxy (classified as "
        f"`jira_get_issue`, decided, forwarded, recorded) vs straight to the sandbox, "
        f"{p['calls']:,} sequential calls each:",
        "",
        "| path | p50 ms | p99 ms |",
        "|---|---:|---:|",
        f"| through the proxy | {p['proxy_p50_ms']:.2f} | {p['proxy_p99_ms']:.2f} |",
        f"| straight to the sandbox | {p['direct_p50_ms']:.2f} | {p['direct_p99_ms']:.2f} |",
        f"| **added by the proxy** | **{p['overhead_p50_ms']:.2f}** "
        f"| **{p['overhead_p99_ms']:.2f}** |",
        "",
    ]
