"""One real `jiragate demo --exit-after-walkthrough` for the tests of what it prints and
leaves behind: a run costs several seconds of CPU, and its output does not depend on who
reads it. A test that changes what the demo left works on a copy (see `copy_demo_database`)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import cli

DEMO_DATABASE = "jiragate-demo.db"


@dataclass(frozen=True)
class DemoRun:
    result: subprocess.CompletedProcess[str]
    data_dir: Path


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    data_dir = tmp_path_factory.mktemp("demo")
    result = cli.process(
        "demo", "--port", "0", "--sandbox-port", "0", "--data-dir", str(data_dir),
        "--exit-after-walkthrough",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return DemoRun(result, data_dir)


def copy_demo_database(demo: DemoRun, target: Path) -> Path:
    """The demo's SQLite database (and its WAL files, if any) copied into `target`."""
    for source in demo.data_dir.glob(f"{DEMO_DATABASE}*"):
        shutil.copy(source, target / source.name)
    return target / DEMO_DATABASE
