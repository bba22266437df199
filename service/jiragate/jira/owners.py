"""Which project a version, component, sprint, board, service desk, project or issue named by
id is in: the question an edge asks before it can name the action a bare id stands for (the
proxy's `PUT /version/{id}`), and the gateway before it scopes a generic action whose path
names such an id (`GET /project/{id}` for a project's key, `GET /issue/{id}?fields=project`).

Only Jira knows: a version names its `projectId` (`GET /version/{id}`, then
`GET /project/{id}` for the key), a component its `project` key (`GET /component/{id}`), a
sprint its `originBoardId` and a board its `location.projectKey` (`GET /sprint/{id}`,
`GET /board/{id}`; Jira Software's Agile API), a service desk its `projectKey`
(`GET /rest/servicedeskapi/servicedesk/{id}`, Jira Service Management). The handlers check
the same ids again against the action's project before writing (handlers/project_admin.py,
handlers/sprints.py, handlers/service_desk.py), so a lookup that raced a move cannot make an
action write outside its project.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from jiragate.errors import JiraHTTPError

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter

Kind = Literal["version", "component", "sprint", "board", "servicedesk", "project", "issue"]
#: JSM's experimental operations need it (handlers/service_desk.py sends it on every call).
_JSM_HEADERS = {"X-ExperimentalApi": "opt-in"}


@dataclass(frozen=True, slots=True)
class Located:
    """Jira's answer for the object, and the project Jira places it in (None: in none, such
    as a user's board, or a sprint whose board is gone)."""

    project_key: str | None
    project_id: str | None
    item: Mapping[str, Any] = field(default_factory=dict)


async def locate(jira: JiraAdapter, kind: Kind, ident: str) -> Located | None:
    """Where `kind` `ident` is; None when Jira has no such object (it answered 404). Any
    other error of Jira's is raised: the caller fails closed."""
    query = {"fields": "project"} if kind == "issue" else None  # an issue's project, no more
    item = await _get(jira, _path(jira, kind, ident), query)
    if item is None:
        return None
    if kind == "version":
        project = await _get(jira, jira.api(f"/project/{item.get('projectId')}")) or {}
        return Located(_str(project.get("key")), _str(item.get("projectId")), item)
    if kind == "component":
        return Located(_str(item.get("project")), _str(item.get("projectId")), item)
    if kind == "servicedesk":
        return Located(_str(item.get("projectKey")), _str(item.get("projectId")), item)
    if kind == "project":
        return Located(_str(item.get("key")), _str(item.get("id")), item)
    if kind == "issue":
        fields = item.get("fields")
        named = fields.get("project") if isinstance(fields, Mapping) else None
        owner: Mapping[str, Any] = named if isinstance(named, Mapping) else {}
        return Located(_str(owner.get("key")), _str(owner.get("id")), item)
    board: Mapping[str, Any] | None = item
    if kind == "sprint":
        origin = item.get("originBoardId")
        valid = isinstance(origin, int) and not isinstance(origin, bool)
        board = await _get(jira, jira.agile(f"/board/{origin}")) if valid else None
    location = (board or {}).get("location")
    location = location if isinstance(location, Mapping) else {}
    return Located(_str(location.get("projectKey")), _str(location.get("projectId")), item)


def _path(jira: JiraAdapter, kind: Kind, ident: str) -> str:
    if kind == "servicedesk":
        return f"/rest/servicedeskapi/servicedesk/{ident}"
    if kind in ("issue", "project"):
        return jira.api(f"/{kind}/{ident}")
    return (
        jira.agile(f"/{kind}/{ident}")
        if kind in ("sprint", "board")
        else jira.api(f"/{kind}/{ident}")
    )


async def _get(
    jira: JiraAdapter, path: str, query: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    headers = _JSM_HEADERS if path.startswith("/rest/servicedeskapi/") else None
    try:
        answer = await jira.client.get(path, query=query, headers=headers)
    except JiraHTTPError as exc:
        if exc.status != 404:
            raise
        return None
    return dict(answer) if isinstance(answer, Mapping) else {}


def _str(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
