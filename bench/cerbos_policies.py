"""Rule descriptions (`generate.py`) rendered to Cerbos resource policies, and a Cerbos server.

The mapping:

- one **resource policy per Jira action** (`resource: jira_create_ticket`, …): Cerbos indexes
  policies by resource kind and rules by action, as Jiragate's compiler indexes rules by
  action. A rule naming several actions (or a `kind`) is written into each of their policies;
- the Cerbos **actions are the three decisions**: `deny`, `require_approval`, `allow`. Every
  Jiragate rule becomes one `EFFECT_ALLOW` rule for the Cerbos action named by its decision,
  with `roles: ["*"]` and its conditions in CEL over `request.resource.attr`
  (`project`, `count`, `priority` as a rank 1..5, 0 when absent) and `request.principal.id`
  (the agent). So Cerbos answers, per decision, whether *some* rule of that decision matched;
- approval rules carry the route in an **output** (`output.when.ruleActivated`, a map of
  `id`, `route_to`, `priority`), so the response lists every activated approval rule;
- **one decision = one `/api/check/resources` request** for one resource with the three
  actions; the client reads deny > require_approval > allow from the three effects, and for
  require_approval picks the highest-priority (then smallest id) output: the same combining
  rule Jiragate applies (`generate.combine`). No match → the same defaults.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from generate import DEFAULTS, PRIORITY_RANK, rule_actions

DECISIONS = ("deny", "require_approval", "allow")
CACHE = Path(__file__).resolve().parent / ".cache" / "cerbos"


def _cel_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid CEL string literal


def _condition(field: str, op: str, value: Any) -> str:
    attr = "request.resource.attr"
    if field == "agent":
        values = value if op == "in" else [value]
        return f"request.principal.id in [{', '.join(_cel_string(v) for v in values)}]"
    if field == "project":
        if op == "eq":
            return f"{attr}.project == {_cel_string(value)}"
        return f"{attr}.project in [{', '.join(_cel_string(v) for v in value)}]"
    if field == "details.priority":
        return f"{attr}.priority >= {PRIORITY_RANK[value]}"  # 0 (absent) never passes
    if field == "count":
        if op == "gt":
            return f"{attr}.count > {int(value)}"
        if op == "between":
            return f"{attr}.count >= {int(value[0])} && {attr}.count <= {int(value[1])}"
        if op == "eq":
            return f"{attr}.count == {int(value)}"
    raise ValueError(f"no Cerbos rendering for condition {field} {op} {value!r}")


def render_rule(rule: dict[str, Any]) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "name": rule["id"],
        "actions": [rule["decision"]],
        "effect": "EFFECT_ALLOW",
        "roles": ["*"],
    }
    tests = [_condition(f, op, v) for f, op, v in rule["conditions"] if f != "kind"]
    if tests:
        rendered["condition"] = {"match": {"expr": " && ".join(tests)}}
    if rule["decision"] == "require_approval":
        route = rule.get("route_to") or DEFAULTS["route_to"]
        output = {"id": rule["id"], "route_to": route, "priority": str(rule.get("priority", 0))}
        literal = ", ".join(f"{_cel_string(k)}: {_cel_string(v)}" for k, v in output.items())
        rendered["output"] = {"when": {"ruleActivated": "{" + literal + "}"}}
    return rendered


def render_cerbos(rules: list[dict[str, Any]]) -> dict[str, str]:
    """File name → YAML text: one resource policy per Jira action that some rule names."""
    per_action: dict[str, list[dict[str, Any]]] = {}
    for rule in rules:
        for action in rule_actions(rule):
            per_action.setdefault(action, []).append(render_rule(rule))
    files = {}
    for action, rendered in sorted(per_action.items()):
        policy = {
            "apiVersion": "api.cerbos.dev/v1",
            "resourcePolicy": {"version": "default", "resource": action, "rules": rendered},
        }
        header = "# yaml-language-server: $schema=https://api.cerbos.dev/latest/cerbos/policy/v1/Policy.schema.json\n"
        files[f"{action}.yaml"] = header + yaml.safe_dump(policy, sort_keys=False, width=100)
    return files


def write_cerbos_dir(rules: list[dict[str, Any]], out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in render_cerbos(rules).items():
        (out / name).write_text(text, encoding="utf-8")
    return out


# --------------------------------------------------------------------------- requests


def cerbos_request(facts: dict[str, Any], request_id: str = "bench") -> dict[str, Any]:
    """The `/api/check/resources` body asking for one Jiragate decision."""
    return {
        "requestId": request_id,
        "principal": {"id": facts["agent"], "roles": ["agent"]},
        "resources": [
            {
                "actions": list(DECISIONS),
                "resource": {
                    "kind": facts["action"],
                    "id": "action",
                    "attr": {
                        "project": facts["project"],
                        "count": facts["count"],
                        "priority": facts["priority"],
                    },
                },
            }
        ],
    }


def decision_from_response(body: dict[str, Any], kind: str) -> tuple[str, str | None]:
    """(decision, review group) from a `/api/check/resources` answer for one resource."""
    result = body["results"][0]
    effects = result["actions"]
    for decision in DECISIONS:
        if effects.get(decision) == "EFFECT_ALLOW":
            if decision != "require_approval":
                return decision, None
            routes = [o["val"] for o in result.get("outputs", []) if isinstance(o.get("val"), dict)]
            if not routes:
                raise ValueError(f"require_approval without a route output: {result}")
            top = min(routes, key=lambda val: (-int(val["priority"]), val["id"]))
            return decision, top["route_to"]
    if kind == "read":
        return "deny", None
    fallback = DEFAULTS["destructive" if kind == "destructive" else "write"]
    return fallback, DEFAULTS["route_to"] if fallback == "require_approval" else None


# --------------------------------------------------------------------------- the server


def cerbos_binary() -> Path:
    """The Cerbos binary installed from npm into bench/.cache/cerbos (git-ignored)."""
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}
    name = f"cerbos-linux-{arch.get(platform.machine().lower(), platform.machine())}"
    binary = CACHE / "node_modules" / "@cerbos" / name / name
    if not binary.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(CACHE),
                f"@cerbos/{name}",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    if not binary.exists():
        raise FileNotFoundError(f"npm did not install the Cerbos binary at {binary}")
    return binary


def cerbos_version() -> str:
    out = subprocess.run(
        [str(cerbos_binary()), "--version"], capture_output=True, text=True, check=True
    )
    return out.stdout.split()[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], *, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


@contextlib.contextmanager
def cerbos_server(rules: list[dict[str, Any]], log: Path | None = None) -> Iterator[str]:
    """A Cerbos PDP on loopback serving the rendered rules; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="cerbos-") as tmp:
        policy_dir = write_cerbos_dir(rules, Path(tmp) / "policies")
        port = free_port()
        config = {
            "server": {
                "httpListenAddr": f"127.0.0.1:{port}",
                "grpcListenAddr": f"127.0.0.1:{free_port()}",
            },
            "storage": {
                "driver": "disk",
                "disk": {"directory": str(policy_dir), "watchForChanges": False},
            },
            "audit": {"enabled": False},
            "telemetry": {"disabled": True},  # no traffic beyond loopback
        }
        config_path = Path(tmp) / "cerbos.yaml"
        config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        env = {**os.environ, "CERBOS_NO_TELEMETRY": "1"}
        sink = log.open("ab") if log else subprocess.DEVNULL
        process = subprocess.Popen(
            [
                str(cerbos_binary()),
                "server",
                f"--config={config_path}",
                "--log-level=warn",
                f"--debug-listen-addr=127.0.0.1:{free_port()}",
            ],
            env=env,
            stdout=sink,
            stderr=sink,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{url}/_cerbos/health", process)
            yield url
        finally:
            stop_process(process, timeout=10)
            if log and not isinstance(sink, int):
                sink.close()
