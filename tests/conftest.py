"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def default_policy_dir() -> Path:
    return REPO_ROOT / "policies"


# Property tests explore the same examples on every run: the suite must be deterministic.
settings.register_profile("deterministic", derandomize=True, database=None, deadline=None)
settings.load_profile("deterministic")


@pytest.hookimpl(trylast=True)  # after pytest's own reordering for module-scoped parameters
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with a `slow` test run first, the rest in their usual order (a stable sort, so
    the order within a file is kept). `--dist loadfile` hands files out in this order: a long
    file started last would end the run alone while the other workers sit idle."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)
