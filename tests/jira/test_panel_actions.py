"""Forms, the development panel and cross-project links through the adapter, over real HTTP,
on both sandbox profiles (the cloud flavour against the cloud site, the datacenter flavour
against the datacenter site); every request is checked against Atlassian's spec where it has
one (`scenario`; dev-status has none).

The happy paths, and what a hostile agent tries: an issue of another project behind a key of
this one (a moved issue), a form that is not on the issue, a submitted form, a question linked
to a Jira field, an answer of the wrong kind. Each refusal fails the action with nothing
written.
"""

from __future__ import annotations

from typing import Any

import pytest

from jiragate.catalog import validate_details
from jiragate.errors import InvalidDetailsError
from jiragate.jira.handlers.development import DEV_STATUS
from jiragate.jira.results import ExecutionResult
from jiragate.jira.sandbox.panels import form_property
from tests.jira.test_adapter_sandbox import FLAVOURS, Run, Site, scenario
from tests.jira.test_issue_writes import _sites, site

__all__ = ["_sites", "site"]  # the two-profile fixtures

parametrize_flavour = pytest.mark.parametrize("flavour", FLAVOURS)
WRITES = ("PUT", "POST", "DELETE")
ONE_ANSWER = {"questionId": "1", "text": "x"}


def writes(run: Run) -> list[tuple[str, str]]:
    return [(method, path) for method, path, *_ in run.requests if method in WRITES]


def reasons(result: ExecutionResult) -> str:
    return " | ".join(failure.reason for failure in result.failures)


def answers(site: Site, key: str) -> dict[str, Any]:
    with site.state.lock:
        form = site.state.issues[key].properties[form_property(1)]
        return dict(form["state"]["answers"])


def move_to_ops(site: Site, key: str) -> None:
    """The issue moves to OPS and keeps answering to its old key (as Jira does)."""
    with site.state.lock:
        site.state.issues[key].project_key = "OPS"


# --------------------------------------------------------------------------- forms


@parametrize_flavour
def test_forms_are_listed_read_and_answered(site: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        listed = await run.execute("jira_get_forms", {"issueKey": "ENG-2"})
        assert listed.outcome == "succeeded"
        assert listed.data["forms"] == [
            {
                "id": "i1",
                "name": "Bug report",
                "submitted": False,
                "locked": False,
                "updated": "2024-05-01T09:00:00.000Z",
            }
        ]
        none = await run.execute("jira_get_forms", {"issueKey": "ENG-3"})
        assert (none.outcome, none.data["forms"]) == ("succeeded", [])
        read = await run.execute("jira_get_form", {"issueKey": "ENG-2", "formId": "i1"})
        form = read.data["form"]
        assert (form["status"], form["answers"]["1"]) == (
            "open",
            {"text": "Open the payment form, go back."},
        )
        assert form["questions"]["4"] == {"label": "Due", "type": "da", "jiraField": "duedate"}
        saved = await run.execute(
            "jira_update_form_answers",
            {
                "issueKey": "ENG-2",
                "formId": "i1",
                "answers": [
                    {"questionId": "2", "number": 40},
                    {"questionId": "3", "choices": ["2"]},
                ],
            },
        )
        assert saved.outcome == "succeeded", saved.as_dict()
        assert saved.updated == ["ENG-2"]

    run = scenario(site, flavour, body)
    api = "3" if flavour == "cloud" else "2"
    assert writes(run) == [("PUT", f"/rest/api/{api}/issue/ENG-2/properties/proforma.forms.i1")]
    assert answers(site, "ENG-2") == {
        "1": {"text": "Open the payment form, go back."},  # kept
        "2": {"number": 40},
        "3": {"choices": ["2"]},
    }
    with site.state.lock:  # the rest of the form is written back as it was
        assert site.state.issues["ENG-2"].properties[form_property(1)]["state"]["status"] == "o"


REFUSED: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("a form not on the issue", {"issueKey": "ENG-3", "formId": "i1"}, "not on issue ENG-3"),
    ("another form id", {"issueKey": "ENG-2", "formId": "i2"}, "form i2 is not on issue ENG-2"),
    ("a submitted form", {"issueKey": "ENG-4", "formId": "i1"}, "is submitted"),
)


