"""The code stays ruff-clean (lint and format) and the package mypy-clean, as part of the suite."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT

PATHS = ["service", "tests", "bench"]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_lint_is_clean():
    result = _run(sys.executable, "-m", "ruff", "check", *PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = _run(sys.executable, "-m", "ruff", "format", "--check", *PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_package_is_mypy_clean():
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr
