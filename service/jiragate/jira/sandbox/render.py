"""Turn sandbox model objects into Jira's JSON, per flavour ("cloud" = v3, "dc" = v2)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fastapi.responses import JSONResponse

from jiragate.jira.sandbox.state import (
    EPIC_LINK_FIELD,
    EPIC_NAME_FIELD,
    IMPACT_FIELD,
    LINK_TYPES,
    RANK_FIELD,
    RESOLUTIONS,
    SPRINT_FIELD,
    STORY_ESTIMATE_FIELD,
    STORY_POINTS_FIELD,
    TEAM_FIELD,
    Board,
    Component,
    Issue,
    Project,
    SandboxState,
    Sprint,
    User,
    Version,
    adf_to_text,
    issue_type,
    priority,
    status,
)

# Fields a GET issue returns by default (`*all`) and that search can ask for by name.
ALL_FIELDS = (
    "summary",
    "issuetype",
    "project",
    "status",
    "priority",
    "labels",
    "assignee",
    "reporter",
    "creator",
    "description",
    "environment",
    "parent",
    "subtasks",
    "fixVersions",
    "created",
    "updated",
    STORY_POINTS_FIELD,
    SPRINT_FIELD,
    EPIC_LINK_FIELD,
    EPIC_NAME_FIELD,
    STORY_ESTIMATE_FIELD,
    "resolution",
    "resolutiondate",
    "duedate",
    "components",
    "versions",
    "issuelinks",
    "watches",
    "votes",
    "worklog",
    "timetracking",
    "timespent",
    "timeoriginalestimate",
    "timeestimate",
    "aggregatetimespent",
    "aggregatetimeoriginalestimate",
    "aggregatetimeestimate",
    "progress",
    "aggregateprogress",
    "workratio",
    "statuscategorychangedate",
    "lastViewed",
    "security",
    "attachment",
)


_ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


def page_json(
    items: Sequence[Any], start: int, limit: int, render: Callable[[Any], Any]
) -> dict[str, Any]:
    """Jira's offset page (`startAt`, `maxResults`, `total`, `isLast`, `values`) of `items`."""
    return {
        "maxResults": limit,
        "startAt": start,
        "total": len(items),
        "isLast": start + limit >= len(items),
        "values": [render(item) for item in items[start : start + limit]],
    }


