"""Hostile agent vs. the project restriction of `jira_search`, over real HTTP.

The hole: `{"projectKey": "ENG", "jql": "status = \\"To Do\\") OR (project = OPS"}` was
glued into `project = ENG AND (status = "To Do") OR (project = OPS)` and returned OPS
issues. Now the gate parses the JQL (jiragate.jql): what it cannot parse or what names
another project is a 422 naming `/jql` and the position, recorded nowhere and never sent to
Jira; what it accepts runs as `project = "ENG" AND (<parsed condition>)`, so every issue
returned is in ENG. A property drives generated JQL, valid and broken, through the service
against the sandbox and checks exactly that, plus that the answer is what the agent's own
condition selects inside ENG (the sandbox's independent JQL engine is the oracle).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from jiragate import jql
from jiragate.jira.sandbox.jql import JQLError, compile_jql
from tests.api.support import DB_KINDS, copy_policies, envelope, service_on
from tests.conftest_db import postgres_admin  # noqa: F401
from tests.helpers.service import JIRA_EMAIL, Service

REPRODUCER = 'status = "To Do") OR (project = OPS'
SEARCH_PATH = "/rest/api/3/search/jql"


@pytest.fixture(scope="module", params=DB_KINDS)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    with service_on(request, request.param, tmp_path_factory.mktemp("jql")) as running:
        yield running


# --------------------------------------------------------------------------- helpers


@dataclass
class Outcome:
    status: int
    body: dict[str, Any]
    searches_sent: int
    recorded: bool

    @property
    def keys(self) -> list[str]:
        return [issue["key"] for issue in self.body["result"]["data"]["issues"]]


def _searches(service: Service) -> int:
    return sum(1 for entry in service.sandbox.logged() if entry.path == SEARCH_PATH)


def _newest_action(service: Service) -> str | None:
    page = service.gateway._store.list_actions(limit=1)
    return page.items[0].id if page.items else None


def search(service: Service, text: str, project: str | None = "ENG") -> Outcome:
    details: dict[str, Any] = {"jql": text, "maxResults": 100}
    if project is not None:
        details["projectKey"] = project
    searches, newest = _searches(service), _newest_action(service)
    response = service.agent.post("/v1/actions", json=envelope("jira_search", **details))
    return Outcome(
        response.status_code,
        response.json(),
        _searches(service) - searches,
        _newest_action(service) != newest,
    )


def assert_refused(outcome: Outcome, position: int | None = None) -> str:
    """A 422 naming /jql (and the position), nothing recorded, nothing sent to Jira."""
    assert outcome.status == 422, outcome.body
    assert outcome.body["error"] == "invalid_details"
    (violation,) = outcome.body["violations"]
    assert violation["pointer"] == "/jql"
    if position is not None:
        assert violation["message"].startswith(f"JQL position {position}: "), violation
    assert not outcome.recorded
    assert outcome.searches_sent == 0
    return str(violation["message"])


def assert_inside_eng(outcome: Outcome) -> list[str]:
    assert outcome.status == 200, outcome.body
    assert outcome.body["status"] == "executed"
    sent = outcome.body["result"]["data"]["jql"]
    assert sent.startswith('project = "ENG"'), sent
    assert all(key.startswith("ENG-") for key in outcome.keys), outcome.keys
    return outcome.keys


# --------------------------------------------------------------------------- the reproducer


def test_the_reported_reproducer_is_refused_and_nothing_reaches_jira(service: Service) -> None:
    # The hole was real: glued as before, the sandbox's Jira answers OPS issues.
    glued = compile_jql(f"project = ENG AND ({REPRODUCER})", service.sandbox)
    assert {i.project_key for i in glued.run(service.sandbox.issues.values())} == {"ENG", "OPS"}

    message = assert_refused(search(service, REPRODUCER), position=16)
    assert "expected AND, OR or ORDER BY but got ')'" in message


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ('status = "To Do" OR project = OPS', 30),  # no parentheses needed to try
        ("status = Done OR project=OPS", 25),
        ("status = Done\nOR project = OPS", 27),  # a newline is white space, not a break
        ('status = "To Do")\n OR (project = OPS', 16),
        ("project in (ENG, OPS)", 17),
        ("project = Operations", 10),  # OPS by name
        ("project = 10001", 10),  # OPS by id
        ('"project" = OPS', 12),
        ("key = OPS-1", 6),
        ("issue in (OPS-1)", 10),
        ("issuekey in (ENG-1, ops-2)", 20),
        ("parent = OPS-1", 9),
        ("id = 10013", 5),  # an issue id hides the project
        ("filter = 10000", 0),  # a saved filter carries JQL nobody sees
        ("status = Done || project = OPS", 14),  # Jira's other OR
        ("status = “To Do” OR project = OPS", 13),  # typographic quotes are no quotes
        ('status = "To Do\\") OR (project = OPS', 9),  # an escaped quote does not close
        ("status = Done -- ) OR (project = OPS", 14),  # JQL has no comments
        ("status = Done /* ) OR (project = OPS */", 14),
        ("status = Done ORDER BY key) OR (project = OPS", 26),  # ORDER BY injection
        ("status = Done ORDER BY key, (project = OPS)", 28),
        ("status = Done ORDER BY key OR project = OPS", 27),
        ("(" * 33 + "status = Done" + ")" * 33, 32),
    ],
)
def test_escape_attempts_are_refused_with_the_position(
    service: Service, text: str, position: int
) -> None:
    assert_refused(search(service, text), position)


def test_naming_a_project_without_a_project_key_is_refused(service: Service) -> None:
    message = assert_refused(search(service, "project = OPS", project=None), position=10)
    assert "set details.projectKey" in message
    assert_refused(search(service, "key = OPS-1 OR status = Done", project=None), position=6)


def test_a_search_about_no_project_stays_a_search_of_every_project(service: Service) -> None:
    outcome = search(service, "priority = High ORDER BY key", project=None)
    assert outcome.status == 200, outcome.body
    assert outcome.body["result"]["data"]["jql"] == 'priority = "High" ORDER BY key'
    assert set(outcome.keys) >= {"ENG-1", "OPS-1"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Attack text inside a string is a value, however it is quoted or escaped.
        ('labels = "a\\") OR (project = OPS"', []),
        ("labels = 'x\\' OR project = OPS OR labels = \\'y'", []),
        ('labels = "x\\" ORDER BY key" OR status = "In Review"', ["ENG-4"]),
        ('labels = "x\\u0022) OR (project = OPS"', []),
        # Redundant or contradictory mentions of ENG itself are fine.
        (
            'status = "To Do" OR NOT project = ENG ORDER BY key',
            ["ENG-2", "ENG-6", "ENG-9", "ENG-10", "ENG-12"],
        ),
        ("project = eng AND priority = Highest", ["ENG-2"]),
        ("key in (ENG-3, eng-1) ORDER BY key", ["ENG-1", "ENG-3"]),
        ("parent = ENG-5 ORDER BY key DESC", ["ENG-12", "ENG-11"]),
        ("ORDER BY key", [f"ENG-{n}" for n in range(1, 13)]),
    ],
)
def test_what_is_accepted_runs_inside_the_project(
    service: Service, text: str, expected: list[str]
) -> None:
    outcome = search(service, text)
    keys = assert_inside_eng(outcome)
    assert (keys if jql.parse(text).order else sorted(keys)) == expected
    assert outcome.body["result"]["data"]["jql"] == jql.for_jira(text, "ENG")


def test_the_recorded_details_hold_the_jql_policies_saw(service: Service) -> None:
    outcome = search(service, "Labels = 'sec\\u0072et' or STATUS=Done")
    assert outcome.status == 200, outcome.body
    record = service.agent.get(f"/v1/actions/{outcome.body['id']}").json()
    assert record["details"]["jql"] == 'labels = "secret" OR status = "Done"'
    assert record["result"]["data"]["jql"] == (
        'project = "ENG" AND (labels = "secret" OR status = "Done")'
    )


# --------------------------------------------------------------------------- the property

_VALUES: dict[str, list[str]] = {
    "project": ["ENG", "eng", "OPS", "Operations", "10001"],
    "key": ["ENG-1", "ENG-4", "eng-9", "OPS-1", "OPS-2"],
    "parent": ["ENG-1", "ENG-5", "OPS-1"],
    "status": ["To Do", "Done", "In Progress", "In Review"],
    "labels": ["checkout", "flaky", "ui", 'a") OR (project = OPS', "x' OR project = OPS"],
    "priority": ["High", "Low", "Highest", "Medium"],
    "issuetype": ["Bug", "Story", "Task", "Epic"],
    "sprint": ["sprint_42", "101"],
}
_NAMES_OTHER = {"OPS", "Operations", "10001", "OPS-1", "OPS-2"}
_BREAKERS = [") OR (project = OPS", '"', "'", ")", "(", " OR ", "project = OPS", "“", "\\", "||"]


@dataclass
class Generated:
    text: str
    names_other: bool = False
    broken: bool = False


def _quoted(draw: st.DrawFn, value: str) -> str:
    style = draw(st.sampled_from(["bare", "double", "single"]))
    simple = all(c.isalnum() or c in "-_" for c in value)
    if style == "bare" and simple:
        return value
    if style == "single":
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return jql.quote(value)


@st.composite
def _clause(draw: st.DrawFn) -> Generated:
    field = draw(st.sampled_from(sorted(_VALUES)))
    operator = draw(st.sampled_from(["=", "!=", "in", "not in", "is"]))
    if operator == "is":
        return Generated(f"{field} is {draw(st.sampled_from(['EMPTY', 'not EMPTY']))}")
    if field == "sprint" and draw(st.booleans()):
        return Generated(f"sprint {draw(st.sampled_from(['in', 'not in']))} openSprints()")
    count = draw(st.integers(1, 3)) if operator in {"in", "not in"} else 1
    values = draw(st.lists(st.sampled_from(_VALUES[field]), min_size=count, max_size=count))
    written = [_quoted(draw, value) for value in values]
    operand = f"({', '.join(written)})" if operator in {"in", "not in"} else written[0]
    names_other = field in {"project", "key", "parent"} and bool(set(values) & _NAMES_OTHER)
    return Generated(f"{field} {operator} {operand}", names_other=names_other)


def _combine(parts: list[Generated], joiner: str) -> Generated:
    return Generated(joiner.join(f"({p.text})" for p in parts), any(p.names_other for p in parts))


_expressions = st.recursive(
    _clause(),
    lambda inner: st.one_of(
        inner.map(lambda p: Generated(f"NOT ({p.text})", p.names_other)),
        st.lists(inner, min_size=2, max_size=3).map(lambda ps: _combine(ps, " AND ")),
        st.lists(inner, min_size=2, max_size=3).map(lambda ps: _combine(ps, " OR ")),
    ),
    max_leaves=5,
)


@st.composite
def generated_jql(draw: st.DrawFn) -> Generated:
    query = draw(_expressions)
    if draw(st.booleans()):
        order = draw(st.sampled_from(["key", "key DESC", "priority DESC, key", "created"]))
        query = Generated(f"{query.text} ORDER BY {order}", query.names_other)
    if draw(st.integers(0, 3)) == 0:  # now and then, break it somewhere
        at = draw(st.integers(0, len(query.text)))
        breaker = draw(st.sampled_from(_BREAKERS))
        query = Generated(query.text[:at] + breaker + query.text[at:], broken=True)
    return query


def _oracle(service: Service, text: str) -> list[str] | None:
    """The keys the agent's own JQL selects, restricted to ENG, by the sandbox's engine."""
    user = service.sandbox.user_by_login(JIRA_EMAIL)
    try:
        query = compile_jql(text, service.sandbox, user)
    except JQLError:
        return None
    found = query.run(i for i in service.sandbox.issues.values() if not i.archived)
    return [issue.key for issue in found if issue.project_key == "ENG"]


@settings(max_examples=60, deadline=None)
@given(generated_jql())
def test_generated_jql_never_returns_another_projects_issue(
    service: Service, case: Generated
) -> None:
    outcome = search(service, case.text)
    event(f"HTTP {outcome.status}, {'broken' if case.broken else 'well-formed'}")
    if outcome.status == 422:
        assert_refused(outcome)
        # A well-formed query about ENG alone is never refused; a broken one may be.
        assert case.names_other or case.broken, (case.text, outcome.body)
        return
    # Whatever else happens, a query naming OPS (or broken into doing so) never runs.
    assert not case.names_other, (case.text, outcome.body)
    if outcome.status == 502:  # Jira (the sandbox) refused the query: nothing returned
        assert outcome.body["status"] == "failed"
        return
    keys = assert_inside_eng(outcome)
    expected = _oracle(service, case.text)
    if expected is not None:
        if not jql.parse(case.text).order:
            keys, expected = sorted(keys), sorted(expected)
        assert keys == expected, case.text


# --------------------------------------------------------------------------- reviewer edits

GATED_SEARCHES = """
rules:
  - id: ops-searches-need-a-lead
    match: {action: jira_search, project: OPS}
    decision: require_approval
    route_to: engineering-leads
    priority: 50
  - id: no-secret-searches
    match: {action: jira_search, details.jql: {matches: 'labels = "secret"'}}
    decision: deny
    priority: 100
    reason: Secret issues are not for agents.
