"""What Jira shows beside an issue's fields (issue 12): its ProForma forms, its development
panel, and the links from a project's issues into other projects.

Project scope, as everywhere: an action names one project (its `issueKey`, every key of
`issueKeys`, or `projectKey`), and the handlers (jira/handlers/forms.py, development.py,
dependencies.py) read each issue first and refuse one that Jira places in another project
(a moved issue answers to its old key). A form id names a form *of that issue* — the form is
read from the issue's own properties, so another issue's form is not found.

Cross-project links are the one read whose answer names other projects. It stays inside its
project by reading only `projectKey`'s issues (a JQL search restricted to it) and reporting
what Jira puts on each link — the linked issue's key, summary, status and type — without
reading the other project's issues. `linkedProjectKeys` narrows the report to some projects,
and a policy can require it (`details.linkedProjectKeys`) to keep an agent to the projects it
may know about.

Kinds follow mcp-atlassian's hints: the three reads are READs (allowed by the default
policies), saving form answers is a WRITE gated like a field edit (policies/workflow.yaml).

Edit rules: a reviewer may drop issues from a development-info read, lower the scan of
cross-project links, narrow the linked projects, and drop answers or reword a text answer;
the issue and the form id are fixed, as is any other answer's value.
"""

from __future__ import annotations

from collections.abc import Iterator

from jiragate.catalog.actions import counts, counts_items
from jiragate.catalog.rules import EditRule, ItemRules
from jiragate.catalog.spec import ActionKind, ActionSpec, Details, register
from jiragate.errors import DetailsViolation

READ, WRITE = ActionKind.READ, ActionKind.WRITE
#: The issues a cross-project scan reads when `maxResults` is not given.
DEFAULT_SCAN = 50


def _each_question_once(details: Details) -> Iterator[DetailsViolation]:
    seen: set[str] = set()
    for index, answer in enumerate(details.get("answers") or ()):
        question = answer.get("questionId")
        if question in seen:
            yield DetailsViolation(
                f"/answers/{index}/questionId",
                "one-answer-per-question",
                f"question {question} is answered twice",
            )
        seen.add(question)


def _other_projects(details: Details) -> Iterator[DetailsViolation]:
    if details.get("projectKey") in (details.get("linkedProjectKeys") or ()):
        yield DetailsViolation(
            "/linkedProjectKeys",
            "other-projects",
            f"linkedProjectKeys names {details['projectKey']}, the project itself; "
            "a cross-project link leads to another project",
        )


def _scanned(details: Details) -> int:
    return int(details.get("maxResults", DEFAULT_SCAN))


PANEL_ACTIONS: tuple[ActionSpec, ...] = (
    # ProForma forms
    ActionSpec("jira_get_forms", READ, idempotent=True, count=counts(1)),
    ActionSpec("jira_get_form", READ, idempotent=True, count=counts(1)),
    # Saving the same answers again leaves the form as one save did.
    ActionSpec(
        "jira_update_form_answers",
        WRITE,
        idempotent=True,
        count=counts(1),
        edit_rules={"answers": ItemRules({"text": EditRule.TEXT})},
        invariants=(_each_question_once,),
    ),
    # the development panel
    ActionSpec(
        "jira_get_development_info",
        READ,
        idempotent=True,
        count=counts_items("issueKeys"),
        edit_rules={"issueKeys": EditRule.SUBSET},
    ),
    # links into other projects, read from this project's side
    ActionSpec(
        "jira_get_cross_project_links",
        READ,
        idempotent=True,
        count=_scanned,
        edit_rules={
            "maxResults": EditRule.NARROW_COUNT,
            "linkedProjectKeys": EditRule.SUBSET,
        },
        invariants=(_other_projects,),
    ),
)


def register_panel_actions() -> None:
    for spec in PANEL_ACTIONS:
        register(spec)