def jira_error(
    status_code: int,
    messages: Iterable[str] = (),
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Jira's error body: `{"errorMessages": [...], "errors": {"field": "message"}}`."""
    body = {"errorMessages": list(messages), "errors": dict(errors or {})}
    return JSONResponse(body, status_code=status_code, headers=headers)


def bulk_error(messages: Iterable[str]) -> dict[str, Any]:
    """A whole-request failure of bulk create: the spec declares its 400 as `CreatedIssues`,
    so the messages travel as one element error rather than a bare ErrorCollection."""
    return {
        "issues": [],
        "errors": [
            {"status": 400, "elementErrors": {"errorMessages": list(messages), "errors": {}}}
        ],
    }


def api_base(state: SandboxState, flavour: str) -> str:
    return f"{state.base_url}/rest/api/{'2' if flavour == 'dc' else '3'}"


def user_json(state: SandboxState, user: User | None, flavour: str) -> dict[str, Any] | None:
    if user is None:
        return None
    body: dict[str, Any] = {
        "self": f"{api_base(state, flavour)}/user?accountId={user.account_id}",
        "accountId": user.account_id,
        "displayName": user.display_name,
        "emailAddress": user.email,
        "active": user.active,
        "timeZone": "Etc/UTC",
        "accountType": "atlassian",
    }
    # Usernames exist only on Data Center; a Cloud site's v2 shows accountIds alone.
    if flavour == "dc" and state.profile == "datacenter":
        body.update(name=user.name, key=user.name)
    return body


def status_json(state: SandboxState, name: str, flavour: str) -> dict[str, Any]:
    found = status(name)
    return {
        "self": f"{api_base(state, flavour)}/status/{found.id}",
        "id": found.id,
        "name": found.name,
        "description": "",
        "iconUrl": f"{state.base_url}/images/icons/statuses/generic.png",
        "statusCategory": {
            "self": f"{api_base(state, flavour)}/statuscategory/{found.category_id}",
            "id": found.category_id,
            "key": found.category_key,
            "name": found.category_name,
            "colorName": {"new": "blue-gray", "done": "green"}.get(found.category_key, "yellow"),
        },
    }


def issue_type_json(state: SandboxState, name: str, flavour: str) -> dict[str, Any]:
    found = issue_type(name)
    return {
        "self": f"{api_base(state, flavour)}/issuetype/{found.id}",
        "id": found.id,
        "name": found.name,
        "description": "",
        "subtask": found.subtask,
        "hierarchyLevel": found.hierarchy_level,
    }


def priority_json(state: SandboxState, name: str, flavour: str) -> dict[str, Any]:
    # The site's own first: a test may give the site a priority the seed profiles lack.
    found = next((p for p in state.site.priorities if p.name == name), None) or priority(name)
    return {"self": f"{api_base(state, flavour)}/priority/{found.id}", "id": found.id, "name": name}


def project_ref(state: SandboxState, project: Project, flavour: str) -> dict[str, Any]:
    return {
        "self": f"{api_base(state, flavour)}/project/{project.id}",
        "id": str(project.id),
        "key": project.key,
        "name": project.name,
        "projectTypeKey": "software",
        "simplified": False,
    }


def version_json(state: SandboxState, version: Version, flavour: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "self": f"{api_base(state, flavour)}/version/{version.id}",
        "id": str(version.id),
        "name": version.name,
        "description": version.description,
        "archived": version.archived,
        "released": version.released,
        "projectId": version.project_id,
    }
    if version.start_date:
        body["startDate"] = version.start_date
    if version.release_date:
        body["releaseDate"] = version.release_date
    return body


def component_ref(state: SandboxState, component: Component, flavour: str) -> dict[str, Any]:
    """A component as an issue's `components` field lists it."""
    return {
        "self": f"{api_base(state, flavour)}/component/{component.id}",
        "id": str(component.id),
        "name": component.name,
        "description": component.description,
    }


def component_json(state: SandboxState, component: Component, flavour: str) -> dict[str, Any]:
    """`GET /component/{id}`: the component with its project, lead and assignee type. Cloud
    names the lead by accountId only; Data Center by user name as well."""
    project = state.projects[component.project_key]
    lead = state.users.get(component.lead) if component.lead else None
    assignee = {
        "PROJECT_LEAD": state.users.get(project.lead),
        "COMPONENT_LEAD": lead,
    }.get(component.assignee_type)
    body: dict[str, Any] = {
        **component_ref(state, component, flavour),
        "project": project.key,
        "projectId": project.id,
        "assigneeType": component.assignee_type,
        "realAssigneeType": component.assignee_type if assignee or lead else "PROJECT_DEFAULT",
        "isAssigneeTypeValid": component.assignee_type != "COMPONENT_LEAD" or lead is not None,
    }
    if lead is not None:
        # `leadAccountId`/`leadUserName` are write-only: the lead is read from `lead`.
        body["lead"] = user_json(state, lead, flavour)
    if assignee is not None:
        body["assignee"] = body["realAssignee"] = user_json(state, assignee, flavour)
    return body


def board_json(state: SandboxState, board: Board) -> dict[str, Any]:
    """An agile board with its location: the project it belongs to (as Jira Software
    answers `GET /rest/agile/1.0/board/{id}`)."""
    project = state.projects.get(board.project_key)
    body: dict[str, Any] = {
        "id": board.id,
        "self": f"{state.base_url}/rest/agile/1.0/board/{board.id}",
        "name": board.name,
        "type": board.type,
    }
    if project is not None:
        body["location"] = {
            "projectId": project.id,
            "displayName": f"{project.name} ({project.key})",
            "projectName": project.name,
            "projectKey": project.key,
            "projectTypeKey": "software",
            "avatarURI": f"{state.base_url}/secure/projectavatar?size=small&pid={project.id}",
            "name": f"{project.name} ({project.key})",
        }
    return body


def sprint_json(state: SandboxState, sprint: Sprint) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": sprint.id,
        "self": f"{state.base_url}/rest/agile/1.0/sprint/{sprint.id}",
        "state": sprint.state,
        "name": sprint.name,
        "originBoardId": sprint.board_id,
        "goal": sprint.goal,
    }
    for key, value in (
        ("startDate", sprint.start_date),
        ("endDate", sprint.end_date),
        ("completeDate", sprint.complete_date),
    ):
        if value:
            body[key] = value
    return body


def rich_text(value: dict[str, Any] | None, flavour: str) -> object:
    if value is None:
        return None
    return adf_to_text(value) if flavour == "dc" else value


def _short_issue(state: SandboxState, issue: Issue, flavour: str) -> dict[str, Any]:
    return {
        "id": str(issue.id),
        "key": issue.key,
        "self": f"{api_base(state, flavour)}/issue/{issue.id}",
        "fields": {
            "summary": issue.summary,
            "status": status_json(state, issue.status, flavour),
            "priority": priority_json(state, issue.priority, flavour),
            "issuetype": issue_type_json(state, issue.issue_type, flavour),
        },
    }


