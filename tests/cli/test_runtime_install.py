"""A plain `pip install .` (no extras) runs the product: demo, sandbox, serve, check, test.

`.ci/install-test-deps` builds `.venv-runtime/` from the lock with a built wheel of this tree
and no extras; these tests run its `jiragate` as a user would. That venv must not have the dev
extra's packages, or the proof proves nothing, so the first test checks that too.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

import jiragate
from tests.cli.test_service_commands import serve_config, serving
from tests.helpers.servers import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_PYTHON = REPO_ROOT / ".venv-runtime" / "bin" / "python"

if not RUNTIME_PYTHON.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{RUNTIME_PYTHON} is missing: run bash .ci/install-test-deps")
    pytest.skip("no .venv-runtime (bash .ci/install-test-deps builds it)", allow_module_level=True)


def runtime(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RUNTIME_PYTHON), *args], capture_output=True, text=True, timeout=timeout, cwd="/"
    )


def test_the_runtime_venv_has_the_built_package_and_none_of_the_dev_extra():
    where = runtime("-c", "import jiragate; print(jiragate.__file__)")
    assert where.returncode == 0, where.stderr
    assert "site-packages" in where.stdout and str(REPO_ROOT / "service") not in where.stdout
    for dev_only in ("pytest", "hypothesis", "playwright", "schemathesis", "cheqpoint"):
        probe = runtime("-c", f"import {dev_only}")
        assert probe.returncode != 0, f"{dev_only} is installed in .venv-runtime"


def test_version_is_the_package_version():
    result = runtime("-m", "jiragate.cli", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"jiragate {jiragate.__version__}"


def test_check_and_test_run_on_the_shipped_policies():
    checked = runtime("-m", "jiragate.cli", "check", str(REPO_ROOT / "policies"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("ok: ")
    tested = runtime("-m", "jiragate.cli", "test", str(REPO_ROOT / "policies"))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert " passed, 0 failed" in tested.stdout


def test_demo_walks_through_and_exits(tmp_path):
    result = runtime(
        "-m", "jiragate.cli", "demo", "--port", "0", "--sandbox-port", "0",
        "--data-dir", str(tmp_path), "--exit-after-walkthrough",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Walkthrough complete: every step behaved as expected." in result.stdout


def test_sandbox_serves_jira(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [str(RUNTIME_PYTHON), "-m", "jiragate.cli", "sandbox", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/rest/api/3/issue/ENG-1",
                    auth=("runtime@example.com", "any-token"),  # the sandbox takes any login
                    timeout=2,
                )
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        assert answer.status_code == 200, answer.text
        assert answer.json()["key"] == "ENG-1"
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_serve_answers(tmp_path):
    with serving(serve_config(tmp_path, "runtime"), python=str(RUNTIME_PYTHON)) as served:
        ready = httpx.get(f"{served.url}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
