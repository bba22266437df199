"""Seed data beyond an issue's fields: ProForma forms, the development panel and a link that
crosses projects, so the forms, development-info and cross-project-link actions have
something to read (docs/jira-sandbox.md).

- **Forms** are what ProForma keeps in issue entity properties (the same properties
  mcp-atlassian's site-based forms client reads, `mcp_atlassian/jira/forms.py`): the index
  `proforma.forms` lists the issue's forms and each form lives in `proforma.forms.i<id>`
  with its `design` (questions) and `state` (`status` "o" open, "s" submitted, "l" locked,
  and `answers` by question id) — the design/state layout the Cloud Forms REST API returns
  too. The existing property routes serve and store them, so a write through them is what
  Jira would keep.
- **Development information** is what the dev-status plugin answers (routes_devstatus.py),
  per application type (case-sensitive, as in Jira: "GitHub", "stash") and data type.
- **A cross-project link**: ENG-10 "is blocked by" OPS-2. Its id is below the counter so
  the ids later links and worklogs get are the same as without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jiragate.jira.sandbox.state import SandboxState

FORMS_INDEX = "proforma.forms"
CROSS_PROJECT_LINK_ID = 29001


def form_property(form_id: int) -> str:
    return f"{FORMS_INDEX}.i{form_id}"


def _question(label: str, kind: str, **more: Any) -> dict[str, Any]:
    return {"label": label, "type": kind, "validation": {"rq": False}, **more}


_BUG_REPORT: dict[str, Any] = {
    "settings": {"templateId": 1, "name": "Bug report", "submit": {"lock": False, "pdf": False}},
    "layout": [],
    "conditions": {},
    "sections": {},
    "questions": {
        "1": _question("Steps to reproduce", "tl"),
        "2": _question("Affected users", "no"),
        "3": _question(
            "Severity",
            "cs",
            choices=[{"id": "1", "label": "Minor"}, {"id": "2", "label": "Major"}],
        ),
        # Linked to a Jira field: submitting the form would copy the answer into the field.
        "4": _question("Due", "da", jiraField="duedate"),
    },
}


def _form(form_id: int, status: str, answers: dict[str, Any]) -> dict[str, Any]:
    return {
        "schemaVersion": 8,
        "id": form_id,
        "uuid": f"00000000-0000-4000-8000-{form_id:012d}",
        "updated": "2024-05-01T09:00:00.000Z",
        "design": _BUG_REPORT,
        "state": {"visibility": "i", "status": status, "answers": answers},
    }


def _index(forms: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemaVersion": 8,
        "forms": [
            {
                "id": form["id"],
                "uuid": form["uuid"],
                "name": form["design"]["settings"]["name"],
                "updated": form["updated"],
                "submitted": form["state"]["status"] != "o",
                "lock": form["state"]["status"] == "l",
            }
            for form in forms
        ],
    }


#: issue -> its forms: ENG-2 an open one (partly answered), ENG-4 a submitted one, OPS-1 an
#: open one (another project's, for the scope attacks).
_FORMS: dict[str, list[dict[str, Any]]] = {
    "ENG-2": [_form(1, "o", {"1": {"text": "Open the payment form, go back."}})],
    "ENG-4": [_form(1, "s", {"1": {"text": "Refactor."}, "2": {"number": 3}})],
    "OPS-1": [_form(1, "o", {})],
}

_GITHUB = {
    "name": "GitHub",
    "baseUrl": "https://github.com",
    "type": "GitHub",
    "id": "github",
    "typeName": "GitHub",
    "singleInstance": True,
}
_REPO = {"id": "r1", "name": "acme/shop", "url": "https://github.com/acme/shop", "avatar": ""}

#: issue -> application type -> data type -> Jira's `detail` entry (without `_instance`).
_DEVELOPMENT: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
    "ENG-3": {
        "GitHub": {
            "branch": {
                "branches": [
                    {
                        "name": "feature/ENG-3-apple-pay",
                        "url": "https://github.com/acme/shop/tree/feature/ENG-3-apple-pay",
                        "createPullRequestUrl": "https://github.com/acme/shop/compare/ENG-3",
                        "repository": _REPO,
                    }
                ],
                "repositories": [],
            },
            "pullrequest": {
                "pullRequests": [
                    {
                        "id": "#17",
                        "name": "ENG-3 Apple Pay",
                        "status": "OPEN",
                        "url": "https://github.com/acme/shop/pull/17",
                        "author": {"name": "Carol Chen"},
                        "reviewers": [{"name": "Bob Brown"}],
                        "lastUpdate": "2024-05-02T10:00:00.000+0000",
                        "source": {"branch": "feature/ENG-3-apple-pay", "repository": _REPO},
                        "destination": {"branch": "main", "repository": _REPO},
                    }
                ]
            },
            "repository": {
                "repositories": [
                    {
                        **_REPO,
                        "commits": [
                            {
                                "id": "9f3c2a1b7d",
                                "displayId": "9f3c2a1",
                                "message": "ENG-3 add the Apple Pay button",
                                "author": {"name": "Carol Chen"},
                                "authorTimestamp": "2024-05-02T09:30:00.000+0000",
                                "url": "https://github.com/acme/shop/commit/9f3c2a1b7d",
                            }
                        ],
                    }
                ]
            },
        }
    }
}

#: The instance each application type's entries come from.
INSTANCES: dict[str, dict[str, Any]] = {"GitHub": _GITHUB}


def seed_panels(state: SandboxState) -> None:
    for key, forms in _FORMS.items():
        issue = state.issues[key]
        issue.properties[FORMS_INDEX] = _index(forms)
        for form in forms:
            issue.properties[form_property(form["id"])] = form
    for key, development in _DEVELOPMENT.items():
        state.issues[key].development = development
    blocked, blocker = state.issues["ENG-10"], state.issues["OPS-2"]
    link = {"id": CROSS_PROJECT_LINK_ID, "type": "10000"}  # Blocks: OPS-2 blocks ENG-10
    blocker.links.append({**link, "outwardIssue": blocked.key})
    blocked.links.append({**link, "inwardIssue": blocker.key})