def field_value(state: SandboxState, issue: Issue, name: str, flavour: str) -> object:
    """One field of an issue as Jira shows it."""
    if name == "summary":
        return issue.summary
    if name == "issuetype":
        return issue_type_json(state, issue.issue_type, flavour)
    if name == "project":
        return project_ref(state, state.projects[issue.project_key], flavour)
    if name == "status":
        return status_json(state, issue.status, flavour)
    if name == "priority":
        return priority_json(state, issue.priority, flavour)
    if name == "labels":
        return list(issue.labels)
    if name == "assignee":
        return user_json(state, state.users.get(issue.assignee or ""), flavour)
    if name == "reporter":
        return user_json(state, state.users.get(issue.reporter), flavour)
    if name == "creator":
        return user_json(state, state.users.get(issue.creator or issue.reporter), flavour)
    if name == "description":
        return rich_text(issue.description, flavour)
    if name == "environment":
        return rich_text(issue.environment, flavour)
    if name == "parent":
        parent = state.issues.get(issue.parent_key or "")
        if parent is None or (flavour == "dc" and not issue_type(issue.issue_type).subtask):
            return None  # DC links epics through the Epic Link field, not `parent`
        return _short_issue(state, parent, flavour)
    if name == "subtasks":
        return [_short_issue(state, sub, flavour) for sub in state.subtasks_of(issue.key)]
    if name == "fixVersions":
        return [
            version_json(state, state.versions[v], flavour)
            for v in issue.fix_versions
            if v in state.versions
        ]
    if name in {"created", "updated"}:
        return issue.created if name == "created" else issue.updated
    if name in {STORY_POINTS_FIELD, STORY_ESTIMATE_FIELD}:
        return issue.story_points
    if name == SPRINT_FIELD:
        sprint = state.sprints.get(issue.sprint_id or -1)
        if sprint is None:
            return None
        return [
            {
                "id": sprint.id,
                "name": sprint.name,
                "state": sprint.state,
                "boardId": sprint.board_id,
                "goal": sprint.goal,
            }
        ]
    if name == EPIC_LINK_FIELD:
        parent = state.issues.get(issue.parent_key or "")
        if parent is not None and parent.issue_type == "Epic":
            return parent.key
        return None
    if name in _MORE_FIELDS:
        return _MORE_FIELDS[name](state, issue, flavour)
    raise KeyError(name)


def _resolution(state: SandboxState, issue: Issue, flavour: str) -> object:
    found = next((r for r in RESOLUTIONS if r.name == issue.resolution), None)
    if found is None:
        return None
    return {
        "self": f"{api_base(state, flavour)}/resolution/{found.id}",
        "id": found.id,
        "name": found.name,
        "description": "",
    }


def link_type_json(state: SandboxState, ident: str, flavour: str) -> dict[str, Any]:
    _, name, inward, outward = next(t for t in LINK_TYPES if t[0] == ident)
    return {
        "id": ident,
        "name": name,
        "inward": inward,
        "outward": outward,
        "self": f"{api_base(state, flavour)}/issueLinkType/{ident}",
    }


def _issue_links(state: SandboxState, issue: Issue, flavour: str) -> object:
    links = []
    for link in issue.links:
        direction = "outwardIssue" if "outwardIssue" in link else "inwardIssue"
        other = state.issues.get(str(link[direction]))
        if other is None:
            continue
        links.append(
            {
                "id": str(link["id"]),
                "type": link_type_json(state, str(link["type"]), flavour),
                direction: _short_issue(state, other, flavour),
            }
        )
    return links


def attachment_json(state: SandboxState, item: dict[str, Any], flavour: str) -> dict[str, Any]:
    """An attachment's metadata (`AttachmentMetadata`), without its bytes."""
    base = api_base(state, flavour)
    author = user_json(state, state.users.get(str(item["author"])), flavour)
    answer = {
        "self": f"{base}/attachment/{item['id']}",
        "id": item["id"],
        "filename": item["filename"],
        "created": item["created"],
        "size": item["size"],
        "mimeType": item["mimeType"],
        "content": f"{base}/attachment/content/{item['id']}",
    }
    if author is not None:
        answer["author"] = author
    return answer


def _no_time(state: SandboxState, issue: Issue, flavour: str) -> object:
    return sum(int(w["timeSpentSeconds"]) for w in issue.worklogs) or None


