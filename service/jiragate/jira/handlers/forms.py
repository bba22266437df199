"""ProForma forms on an issue: listing them, reading one, saving answers.

Where the forms are read and written: ProForma keeps an issue's forms in its entity
properties — the index `proforma.forms` and each form in `proforma.forms.i<id>` (`design`
with the questions, `state` with `status` and `answers`) — served by the site's own REST API
on both flavours (`GET`/`PUT /rest/api/{3|2}/issue/{key}/properties/{propertyKey}`, in
Atlassian's platform spec). mcp-atlassian 0.23.1 ships that client too
(`mcp_atlassian/jira/forms.py`), although its tools use the Cloud Forms REST API, which lives
at `https://api.atlassian.com/jira/forms/cloud/{cloudId}/issue/{key}/form...` and not on the
site. Jiragate sends traffic only to its configured site, so it never calls that host: on a
Cloud site whose forms exist only in the Forms service (UUID ids), the list is empty
(docs/jira.md says so).

What saving answers refuses before writing (a hostile agent's widenings), each a
`JiraLookupError` that fails the action with nothing written:

- an issue Jira places in another project (scope.issue_in_project);
- a form id that is not on that issue (its property is not found);
- a form that is not open (submitted or locked): reopening is a change a reviewer of
  "answers" did not see, and the action never submits, reopens or locks;
- a question the form does not have, an answer of the wrong kind for its question, and a
  question linked to a Jira field (`jiraField`): ProForma copies such an answer into the field
  when the form is submitted, which would be a field edit past jira_update_fields' rules.

Only `state.answers` of the named questions change; the rest of the form is written back as
read. The property is replaced whole (Jira has no partial update of a property), so an edit
made in Jira between the read and the write is overwritten: the window is one round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jiragate.errors import JiraHTTPError, JiraLookupError
from jiragate.jira.handlers.base import ActionCall, handles
from jiragate.jira.handlers.scope import ScopedIssue, action_issue

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter

FORMS_INDEX = "proforma.forms"
_STATUS = {"o": "open", "s": "submitted", "l": "locked"}
#: ProForma's question types -> the answer key that fits them.
_ANSWER_KIND = {
    "ts": "text",  # short text
    "tl": "text",  # long text
    "te": "text",  # e-mail
    "tu": "text",  # URL
    "no": "number",
    "da": "date",
    "dt": "date",  # date and time: ProForma keeps the date and the time apart
    "ti": "time",
    "cs": "choices",  # one choice
    "cm": "choices",  # several choices
    "cd": "choices",  # dropdown
    "cl": "choices",  # dropdown, several
    "us": "users",
    "um": "users",
}


async def _property(jira: JiraAdapter, issue: ScopedIssue, name: str) -> Any:
    """An entity property's value, or None when the issue has no such property."""
    try:
        answer = await jira.client.get(jira.api(f"/issue/{issue.key}/properties/{name}"))
    except JiraHTTPError as exc:
        if exc.status == 404:
            return None
        raise
    return (answer or {}).get("value")


async def _form(jira: JiraAdapter, issue: ScopedIssue, form_id: str) -> dict[str, Any]:
    form = await _property(jira, issue, f"{FORMS_INDEX}.{form_id}")
    if not isinstance(form, Mapping) or not isinstance(form.get("state"), Mapping):
        raise JiraLookupError(
            f"form {form_id} is not on issue {issue.key}; an action reads and answers only "
            "its own issue's forms (jira_get_forms lists them)"
        )
    return dict(form)


def _questions(form: Mapping[str, Any]) -> dict[str, Any]:
    questions = (form.get("design") or {}).get("questions") or {}
    return dict(questions) if isinstance(questions, Mapping) else {}


def _shown(form_id: str, form: Mapping[str, Any]) -> dict[str, Any]:
    """A form as agents need it: name, status, questions (not the layout) and answers."""
    state = form.get("state") or {}
    settings = (form.get("design") or {}).get("settings") or {}
    return {
        "id": form_id,
        "name": settings.get("name"),
        "status": _STATUS.get(str(state.get("status")), state.get("status")),
        "updated": form.get("updated"),
        "questions": {
            qid: {
                "label": question.get("label"),
                "type": question.get("type"),
                **({"jiraField": question["jiraField"]} if question.get("jiraField") else {}),
            }
            for qid, question in _questions(form).items()
            if isinstance(question, Mapping)
        },
        "answers": state.get("answers") or {},
    }


@handles("jira_get_forms")
async def get_forms(jira: JiraAdapter, call: ActionCall) -> None:
    issue = await action_issue(jira, call.details)
    index = await _property(jira, issue, FORMS_INDEX) or {}
    listed = index.get("forms") if isinstance(index, Mapping) else None
    call.result.data = {
        "issueKey": issue.key,
        "forms": [
            {
                "id": f"i{form.get('id')}",
                "name": form.get("name"),
                "submitted": bool(form.get("submitted")),
                "locked": bool(form.get("lock")),
                "updated": form.get("updated"),
            }
            for form in listed or []
            if isinstance(form, Mapping)
        ],
    }


@handles("jira_get_form")
async def get_form(jira: JiraAdapter, call: ActionCall) -> None:
    issue = await action_issue(jira, call.details)
    form_id = call.details["formId"]
    form = await _form(jira, issue, form_id)
    call.result.data = {"issueKey": issue.key, "form": _shown(form_id, form)}


def _checked_answer(form_id: str, questions: Mapping[str, Any], answer: Mapping[str, Any]) -> Any:
    """The stored value of one answer (`{kind: value}`), or the refusal naming what is wrong."""
    qid = answer["questionId"]
    question = questions.get(qid)
    if not isinstance(question, Mapping):
        raise JiraLookupError(
            f"form {form_id} has no question {qid} "
            f"(its questions: {', '.join(questions) or 'none'})"
        )
    if question.get("jiraField"):
        raise JiraLookupError(
            f"question {qid} of form {form_id} is linked to the Jira field "
            f"{question['jiraField']}: submitting the form would change that field, so change "
            "it with jira_update_fields instead"
        )
    (kind,) = [name for name in answer if name != "questionId"]  # the schema allows one
    wanted = _ANSWER_KIND.get(str(question.get("type")))
    if kind != wanted:
        raise JiraLookupError(
            f"question {qid} of form {form_id} is of type {question.get('type')!r} and takes "
            f"{wanted or 'no answer Jiragate can write'}, not {kind}"
        )
    return {kind: answer[kind]}


@handles("jira_update_form_answers")
async def update_form_answers(jira: JiraAdapter, call: ActionCall) -> None:
    issue = await action_issue(jira, call.details)
    form_id = call.details["formId"]
    form = await _form(jira, issue, form_id)
    state = dict(form["state"])
    status = str(state.get("status"))
    if status != "o":
        raise JiraLookupError(
            f"form {form_id} on {issue.key} is {_STATUS.get(status, status)}; answers are saved "
            "only in an open form (reopen it in Jira first: this action never reopens, submits "
            "or locks a form)"
        )
    questions = _questions(form)
    answers = dict(state.get("answers") or {})
    for answer in call.details["answers"]:
        answers[answer["questionId"]] = _checked_answer(form_id, questions, answer)
    form["state"] = {**state, "answers": answers}
    await jira.client.put(jira.api(f"/issue/{issue.key}/properties/{FORMS_INDEX}.{form_id}"), form)
    call.result.touch(issue.key)
    call.result.data = {"issueKey": issue.key, "form": _shown(form_id, form)}
