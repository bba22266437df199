"""Helpers for writing small policy sets into a temporary directory."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from jiragate.policy.engine import PolicySet, load_policies

GROUPS = """
review_groups:
  leads:
    description: Engineering leads
    members: [alice, bob]
  pms:
    description: Project managers
    members: [carol]
"""


@pytest.fixture
def write_policies(tmp_path: Path) -> Callable[..., Path]:
    """write_policies(a="yaml", b="yaml") writes a.yaml, b.yaml and returns the directory."""

    def write(**files: str) -> Path:
        directory = tmp_path / "policies"
        directory.mkdir(exist_ok=True)
        for name, text in files.items():
            (directory / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
        return directory

    return write


@pytest.fixture
def policies_from(write_policies: Callable[..., Path]) -> Callable[[str], PolicySet]:
    """policies_from(rules_yaml) loads GROUPS plus the given rules (and defaults) text."""

    def load(text: str) -> PolicySet:
        return load_policies(write_policies(groups=GROUPS, rules=text))

    return load