_MORE_FIELDS = {
    EPIC_NAME_FIELD: lambda state, issue, flavour: issue.epic_name,
    "resolution": _resolution,
    "resolutiondate": lambda state, issue, flavour: issue.updated if issue.resolution else None,
    "duedate": lambda state, issue, flavour: issue.duedate,
    "components": lambda state, issue, flavour: [
        component_ref(state, state.components[c], flavour)
        for c in issue.components
        if c in state.components
    ],
    "versions": lambda state, issue, flavour: [
        version_json(state, state.versions[v], flavour)
        for v in issue.affects_versions
        if v in state.versions
    ],
    "issuelinks": _issue_links,
    "watches": lambda state, issue, flavour: {
        "self": f"{api_base(state, flavour)}/issue/{issue.key}/watchers",
        "watchCount": len(issue.watchers),
        "isWatching": False,
    },
    "votes": lambda state, issue, flavour: {
        "self": f"{api_base(state, flavour)}/issue/{issue.key}/votes",
        "votes": 0,
        "hasVoted": False,
    },
    "worklog": lambda state, issue, flavour: {
        "startAt": 0,
        "maxResults": 20,
        "total": len(issue.worklogs),
        "worklogs": [],  # GET .../worklog lists them
    },
    "timetracking": lambda state, issue, flavour: {},
    "timespent": _no_time,
    "aggregatetimespent": _no_time,
    "timeoriginalestimate": lambda state, issue, flavour: None,
    "timeestimate": lambda state, issue, flavour: None,
    "aggregatetimeoriginalestimate": lambda state, issue, flavour: None,
    "aggregatetimeestimate": lambda state, issue, flavour: None,
    "progress": lambda state, issue, flavour: {"progress": 0, "total": 0},
    "aggregateprogress": lambda state, issue, flavour: {"progress": 0, "total": 0},
    "workratio": lambda state, issue, flavour: -1,
    "statuscategorychangedate": lambda state, issue, flavour: issue.updated,
    "lastViewed": lambda state, issue, flavour: None,
    "security": lambda state, issue, flavour: None,
    "attachment": lambda state, issue, flavour: [
        attachment_json(state, item, flavour) for item in issue.attachments
    ],
}


def select_fields(requested: Iterable[str] | None, default: Iterable[str]) -> list[str]:
    """Apply Jira's `fields` grammar: names, `*all`, `*navigable`, `-name` exclusions."""
    wanted: list[str] = []
    excluded: set[str] = set()
    pieces = [p.strip() for item in (requested or []) for p in item.split(",") if p.strip()]
    if not pieces:
        pieces = list(default)
    for piece in pieces:
        if piece.startswith("-"):
            excluded.add(piece[1:])
        elif piece in {"*all", "*navigable"}:
            wanted.extend(ALL_FIELDS)
        elif piece in ALL_FIELDS:
            wanted.append(piece)
        # Unknown names (and `id`, `key`) add nothing: Jira ignores them silently.
    if excluded and not wanted:
        wanted = list(ALL_FIELDS)
    return [name for name in dict.fromkeys(wanted) if name not in excluded]


def issue_json(
    state: SandboxState,
    issue: Issue,
    flavour: str,
    fields: Iterable[str] = ALL_FIELDS,
    properties: Iterable[str] | None = None,
) -> dict[str, Any]:
    """An issue; `properties` (keys, or `*all`) adds its entity properties, as the
    `properties` parameter of GET issue and of search does."""
    body: dict[str, Any] = {
        "expand": _ISSUE_EXPAND,
        "id": str(issue.id),
        "self": f"{api_base(state, flavour)}/issue/{issue.id}",
        "key": issue.key,
        "fields": {name: field_value(state, issue, name, flavour) for name in fields},
    }
    if properties is not None:
        names = set(properties)
        body["properties"] = {
            k: v for k, v in issue.properties.items() if k in names or "*all" in names
        }
    return body


def property_names(requested: Iterable[str]) -> list[str] | None:
    """The keys a `properties=` query asks for (comma-separated, repeatable), None if absent."""
    names = [n.strip() for item in requested for n in str(item).split(",") if n.strip()]
    return names or None


#: The type of Jira Software's rank fields; `PUT /issue/rank` takes only such a field.
RANK_PLUGIN = "com.pyxis.greenhopper.jira:gh-lexo-rank"


