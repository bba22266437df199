"""What a policy sees of a search is what Jira runs: `details.jql` is the canonical text.

An agent cannot slip past a rule that matches `details.jql` by spelling the same query
another way (escapes, quotes, case, spacing), and `project` is the projectKey the gate
restricts the query to.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from jiragate.errors import InvalidDetailsError
from jiragate.policy.engine import PolicySet, load_policies

POLICY = """
review_groups:
  leads: {description: Engineering leads, members: [alice]}
rules:
  - id: no-secret-searches
    match: {action: jira_search, details.jql: {matches: 'labels = "secret"'}}
    decision: deny
    reason: Secret issues are not for agents.
  - id: ops-searches-need-a-lead
    match: {action: jira_search, project: OPS}
    decision: require_approval
    route_to: leads
  - {id: reads, match: {kind: read}, decision: allow}
"""


@pytest.fixture
def policies(tmp_path: Path) -> PolicySet:
    (tmp_path / "policy.yaml").write_text(textwrap.dedent(POLICY), encoding="utf-8")
    return load_policies(tmp_path)


def search(jql: str, **details: str) -> dict:
    return {"action": "jira_search", "summary": "find", "details": {"jql": jql, **details}}


@pytest.mark.parametrize(
    "spelling",
    [
        'labels = "secret"',
        "labels = secret",
        "LABELS='secret'",
        'labels = "sec\\u0072et"',
        "labels\n=\t'secr\\u0065t'",
        'status = Done OR (labels = "secret")',
    ],
)
def test_a_rule_on_the_jql_sees_every_spelling_of_it(policies: PolicySet, spelling: str) -> None:
    decision = policies.evaluate(search(spelling, projectKey="ENG"))
    assert decision.determining_rule == "no-secret-searches", spelling


def test_the_project_fact_is_the_project_the_query_is_restricted_to(
    policies: PolicySet,
) -> None:
    assert policies.evaluate(search("status = Done", projectKey="OPS")).needs_approval
    assert policies.evaluate(search("status = Done", projectKey="ENG")).allowed
    # Naming OPS inside an ENG search is not a way around the OPS rule: it is refused.
    with pytest.raises(InvalidDetailsError) as caught:
        policies.evaluate(search("status = Done OR project = OPS", projectKey="ENG"))
    assert [v.pointer for v in caught.value.violations] == ["/jql"]
