"""docs/policies.md: `project` and `agent` are always facts, possibly empty (a site-wide read
names no project; a dry run may have no agent). An empty value equals nothing and is in no
list; `ne`, `not_in`, `not` and `exists: true` hold for it, `exists: false` does not. Pinned
on the compiled index and the explainer alike, since policies that keep an agent out of
projects rely on it (tests/proxy/test_site_wide_reads.py runs them through the proxy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jiragate.catalog.details import ActionRequest
from jiragate.policy.engine import load_policies

SITE_WIDE = ActionRequest(
    "jira_rest_read",
    "organizations",
    {
        "method": "GET",
        "path": "/rest/servicedeskapi/organization",
        "template": "/rest/servicedeskapi/organization",
        "query": {},
    },
)


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ("project: ENG", False),
        ("project: {in: [ENG, OPS]}", False),
        ("project: {glob: '*'}", False),
        ("project: {ne: ENG}", True),
        ("project: {not_in: [ENG]}", True),
        ("not: {project: {in: [ENG]}}", True),
        ("project: {exists: true}", True),
        ("project: {exists: false}", False),
    ],
)
def test_an_empty_project(tmp_path: Path, condition: str, holds: bool) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n"
        "  - id: probe\n"
        "    match:\n"
        f"      {condition}\n"
        "    decision: deny\n"
        "    reason: probe.\n"
        "  - id: reads\n"
        "    match: {kind: read}\n"
        "    decision: allow\n",
        encoding="utf-8",
    )
    policies = load_policies(tmp_path)
    decision = policies.evaluate(SITE_WIDE, agent="log-triage-bot", explain=True)
    assert (decision.determining_rule == "probe") is holds
    assert decision.explanations is not None
    assert decision.explanations[0].matched is holds  # the explainer agrees
