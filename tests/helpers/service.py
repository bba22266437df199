"""A running Jiragate (uvicorn on loopback) in front of a running Jira sandbox, for tests.

`running_service(...)` yields a `Service` with ready httpx clients for a few accounts:
the log-triage agent, an IDE assistant, two engineering leads, two project managers and an
administrator (the reviewer names match the default policy's group members).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from jiragate.api.app import create_app
from jiragate.gateway import Gateway
from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from jiragate.settings import Settings
from tests.helpers.servers import serve_app

REPO_ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "log-triage-bot": "agent-key-log-triage-bot-0001",
    "ide-assistant": "agent-key-ide-assistant-0002",
    "retired-bot": "agent-key-retired-bot-00000003",
    "lead-alice": "reviewer-key-lead-alice-0001",
    "lead-bob": "reviewer-key-lead-bob-000002",
    "pm-carol": "reviewer-key-pm-carol-000003",
    "pm-dave": "reviewer-key-pm-dave-0000004",
    "auditor": "reviewer-key-auditor-000005",
}
#: The shipped files other features' tests run without: a module that files hundreds of
#: test tickets through one agent must not hit the shipped 50-an-hour ticket budget (the
#: budget's own tests, tests/e2e/test_budgets.py and tests/scale/test_budgets.py, run it).
BUDGET_FILES = ("budgets.yaml",)


def shipped_policy_files() -> list[Path]:
    """The shipped policy files, less the budgets."""
    return sorted(p for p in (REPO_ROOT / "policies").glob("*.yaml") if p.name not in BUDGET_FILES)


def unbudgeted_policies() -> Path:
    """A read-only copy of the shipped set less its budgets, in the temporary directory,
    named by its contents (so every test process shares one and a change makes another)."""
    files = shipped_policy_files()
    digest = hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in files))
    target = Path(tempfile.gettempdir()) / f"jiragate-test-policies-{digest.hexdigest()[:16]}"
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(prefix="jiragate-test-policies-"))
        for path in files:
            shutil.copy(path, staging / path.name)
        try:
            staging.rename(target)
        except OSError:  # another process made it first
            shutil.rmtree(staging, ignore_errors=True)
    return target


JIRA_EMAIL = "jiragate@example.com"
JIRA_TOKEN = "jira-api-token-for-tests-0001"
WEBHOOK_SECRET = "whsec-test-cheqpoint-0001"


def settings_data(
    db_url: str, jira_url: str, *, policy_dir: Path | None = None, **overrides: Any
) -> dict[str, Any]:
    """Settings as plain data (for a config file too): the shipped policies (less the
    budgets, see `unbudgeted_policies`), the test
    accounts, short timings. Overrides replace top-level keys; a mapping given for a mapping
    (`jira={"timeout": 1}`) is merged into it."""
    data: dict[str, Any] = {
        "policy_dir": str(policy_dir or unbudgeted_policies()),
        "database_url": db_url,
        "jira": {
            "url": jira_url,
            "flavour": "cloud",
            "email": JIRA_EMAIL,
            "api_token": JIRA_TOKEN,
            "board_id": 1,
        },
        "agents": [
            {"name": "log-triage-bot", "api_key": KEYS["log-triage-bot"]},
            {"name": "ide-assistant", "api_key": KEYS["ide-assistant"]},
            {"name": "retired-bot", "api_key": KEYS["retired-bot"], "revoked": True},
        ],
        "reviewers": [
            {"name": "lead-alice", "api_key": KEYS["lead-alice"]},
            {"name": "lead-bob", "api_key": KEYS["lead-bob"]},
            {"name": "pm-carol", "api_key": KEYS["pm-carol"]},
            {"name": "pm-dave", "api_key": KEYS["pm-dave"]},
            {"name": "auditor", "api_key": KEYS["auditor"], "admin": True},
        ],
        "worker_poll_interval": 0.05,
        "lease_seconds": 30,
        "execution_retry_seconds": 1.0,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def make_settings(
    db_url: str, jira_url: str, *, policy_dir: Path | None = None, **overrides: Any
) -> Settings:
    return Settings(**settings_data(db_url, jira_url, policy_dir=policy_dir, **overrides))


@dataclass
class Service:
    url: str
    gateway: Gateway
    sandbox: SandboxState
    sandbox_url: str
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def client(self, name: str) -> httpx.Client:
        return self.clients[name]

    @property
    def agent(self) -> httpx.Client:
        return self.clients["log-triage-bot"]

    def wait_for_status(self, action_id: str, *statuses: str, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            view = self.agent_view(action_id)
            if view["status"] in statuses:
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"{action_id} stayed {view['status']}, wanted {statuses}")
            time.sleep(0.05)

    def agent_view(self, action_id: str, agent: str = "log-triage-bot") -> dict:
        response = self.clients[agent].get(f"/v1/actions/{action_id}")
        response.raise_for_status()
        return response.json()

    def sandbox_issues(self, label: str | None = None, **where: Any) -> list[Any]:
        """Sandbox issues carrying `label` whose attributes match `where`."""
        with self.sandbox.lock:
            issues = list(self.sandbox.issues.values())
        return [
            issue
            for issue in issues
            if (label is None or label in issue.labels)
            and all(getattr(issue, name) == value for name, value in where.items())
        ]


@contextmanager
def running_service(
    db_url: str,
    *,
    sandbox_state: SandboxState | None = None,
    port: int | None = None,
    sandbox_wrapper: Callable[[Any], Any] | None = None,
    **overrides: Any,
) -> Iterator[Service]:
    """`port` (optional) fixes the service's port, so settings can name the service's own
    URL before it starts (e.g. `cheqpoint.url` pointing at its own `/api/`).
    `sandbox_wrapper` (optional) wraps the sandbox's ASGI app before it is served (a test
    recording what reached Jira, headers included)."""
    state = sandbox_state or SandboxState()
    with ExitStack() as stack:
        sandbox_app = create_sandbox_app(state)
        if sandbox_wrapper is not None:
            sandbox_app = sandbox_wrapper(sandbox_app)
        sandbox_url = stack.enter_context(serve_app(sandbox_app))
        settings = make_settings(db_url, sandbox_url, **overrides)
        gateway = Gateway.build(settings)
        app = create_app(settings, gateway=gateway)
        url = stack.enter_context(serve_app(app, port=port))
        service = Service(url=url, gateway=gateway, sandbox=state, sandbox_url=sandbox_url)
        for name, key in KEYS.items():
            service.clients[name] = stack.enter_context(
                httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
            )
        yield service


#: Jiragate's Jira settings in front of the Data Center sandbox: a personal access token.
DC_JIRA: dict[str, Any] = {
    "flavour": "datacenter",
    "personal_access_token": "jira-pat-for-tests-0001",
    "email": None,
    "api_token": None,
}


@contextmanager
def running_dc_service(
    db_url: str, *, policy_dir: str | Path, policy: str | None = None, **overrides: Any
) -> Iterator[Service]:
    """`running_service` in front of the Data Center sandbox profile (P1..P4, Sub-task,
    Epic Name, resolution screens), with `policy` (when given) written as the set's one file
    in `policy_dir`."""
    if policy is not None:
        Path(policy_dir).mkdir(parents=True, exist_ok=True)
        (Path(policy_dir) / "site.yaml").write_text(policy, encoding="utf-8")
    with running_service(
        db_url,
        sandbox_state=SandboxState(profile="datacenter"),
        policy_dir=str(policy_dir),
        jira=dict(DC_JIRA),
        **overrides,
    ) as service:
        yield service