@parametrize_flavour
@pytest.mark.parametrize(("case", "target", "message"), REFUSED, ids=[c[0] for c in REFUSED])
def test_answers_go_only_to_an_open_form_of_the_issue(
    site: Site, flavour: str, case: str, target: dict[str, Any], message: str
) -> None:
    async def body(run: Run) -> None:
        result = await run.execute("jira_update_form_answers", {**target, "answers": [ONE_ANSWER]})
        assert result.outcome == "failed"
        assert message in reasons(result)

    run = scenario(site, flavour, body)
    assert writes(run) == []


WIDENING: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("linked to a Jira field", {"questionId": "4", "date": "2030-01-01"}, "jira_update_fields"),
    ("no such question", {"questionId": "9", "text": "x"}, "has no question 9"),
    ("the wrong kind", {"questionId": "2", "text": "forty"}, "takes number, not text"),
)


@parametrize_flavour
@pytest.mark.parametrize(("case", "answer", "message"), WIDENING, ids=[c[0] for c in WIDENING])
def test_an_answer_that_would_reach_past_the_form_is_refused_before_writing(
    site: Site, flavour: str, case: str, answer: dict[str, Any], message: str
) -> None:
    before = answers(site, "ENG-2")

    async def body(run: Run) -> None:
        # A good answer first: one bad answer refuses the whole save, nothing half-written.
        result = await run.execute(
            "jira_update_form_answers",
            {
                "issueKey": "ENG-2",
                "formId": "i1",
                "answers": [{"questionId": "1", "text": "fine"}, answer],
            },
        )
        assert result.outcome == "failed"
        assert message in reasons(result)

    assert writes(scenario(site, flavour, body)) == []
    assert answers(site, "ENG-2") == before


@parametrize_flavour
def test_a_moved_issue_is_not_read_or_answered_under_its_old_key(site: Site, flavour: str) -> None:
    move_to_ops(site, "ENG-2")

    async def body(run: Run) -> None:
        for action, details in (
            ("jira_get_forms", {"issueKey": "ENG-2"}),
            ("jira_get_form", {"issueKey": "ENG-2", "formId": "i1"}),
            (
                "jira_update_form_answers",
                {"issueKey": "ENG-2", "formId": "i1", "answers": [ONE_ANSWER]},
            ),
        ):
            result = await run.execute(action, details)
            assert result.outcome == "failed", action
            assert "is in project OPS, not ENG" in reasons(result)
            assert result.data is None

    run = scenario(site, flavour, body)
    assert writes(run) == []
    assert not [path for _, path, *_ in run.requests if "properties" in path]


# --------------------------------------------------------------------------- development