def field_catalog(flavour: str) -> list[dict[str, Any]]:
    """`GET /field`: system fields plus the custom fields the adapter discovers by name."""

    def system(field_id: str, name: str, kind: str, clause: str | None = None) -> dict[str, Any]:
        return {
            "id": field_id,
            "key": field_id,
            "name": name,
            "custom": False,
            "orderable": True,
            "navigable": True,
            "searchable": True,
            "clauseNames": [clause or field_id],
            "schema": {"type": kind, "system": field_id},
        }

    def custom(field_id: str, name: str, kind: str, plugin: str, clause: str) -> dict[str, Any]:
        number = int(field_id.removeprefix("customfield_"))
        return {
            "id": field_id,
            "key": field_id,
            "name": name,
            "custom": True,
            "orderable": True,
            "navigable": True,
            "searchable": True,
            "clauseNames": [f"cf[{number}]", clause],
            "schema": {"type": kind, "custom": plugin, "customId": number},
        }

    return [
        system("summary", "Summary", "string"),
        system("issuetype", "Issue Type", "issuetype", "type"),
        system("project", "Project", "project"),
        system("status", "Status", "status"),
        system("priority", "Priority", "priority"),
        system("labels", "Labels", "array"),
        system("assignee", "Assignee", "user"),
        system("reporter", "Reporter", "user"),
        system("creator", "Creator", "user"),
        system("description", "Description", "string"),
        system("environment", "Environment", "string"),
        system("parent", "Parent", "issuelink"),
        system("subtasks", "Sub-tasks", "array"),
        system("fixVersions", "Fix versions", "array", "fixVersion"),
        system("created", "Created", "datetime"),
        system("updated", "Updated", "datetime"),
        custom(
            STORY_POINTS_FIELD,
            "Story Points",
            "number",
            "com.atlassian.jira.plugin.system.customfieldtypes:float",
            "Story Points",
        ),
        custom(
            SPRINT_FIELD,
            "Sprint",
            "array",
            "com.pyxis.greenhopper.jira:gh-sprint",
            "Sprint",
        ),
        custom(
            EPIC_LINK_FIELD,
            "Epic Link",
            "any",
            "com.pyxis.greenhopper.jira:gh-epic-link",
            "Epic Link",
        ),
        custom(
            EPIC_NAME_FIELD,
            "Epic Name",
            "string",
            "com.pyxis.greenhopper.jira:gh-epic-label",
            "Epic Name",
        ),
        custom(
            TEAM_FIELD,
            "Team",
            "string",
            "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
            "Team",
        ),
        custom(
            IMPACT_FIELD,
            "Customer impact",
            "number",
            "com.atlassian.jira.plugin.system.customfieldtypes:float",
            "Customer impact",
        ),
        custom(
            STORY_ESTIMATE_FIELD,
            "Story point estimate",
            "number",
            "com.pyxis.greenhopper.jira:jsw-story-points",
            "Story point estimate",
        ),
        custom(RANK_FIELD, "Rank", "any", RANK_PLUGIN, "Rank"),
        *(system(field_id, name, kind) for field_id, name, kind in _MORE_SYSTEM_FIELDS),
    ]


_MORE_SYSTEM_FIELDS = (
    ("resolution", "Resolution", "resolution"),
    ("resolutiondate", "Resolved", "datetime"),
    ("duedate", "Due date", "date"),
    ("components", "Components", "array"),
    ("versions", "Affects versions", "array"),
    ("issuelinks", "Linked Issues", "array"),
    ("watches", "Watchers", "watches"),
    ("votes", "Votes", "votes"),
    ("worklog", "Log Work", "array"),
    ("timetracking", "Time tracking", "timetracking"),
    ("timespent", "Time Spent", "number"),
    ("timeoriginalestimate", "Original estimate", "number"),
    ("timeestimate", "Remaining Estimate", "number"),
    ("aggregatetimespent", "Σ Time Spent", "number"),
    ("aggregatetimeoriginalestimate", "Σ Original Estimate", "number"),
    ("aggregatetimeestimate", "Σ Remaining Estimate", "number"),
    ("progress", "Progress", "progress"),
    ("aggregateprogress", "Σ Progress", "progress"),
    ("workratio", "Work Ratio", "number"),
    ("statuscategorychangedate", "Status Category Changed", "datetime"),
    ("lastViewed", "Last Viewed", "datetime"),
    ("security", "Security Level", "securitylevel"),
    ("attachment", "Attachment", "array"),
)


def bulk_operation_error(status_code: int, messages: Iterable[str]) -> JSONResponse:
    """The error body of Jira Cloud's bulk operations (`BulkOperationErrorResponse`):
    `{"errors": [{"message": ...}]}`, as the spec declares and its examples show, not the
    `errorMessages` of other endpoints."""
    return JSONResponse(bulk_operation_body(messages), status_code=status_code)


def bulk_operation_body(messages: Iterable[str]) -> dict[str, Any]:
    return {"errors": [{"message": message} for message in messages]}
