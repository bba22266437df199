"""Run every ```bash example in docs/proxy.md for real: curl against a running Jiragate in
front of the Jira sandbox, and `jiragate check` on a policy directory (as test_api_examples
does for docs/api.md: each `# expect: TEXT` must be in the block's output)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.docs.test_api_examples import EXPECT, bash_blocks
from tests.helpers.service import KEYS, REPO_ROOT, Service, running_service

PROXY_DOC = REPO_ROOT / "docs" / "proxy.md"
BLOCKS = bash_blocks(PROXY_DOC)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("proxy-docs")
    with running_service(f"sqlite:///{directory / 'jiragate.db'}", proxy_wait_seconds=0.2) as s:
        yield s


@pytest.fixture(scope="module")
def env(service: Service, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if shutil.which("curl") is None or shutil.which("jq") is None:
        pytest.fail("the proxy examples need curl and jq on PATH", pytrace=False)
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "jiragate"  # this checkout's `jiragate`, whatever is installed
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m jiragate.cli "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    return {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PYTHONPATH": str(REPO_ROOT / "service"),
        "HOME": str(tmp_path_factory.mktemp("home")),
        "JIRAGATE_URL": service.url,
        "AGENT_KEY": KEYS["log-triage-bot"],
        "POLICY_DIR": str(REPO_ROOT / "policies"),
    }


def test_every_example_states_its_output():
    assert len(BLOCKS) >= 4
    assert all(EXPECT.search(block) for _, block in BLOCKS)


@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[f"proxy.md:{line}" for line, _ in BLOCKS])
def test_example_runs(line: int, code: str, env: dict[str, str]):
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    where = f"docs/proxy.md:{line}"
    assert done.returncode == 0, f"{where} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    for expected in EXPECT.findall(code):
        assert expected in done.stdout, f"{where}: {expected!r} not in output:\n{done.stdout}"


def test_the_mapping_table_lists_every_row():
    from jiragate.proxy.table import ROWS

    text = PROXY_DOC.read_text(encoding="utf-8")
    for row in ROWS:
        for action in (row.action, *row.also):
            assert f"`{action}`" in text, f"docs/proxy.md does not list {action}"
