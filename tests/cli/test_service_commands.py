"""`jiragate demo`, `audit`, `worker` and `serve` as a user runs them: real processes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

from jiragate.store import make_engine
from tests.cli.conftest import DEMO_DATABASE, DemoRun, copy_demo_database
from tests.helpers.servers import free_port


def jiragate(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jiragate.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def test_demo_walks_through_the_seed_story_and_exits(demo_run: DemoRun):
    out = demo_run.result.stdout
    assert "created 4 tickets" in out
    assert "Approving 4 tickets as Medium priority" in out
    assert '"rule": "deny-bulk-deletes"' in out
    assert "Walkthrough complete: every step behaved as expected." in out
    assert (demo_run.data_dir / DEMO_DATABASE).exists()


def test_audit_verify_and_export_detect_tampering(demo_run: DemoRun, tmp_path: Path):
    url = f"sqlite:///{copy_demo_database(demo_run, tmp_path)}"  # tampered below: a copy
    ok = jiragate("audit", "verify", "--database-url", url)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("audit chain OK")

    exported = jiragate("audit", "export", "--database-url", url)
    assert exported.returncode == 0
    lines = exported.stdout.strip().splitlines()
    checked = int(ok.stdout.split(": ")[1].split(" events")[0])  # "audit chain OK: N events"
    assert len(lines) == checked and '"type": "action.submitted"' in lines[0].replace('":"', '": "')

    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"))
    engine.dispose()
    broken = jiragate("audit", "verify", "--database-url", url)
    assert broken.returncode == 1
    assert "BROKEN at seq 3" in broken.stdout


def serve_config(tmp_path: Path, name: str) -> Path:
    config = tmp_path / f"{name}.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / name}.db\n"
        "agents:\n  - {name: bot, api_key: serve-test-agent-key-0001}\n"
        "jira: {url: 'http://127.0.0.1:9', email: a@example.com, api_token: serve-test-token}\n"
    )
    return config


@dataclass
class Served:
    url: str
    stderr: str = ""


#: A port chosen free can be taken before serve binds it (another test's server, an
#: outgoing connection's ephemeral port): serve then exits at once naming it, and is started
#: again on another port, this many times at most.
PORT_TRIES = 3


@contextmanager
def serving(
    config: Path, *options: str, startup: float = 60, python: str = sys.executable
) -> Iterator[Served]:
    """`jiragate serve` as a real process until the block ends (then its stderr is read);
    `python` is the interpreter whose installed jiragate runs."""
    for attempt in range(1, PORT_TRIES + 1):
        port = free_port()
        command = [python, "-m", "jiragate.cli", "serve", "--config", str(config)]
        process = subprocess.Popen(
            [*command, "--port", str(port), *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        served = Served(f"http://127.0.0.1:{port}")
        if _ready(process, served, startup, last_try=attempt == PORT_TRIES):
            break
    try:
        yield served
    finally:
        process.terminate()
        _, served.stderr = process.communicate(timeout=30)  # reaps it, closes its pipes


def _ready(process: subprocess.Popen[str], served: Served, startup: float, last_try: bool) -> bool:
    """True once serve answers /readyz; False when it exited because its port was taken
    (and this is not the last try); any other exit or a timeout fails the test."""
    deadline = time.monotonic() + startup
    while True:
        try:
            if httpx.get(f"{served.url}/readyz", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            stderr = process.communicate()[1]
            if "Address already in use" in stderr and not last_try:
                return False
            raise AssertionError(stderr)
        if time.monotonic() >= deadline:
            process.terminate()
            process.communicate(timeout=30)
            raise AssertionError("serve did not start")
        time.sleep(0.1)


def test_serve_starts_and_answers_health_checks(tmp_path):
    with serving(serve_config(tmp_path, "serve")) as served:
        ready = httpx.get(f"{served.url}/readyz", timeout=5)
        assert ready.json()["checks"]["database"] == "ok"
        unauthenticated = httpx.post(f"{served.url}/v1/actions", json={}, timeout=5)
        assert unauthenticated.status_code == 401


def test_serve_refuses_bad_settings_with_a_clear_message(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("agents:\n  - {name: bot, api_key: changeme-but-long-enough}\nbogus: 1\n")
    result = jiragate("serve", "--config", str(config), timeout=30)
    assert result.returncode == 2
    assert "invalid settings" in result.stderr
    assert "bogus" in result.stderr


def test_serve_names_a_bad_jira_setting_instead_of_a_traceback(tmp_path):
    config = tmp_path / "nojira.yaml"
    config.write_text(f"database_url: sqlite:///{tmp_path / 'x.db'}\n")
    result = jiragate("serve", "--config", str(config), "--port", str(free_port()), timeout=30)
    assert result.returncode == 2
    assert (
        "cannot start: invalid Jira settings (jira.* in the config file, JIRAGATE_JIRA__* in "
        "the environment): Jira Cloud needs both email and api_token"
    ) in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_once_executes_nothing_on_an_empty_database(tmp_path):
    config = tmp_path / "w.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'w.db'}\n"
        "jira: {url: 'http://127.0.0.1:9', email: a@example.com, api_token: worker-test-token}\n"
    )
    result = jiragate("worker", "--config", str(config), "--once", timeout=60)
    assert result.returncode == 0, result.stderr


def test_serve_with_two_workers_answers_from_both_processes(tmp_path):
    envelope = {"action": "jira_get_issue", "summary": "dry run", "details": {"issueKey": "ENG-1"}}
    headers = {"Authorization": "Bearer serve-test-agent-key-0001"}
    options = ("--workers", "2", "--no-access-log", "--no-worker")
    with serving(serve_config(tmp_path, "workers"), *options) as served:
        for _ in range(20):  # new connections: the kernel spreads them over both workers
            answer = httpx.post(
                f"{served.url}/v1/evaluate?explain=false",
                json=envelope,
                headers=headers,
                timeout=10,
            )
            assert answer.status_code == 200
            assert answer.json()["determining_rule"] == "allow-safe-reads"
    assert served.stderr.count("Started server process") == 2, served.stderr


def _denials_counted(metrics_text: str) -> float:
    prefix = 'jiragate_decisions_total{action="jira_delete_issues",decision="deny"}'
    lines = [line for line in metrics_text.splitlines() if line.startswith(prefix)]
    return float(lines[0].split()[-1]) if lines else 0.0


def test_metrics_add_up_every_worker_process(tmp_path):
    """/metrics may be answered by either worker; every answer counts all 20 decisions."""
    keys = [f"ENG-{n}" for n in range(1, 12)]  # 11 deletes: denied, so no Jira is needed
    envelope = {"action": "jira_delete_issues", "summary": "x", "details": {"issueKeys": keys}}
    headers = {"Authorization": "Bearer serve-test-agent-key-0001"}
    options = ("--workers", "2", "--no-access-log", "--no-worker")
    with serving(serve_config(tmp_path, "metrics"), *options) as served:
        for _ in range(20):  # new connections: the kernel spreads them over both workers
            answer = httpx.post(f"{served.url}/v1/actions", json=envelope, headers=headers)
            assert answer.status_code == 403 and answer.json()["rule"] == "deny-bulk-deletes"
        counts = {
            _denials_counted(httpx.get(f"{served.url}/metrics", timeout=10).text) for _ in range(10)
        }
    assert counts == {20.0}