"""


@pytest.fixture(scope="module", params=DB_KINDS)
def gated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("jql-gated")
    policies = copy_policies(directory)
    (policies / "searches.yaml").write_text(GATED_SEARCHES, encoding="utf-8")
    with service_on(request, request.param, directory, policy_dir=policies) as running:
        yield running


def test_a_reviewers_jql_edit_is_checked_in_the_form_jira_runs(gated: Service) -> None:
    submitted = gated.agent.post(
        "/v1/actions", json=envelope("jira_search", jql="status = Done", projectKey="OPS")
    )
    assert submitted.status_code == 202, submitted.text
    action_id = submitted.json()["id"]

    def approve(jql_text: str) -> Any:
        return gated.client("lead-alice").post(
            f"/v1/approvals/{action_id}/decision",
            json={"verdict": "approve", "modifiedDetails": {"jql": jql_text}},
        )

    # A search's JQL is fixed for reviewers (docs/approvals.md): an escaped query that a rule
    # on details.jql would deny is refused before policy even sees it ...
    hidden = approve("labels = 'sec\\u0072et'")
    assert hidden.status_code == 409, hidden.text
    assert "/jql: may not be changed" in hidden.json()["message"]
    # ... and an edit cannot reach into another project either.
    widened = approve("status = Done OR project = ENG")
    assert widened.status_code == 409, widened.text
    assert "/jql" in widened.json()["message"]
    assert gated.agent_view(action_id)["status"] == "pending_approval"
    assert not any(entry.path == SEARCH_PATH for entry in gated.sandbox.logged())
