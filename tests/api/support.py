"""Shared pieces for the HTTP-edge and end-to-end tests: module-scoped services over a
database of a chosen kind, small envelopes, audit look-ups and temporary policy sets.

A service per *module* (not per test) keeps the suite fast: tests in one module share it and
so must not depend on a clean database; each one works on the actions it creates.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest_db import DB_KINDS, database_url
from tests.helpers.service import Service, running_service, shipped_policy_files

__all__ = ["DB_KINDS", "database_url"]  # re-exported for the test packages


@contextmanager
def service_on(
    request: pytest.FixtureRequest, kind: str, directory: Path, **overrides: Any
) -> Iterator[Service]:
    with database_url(request, kind, directory) as url, running_service(url, **overrides) as svc:
        yield svc


def envelope(action: str, /, **details: Any) -> dict[str, Any]:
    """`{action, summary, details}`; keyword arguments are the details (even `summary`)."""
    return {"action": action, "summary": f"e2e {action}", "details": details}


def seed_tickets(count: int = 12, priority: str = "High", **extra: Any) -> dict[str, Any]:
    """The seed's bulk creation (12 High bugs into sprint_42), tagged so tests find them."""
    label = f"e2e-{uuid.uuid4().hex[:8]}"
    body = envelope(
        "jira_create_tickets",
        projectKey="ENG",
        issueCount=count,
        issueType="Bug",
        priority=priority,
        labels=["ai-generated", label],
        **extra,
    )
    body["summary"] = f"AI requesting creation of {count} tickets from overnight error log scan"
    return body


def audit_events(service: Service, action_id: str | None = None) -> list[dict[str, Any]]:
    """Every audit event (or one action's), read over HTTP as the administrator."""
    items: list[dict[str, Any]] = []
    after: int | None = None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if action_id is not None:
            params["action_id"] = action_id
        if after is not None:
            params["after"] = after
        page = service.client("auditor").get("/v1/audit", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        after = body["next_after"]
        if after is None:
            return items


def audit_types(service: Service, action_id: str) -> list[str]:
    return [event["type"] for event in audit_events(service, action_id)]


def copy_policies(directory: Path) -> Path:
    """A writable copy of the default policy set (rules and groups), without its tests."""
    target = directory / f"policies-{uuid.uuid4().hex[:6]}"
    target.mkdir()
    for source in shipped_policy_files():
        shutil.copy(source, target / source.name)
    return target


def edit_group(policy_dir: Path, group: str, **fields: Any) -> None:
    """Change a review group's fields in a copied policy set's groups.yaml."""
    import yaml

    path = policy_dir / "groups.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["review_groups"][group].update(fields)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
