"""The gateway is a boundary, not a service locator: the edges call its use cases.

import-linter (pyproject.toml) keeps the edges from importing the store, the Jira adapter and
the approval backends; it cannot see attribute access, so these tests read the edges' source:
no edge reaches a gateway collaborator (`gateway._store`, `gateway._store`, ...).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "service" / "jiragate"
EDGES = ["api", "web", "proxy", "mcp", "commands.py", "demo.py", "mcp_commands.py", "cli.py"]
#: What the gateway used to hand out; the edges ask for use cases instead.
COLLABORATORS = {"store", "adapter", "inbox", "policies"}


def _edge_files() -> list[Path]:
    files: list[Path] = []
    for edge in EDGES:
        path = PACKAGE / edge
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def _gateway_reaches(tree: ast.AST) -> list[tuple[int, str]]:
    """`<...gateway>.<name>` where name is private or a collaborator."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        owner_name = (
            owner.id
            if isinstance(owner, ast.Name)
            else owner.attr
            if isinstance(owner, ast.Attribute)
            else ""
        )
        if not owner_name.endswith("gateway"):
            continue
        if node.attr.startswith("_") or node.attr in COLLABORATORS:
            found.append((node.lineno, f"{owner_name}.{node.attr}"))
    return found


@pytest.mark.parametrize(
    "path", _edge_files(), ids=lambda p: str(p.relative_to(PACKAGE)).replace("/", ".")
)
def test_no_edge_reaches_through_the_gateway(path: Path) -> None:
    reaches = _gateway_reaches(ast.parse(path.read_text(), filename=str(path)))
    assert reaches == [], f"{path.name} reaches gateway internals: {reaches}"


def test_the_detector_sees_a_reach_through() -> None:
    """The check above would catch the old code's shapes (guards against a vacuous pass)."""
    source = (
        "gateway._store.get_action(x)\n"
        "self.gateway._store.clock()\n"
        "request.app.state.gateway._inbox.votes(x)\n"
        "gateway.get_action(x)\n"
    )
    reaches = [what for _, what in _gateway_reaches(ast.parse(source))]
    assert reaches == ["gateway._store", "gateway._store", "gateway._inbox"]


def test_the_boundary_is_an_import_linter_contract() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    boundary = [
        c
        for c in contracts
        if c["type"] == "forbidden"
        and "jiragate.store" in c["forbidden_modules"]
        and "jiragate.api" in c["source_modules"]
    ]
    assert len(boundary) == 1
    contract = boundary[0]
    assert set(contract["source_modules"]) >= {
        "jiragate.api",
        "jiragate.web",
        "jiragate.mcp",
        "jiragate.commands",
        "jiragate.demo",
    }
    assert set(contract["forbidden_modules"]) == {
        "jiragate.store",
        "jiragate.jira",
        "jiragate.approvals",
    }
    assert contract.get("ignore_imports") == ["jiragate.demo -> jiragate.jira.sandbox"]


def test_sql_lives_in_the_store_by_contract() -> None:
    """Every query is a store method: nothing outside store/ imports sqlalchemy or sqlmodel
    (the store translates database errors, so no edge catches SQLAlchemy's either)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [contract] = [
        c
        for c in config["tool"]["importlinter"]["contracts"]
        if c["type"] == "forbidden" and set(c["forbidden_modules"]) == {"sqlmodel", "sqlalchemy"}
    ]
    assert {
        "jiragate.gateway", "jiragate.approvals", "jiragate.jira", "jiragate.catalog",
        "jiragate.settings", "jiragate.api", "jiragate.web", "jiragate.mcp", "jiragate.commands",
    } <= set(contract["source_modules"])  # fmt: skip
    assert "ignore_imports" not in contract
