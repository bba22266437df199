"""Run every ```bash example in docs/api.md for real against a running service.

Each block runs with `bash -euo pipefail` in order (later blocks may rely on earlier ones'
actions existing, never on their variables); it must exit 0, and every `# expect: TEXT`
line in it names text its output must contain.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.support import DB_KINDS, database_url
from tests.conftest_db import postgres_admin  # noqa: F401
from tests.helpers.service import KEYS, REPO_ROOT, Service, running_service

API_DOC = REPO_ROOT / "docs" / "api.md"
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.DOTALL | re.MULTILINE)
EXPECT = re.compile(r"^# expect: (.*)$", re.MULTILINE)


def bash_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number, code) of every ```bash block."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in BLOCK.finditer(text)]


BLOCKS = bash_blocks(API_DOC)


@pytest.fixture(scope="module", params=DB_KINDS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("docs")
    with database_url(request, request.param, directory) as url, running_service(url) as running:
        yield running


@pytest.fixture(scope="module")
def env(service: Service, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if shutil.which("curl") is None or shutil.which("jq") is None:
        pytest.fail("the API examples need curl and jq on PATH", pytrace=False)
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path_factory.mktemp("home")),
        "JIRAGATE_URL": service.url,
        "AGENT_KEY": KEYS["log-triage-bot"],
        "OTHER_AGENT_KEY": KEYS["ide-assistant"],
        "LEAD_KEY": KEYS["lead-alice"],
        "PM_KEY": KEYS["pm-carol"],
        "ADMIN_KEY": KEYS["auditor"],
    }


def test_the_page_has_examples_for_every_endpoint():
    code = "\n".join(block for _, block in BLOCKS)
    for path in (
        "/v1/evaluate",
        "/v1/actions",
        "/v1/approvals/",
        "/v1/policies",
        "/v1/policies/reload",
        "/v1/budgets",
        "/v1/audit",
        "/v1/webhooks/cheqpoint",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/approvals/request",
        "/api/webhooks/inbound",
    ):
        assert path in code, f"docs/api.md has no curl example for {path}"
    assert all(EXPECT.search(block) for _, block in BLOCKS), "every example states its output"


@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[f"api.md:{line}" for line, _ in BLOCKS])
def test_example_runs(line: int, code: str, env: dict[str, str]):
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    where = f"docs/api.md:{line}"
    assert done.returncode == 0, f"{where} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    for expected in EXPECT.findall(code):
        assert expected in done.stdout, f"{where}: {expected!r} not in output:\n{done.stdout}"