@parametrize_flavour
def test_development_info_of_issues(site: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        result = await run.execute("jira_get_development_info", {"issueKeys": ["ENG-3", "ENG-2"]})
        assert result.outcome == "succeeded", result.as_dict()
        panel = result.data["issues"]["ENG-3"]
        assert panel["applicationTypes"] == ["GitHub"]
        assert [b["name"] for b in panel["branches"]] == ["feature/ENG-3-apple-pay"]
        (pr,) = panel["pullRequests"]
        assert (pr["status"], pr["source"], pr["destination"]) == (
            "OPEN",
            "feature/ENG-3-apple-pay",
            "main",
        )
        assert [c["displayId"] for c in panel["commits"]] == ["9f3c2a1"]
        assert panel["repositories"] == [
            {"name": "acme/shop", "url": "https://github.com/acme/shop", "instance": "GitHub"}
        ]
        assert result.data["issues"]["ENG-2"] == {
            "applicationTypes": [],
            "pullRequests": [],
            "branches": [],
            "commits": [],
            "repositories": [],
        }
        # Case-sensitive as in Jira: "github" finds nothing; one data type asks one detail.
        lower = await run.execute(
            "jira_get_development_info", {"issueKeys": ["ENG-3"], "applicationType": "github"}
        )
        assert lower.data["issues"]["ENG-3"]["branches"] == []
        only = await run.execute(
            "jira_get_development_info",
            {"issueKeys": ["ENG-3"], "applicationType": "GitHub", "dataType": "pullrequest"},
        )
        assert [len(only.data["issues"]["ENG-3"][k]) for k in ("pullRequests", "branches")] == [
            1,
            0,
        ]

    run = scenario(site, flavour, body, unspecified=(DEV_STATUS,))
    details = [query for method, path, query, _ in run.requests if path.endswith("/detail")]
    assert {q["issueId"] for q in details} == {str(site.state.issues["ENG-3"].id)}
    assert writes(run) == []


@parametrize_flavour
def test_development_info_of_a_moved_issue_is_that_keys_failure(site: Site, flavour: str) -> None:
    move_to_ops(site, "ENG-3")

    async def body(run: Run) -> None:
        result = await run.execute("jira_get_development_info", {"issueKeys": ["ENG-3", "ENG-2"]})
        assert [f["key"] for f in result.as_dict()["failures"]] == ["ENG-3"]
        assert list(result.data["issues"]) == ["ENG-2"]

    run = scenario(site, flavour, body, unspecified=(DEV_STATUS,))
    moved_id = str(site.state.issues["ENG-3"].id)
    assert not [q for _, p, q, _ in run.requests if "dev-status" in p and q["issueId"] == moved_id]


# --------------------------------------------------------------------------- cross-project links


@parametrize_flavour
def test_cross_project_links_are_read_from_the_projects_own_issues(
    site: Site, flavour: str
) -> None:
    async def body(run: Run) -> None:
        result = await run.execute("jira_get_cross_project_links", {"projectKey": "ENG"})
        assert result.outcome == "succeeded", result.as_dict()
        assert result.data["totalLinks"] == 1
        assert result.data["byProject"] == {
            "OPS": [
                {
                    "issueKey": "ENG-10",
                    "relation": "is blocked by",
                    "linkType": "Blocks",
                    "direction": "inward",
                    "linkedIssue": {
                        "key": "OPS-2",
                        "summary": "Disk alert on db-2",
                        "status": "To Do",
                        "issueType": "Bug",
                    },
                }
            ]
        }
        elsewhere = await run.execute(
            "jira_get_cross_project_links", {"projectKey": "ENG", "linkedProjectKeys": ["HR"]}
        )
        assert (elsewhere.data["totalLinks"], elsewhere.data["byProject"]) == (0, {})
        ops = await run.execute("jira_get_cross_project_links", {"projectKey": "OPS"})
        assert ops.data["byProject"]["ENG"][0]["relation"] == "blocks"

    run = scenario(site, flavour, body)
    # Only searches restricted to the project, never a read of the linked issue.
    paths = {path for _, path, *_ in run.requests}
    assert all(path.endswith(("/search", "/search/jql")) for path in paths), paths
    sent = [str(query.get("jql")) for _, _, query, _ in run.requests]
    assert sent and all(jql.startswith('project = "') for jql in sent)


# --------------------------------------------------------------------------- validation

INVALID: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    (
        "keys of two projects",
        "jira_get_development_info",
        {"issueKeys": ["ENG-2", "OPS-1"]},
        "/issueKeys/1",
    ),
    (
        "the project as its own link target",
        "jira_get_cross_project_links",
        {"projectKey": "ENG", "linkedProjectKeys": ["OPS", "ENG"]},
        "/linkedProjectKeys",
    ),
    (
        "a question answered twice",
        "jira_update_form_answers",
        {"issueKey": "ENG-2", "formId": "i1", "answers": [ONE_ANSWER, ONE_ANSWER]},
        "/answers/1/questionId",
    ),
    (
        "two values in one answer",
        "jira_update_form_answers",
        {"issueKey": "ENG-2", "formId": "i1", "answers": [{**ONE_ANSWER, "number": 1}]},
        "/answers/0",
    ),
    (
        "a form id that is a path",
        "jira_get_form",
        {"issueKey": "ENG-2", "formId": "i1/../../../myself"},
        "/formId",
    ),
)


@pytest.mark.parametrize(
    ("case", "action", "details", "pointer"), INVALID, ids=[c[0] for c in INVALID]
)
def test_details_that_leave_the_project_or_the_form_are_refused_before_jira(
    case: str, action: str, details: dict[str, Any], pointer: str
) -> None:
    with pytest.raises(InvalidDetailsError) as refused:
        validate_details(action, details)
    assert pointer in {violation.pointer for violation in refused.value.violations}
