"""Real `jiragate serve` replicas and `jiragate worker` processes sharing one database.

`Cluster` writes one config file (the accounts of `tests.helpers.service`, a Jira sandbox URL,
the database URL) and starts processes from it exactly as an operator would:
`python -m jiragate.cli serve --config … --port N [--no-worker]` and
`python -m jiragate.cli worker --config …`. Each process's stderr (logs, uvicorn access
lines) goes to a file, so tests can read it afterwards (e.g. to prove no secret leaked).
Processes are stopped, and killed if they do not stop, when the cluster closes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest_db import database_url
from tests.helpers.servers import free_port
from tests.helpers.service import KEYS, settings_data

AGENT = "log-triage-bot"
LEADS = ("lead-alice", "lead-bob")
STARTUP_SECONDS = 60.0


def config_data(db_url: str, jira_url: str, **overrides: Any) -> dict[str, Any]:
    """The settings every process of a cluster shares (same accounts as `running_service`),
    with smaller database pools: the suite's processes share one PostgreSQL
    (max_connections 100), and a cluster's five processes at SQLAlchemy's default of 15 each
    beside another test's cluster ran it out of connections ("too many clients already":
    503s). Two kept open and ten at most each: fewer at once (six) left requests queued on
    a budget's lock waiting past the pool's 30 s for a connection."""
    pools = {"database_pool_size": 2, "database_max_overflow": 8}
    return settings_data(db_url, jira_url, **{**pools, **overrides})


@dataclass
class Proc:
    """One child process: a replica (with `url`) or a worker."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    url: str | None = None

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no lease given back, as a crashed host."""
        if self.alive:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=15)

    def stop(self) -> None:
        if self.alive:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    directory: Path
    settings: dict[str, Any]
    procs: list[Proc] = field(default_factory=list)
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def config_path(self) -> Path:
        return self.directory / "jiragate.yaml"

    def write_config(self, **overrides: Any) -> Path:
        self.settings.update(overrides)
        self.config_path.write_text(yaml.safe_dump(self.settings), encoding="utf-8")
        return self.config_path

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None) -> Proc:
        log_path = self.directory / f"{name}.log"
        child_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("JIRAGATE_", "CHEQPOINT_"))
        }
        child_env["PYTHONUNBUFFERED"] = "1"
        child_env.update(env or {})
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                [sys.executable, "-m", "jiragate.cli", *args, "--config", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.directory,
                env=child_env,
            )
        proc = Proc(name, popen, log_path)
        self.procs.append(proc)
        return proc

    def serve(
        self,
        name: str | None = None,
        *,
        worker: bool = False,
        port: int | None = None,
        env: dict[str, str] | None = None,
        wait: bool = True,
        workers: int = 1,
    ) -> Proc:
        """Start a replica; by default without its in-process worker. `workers` > 1 runs
        `serve --workers N`: N HTTP processes sharing the port (one log file)."""
        port = port or free_port()
        args = ["serve", "--port", str(port)] + ([] if worker else ["--no-worker"])
        if workers > 1:
            args += ["--workers", str(workers)]
        proc = self._spawn(name or f"replica-{port}", args, env)
        proc.url = f"http://127.0.0.1:{port}"
        if wait:
            self.wait_ready(proc)
        return proc

    def worker(
        self, name: str | None = None, *, env: dict[str, str] | None = None, wait: bool = True
    ) -> Proc:
        proc = self._spawn(name or f"worker-{len(self.procs)}", ["worker"], env)
        if wait:
            self.wait_worker(proc)
        return proc

    def wait_worker(self, proc: Proc) -> None:
        _wait_for(lambda: "running" in proc.log(), proc, f"{proc.name} did not start")

    def wait_ready(self, proc: Proc) -> None:
        assert proc.url is not None

        def ready() -> bool:
            try:
                return httpx.get(f"{proc.url}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        _wait_for(ready, proc, f"{proc.name} did not become ready")

    def client(self, proc: Proc, account: str = AGENT) -> httpx.Client:
        assert proc.url is not None
        client = httpx.Client(
            base_url=proc.url,
            headers={"Authorization": f"Bearer {KEYS[account]}"},
            timeout=60,
        )
        self.clients.append(client)
        return client

    @contextmanager
    def scope(self) -> Iterator[Cluster]:
        """Processes started in the block are stopped when it ends: a test's own processes
        on a cluster its module shares (see `shared_cluster`)."""
        started = len(self.procs)
        try:
            yield self
        finally:
            for proc in reversed(self.procs[started:]):
                proc.stop()

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for proc in reversed(self.procs):
            proc.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()}" for p in self.procs)


def _wait_for(condition: Any, proc: Proc, message: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not condition():
        if not proc.alive:
            raise AssertionError(f"{message}: it exited with {proc.popen.returncode}\n{proc.log()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} within {STARTUP_SECONDS}s\n{proc.log()}")
        time.sleep(0.05)


@contextmanager
def cluster(directory: Path, db_url: str, jira_url: str, **overrides: Any) -> Iterator[Cluster]:
    running = Cluster(directory, config_data(db_url, jira_url, **overrides))
    running.write_config()
    try:
        yield running
    finally:
        running.close()


@contextmanager
def shared_cluster(
    request: pytest.FixtureRequest, directory: Path, jira_url: str, **overrides: Any
) -> Iterator[Cluster]:
    """A cluster for a module-scoped fixture parametrized with `DB_KINDS`: its own database
    of that kind. A module shares one when its tests' processes are alike and starting them
    is most of each test's time; each test then starts (and stops) its own extra processes
    in `Cluster.scope()`, and finishes its work before it ends, so no test sees another's."""
    with (
        database_url(request, request.param, directory) as db_url,
        cluster(directory, db_url, jira_url, **overrides) as running,
    ):
        yield running


def wait_until(condition: Any, *, timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll `condition()` until it returns something truthy (generous: machines are noisy)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
