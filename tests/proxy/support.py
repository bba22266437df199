"""What the proxy tests share: a gated request's answer read as a Jira client reads it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.helpers.service import Service, running_service


def held_action(response: httpx.Response) -> str:
    """The action id a gated request's Jira-shaped 409 names ("... Action act_…; ...")."""
    assert response.status_code == 409, response.text
    message = response.json()["errorMessages"][0]
    return message.split("Action ", 1)[1].split(";", 1)[0]


def send(jira: httpx.Client, method: str, path: str, query: dict[str, str], body: Any):
    """One request as a Jira client sends it (JSON only when there is a body)."""
    if body is None:
        return jira.request(method, path, params=query)
    return jira.request(method, path, params=query, json=body)


def latest(service: Service, action: str) -> dict[str, Any]:
    """The agent's newest recorded `action`, as GET /v1/actions shows it."""
    items = service.agent.get("/v1/actions", params={"action": action}).json()["items"]
    assert items, f"no {action} was recorded"
    return items[0]


@contextmanager
def service_with_policy(db_url: str, directory: Path, policy: str) -> Iterator[Service]:
    """A running service whose policy set is `policy` alone (written in `directory`), that
    holds a gated proxy request 0.2 s before answering it pending."""
    policies = directory / "policies"
    policies.mkdir()
    (policies / "rules.yaml").write_text(policy, encoding="utf-8")
    with running_service(db_url, policy_dir=str(policies), proxy_wait_seconds=0.2) as running:
        yield running
