"""Setting issue fields from `fields` and `update` the way Jira does, with Jira's messages.

Each setter changes a draft issue and returns an error message (or None); callers apply
everything to a copy and commit only when no field failed, so a 400 never half-applies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from jiragate.jira.sandbox.state import (
    EPIC_LINK_FIELD,
    EPIC_NAME_FIELD,
    IMPACT_FIELD,
    SPRINT_FIELD,
    STORY_ESTIMATE_FIELD,
    STORY_POINTS_FIELD,
    TEAM_FIELD,
    Issue,
    SandboxState,
    adf_text,
    find_issue_type,
    find_priority,
    find_resolution,
    issue_type,
)
from jiragate.jira.spec import adf_problem

Setter = Callable[[SandboxState, Issue, Any, str], str | None]

NOT_SETTABLE = "Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
MAX_SUMMARY = 255


def _ref(value: object) -> tuple[str | None, str | None]:
    """(key-or-name, id) of a `{"key"|"name": ..., "id": ...}` reference."""
    if not isinstance(value, Mapping):
        return None, None
    named = value.get("key", value.get("name"))
    ident = value.get("id")
    return (
        str(named) if named is not None else None,
        str(ident) if ident is not None else None,
    )


def set_summary(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "You must specify a summary of the issue."
    if "\n" in value or "\r" in value:
        return "The summary is invalid because it contains newline characters."
    if len(value) > MAX_SUMMARY:
        return f"Summary must be less than {MAX_SUMMARY} characters."
    issue.summary = value
    return None


def set_priority(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    name, ident = _ref(value)
    found = find_priority(name or ident or "", state.site.priorities)
    if found is None:
        return f"The priority selected is invalid: {name or ident or value!r}."
    issue.priority = found.name
    return None


def set_labels(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "Labels must be a list of strings."
    problem = _label_problem(value)
    if problem:
        return problem
    issue.labels = list(dict.fromkeys(value))
    return None


def _label_problem(labels: list[str]) -> str | None:
    for label in labels:
        if not label or any(ch.isspace() for ch in label):
            return f"The label '{label}' contains spaces which is invalid."
        if len(label) > MAX_SUMMARY:
            return f"The label '{label[:20]}...' is longer than {MAX_SUMMARY} characters."
    return None


def resolve_user(
    state: SandboxState, issue: Issue, value: Any, flavour: str
) -> tuple[str | None, str | None]:
    """(accountId or None, error). Cloud identifies users by accountId, Data Center by name."""
    if value is None:
        return None, None
    if not isinstance(value, Mapping):
        return None, "A user must be given as an object."
    # A Cloud site's v2 identifies users by accountId too (usernames are gone on Cloud).
    if flavour == "cloud" or (state.profile == "cloud" and "accountId" in value):
        if "accountId" not in value:
            return None, (
                "'accountId' must be the only user identifying query parameter in GDPR strict mode."
            )
        ident = value["accountId"]
        if ident is None:
            return None, None
        if ident == "-1":
            return state.projects[issue.project_key].lead, None
        user = state.find_user(account_id=str(ident))
    else:
        name = value.get("name")
        if name is None:
            return None, None
        if name == "-1":
            return state.projects[issue.project_key].lead, None
        user = state.find_user(name=str(name))
        ident = name
    if user is None:
        return None, f"User '{ident}' does not exist."
    return user.account_id, None


def set_assignee(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    account, error = resolve_user(state, issue, value, flavour)
    if error:
        return error
    issue.assignee = account
    return None


def set_reporter(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    account, error = resolve_user(state, issue, value, flavour)
    if error:
        return error
    if account is None:
        return "Reporter is required."
    issue.reporter = account
    return None


def rich_text_value(value: Any, flavour: str) -> tuple[dict[str, Any] | None, str | None]:
    if value is None:
        return None, None
    if flavour == "dc":
        if not isinstance(value, str):
            return None, "Data Center expects plain text here."
        return adf_text(value), None
    problem = adf_problem(value)
    if problem:
        return None, f"Operation value must be an Atlassian Document: {problem}."
    return dict(value), None


def set_description(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    document, error = rich_text_value(value, flavour)
    if error:
        return error
    issue.description = document
    return None


def set_environment(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    document, error = rich_text_value(value, flavour)
    if error:
        return error
    issue.environment = document
    return None


def set_parent(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    if value is None:
        if issue_type(issue.issue_type).subtask:
            return "A sub-task must have a parent."
        issue.parent_key = None
        return None
    key, ident = _ref(value)
    parent = state.find_issue(key or ident or "")
    if parent is None:
        return f"Could not find issue by id or key: {key or ident}."
    return link_parent(issue, parent.key, parent.issue_type)


def link_parent(issue: Issue, parent_key: str, parent_type: str) -> str | None:
    child = issue_type(issue.issue_type)
    if parent_key == issue.key:
        return "An issue cannot be its own parent."
    if child.subtask:
        if issue_type(parent_type).subtask:
            return "A sub-task cannot be the parent of another sub-task."
    elif parent_type != "Epic" or child.name == "Epic":
        return "Given parent work item does not belong to appropriate hierarchy."
    issue.parent_key = parent_key
    return None


def set_epic_link(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    if value is None:
        issue.parent_key = None
        return None
    epic = state.find_issue(str(value))
    if epic is None or epic.issue_type != "Epic":
        return f"Epic '{value}' does not exist or is not an epic."
    return link_parent(issue, epic.key, epic.issue_type)


def set_story_points(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    if value is None:
        issue.story_points = None
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "Operation value must be a number."
    issue.story_points = float(value)
    return None


def set_sprint(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    if value is None:
        issue.sprint_id = None
        return None
    ident = value.get("id") if isinstance(value, Mapping) else value
    if isinstance(ident, bool) or not isinstance(ident, int) or ident not in state.sprints:
        return f"Sprint with id {ident!r} does not exist."
    if state.sprints[ident].state == "closed":
        return "Issue can be assigned only to active or future sprints."
    issue.sprint_id = ident
    return None


def resolve_versions(state: SandboxState, issue: Issue, value: Any) -> tuple[list[int], str | None]:
    items = value if isinstance(value, list) else [value]
    project_id = state.projects[issue.project_key].id
    found: list[int] = []
    for item in items:
        name, ident = _ref(item)
        match = next(
            (
                v
                for v in state.versions.values()
                if v.project_id == project_id and (str(v.id) == ident or v.name == name)
            ),
            None,
        )
        if match is None:
            return [], f"Version {name or ident!r} is not valid for project {issue.project_key}."
        found.append(match.id)
    return found, None


def set_fix_versions(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    found, error = resolve_versions(state, issue, value or [])
    if error:
        return error
    issue.fix_versions = found
    return None


def set_epic_name(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    if value is None:
        issue.epic_name = None
        return None
    if not isinstance(value, str) or not value.strip():
        return "Epic Name must be a non-empty string."
    issue.epic_name = value
    return None


def set_resolution(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    """`{"name": "Done"}` or `{"id": "10000"}`; null clears it."""
    if value is None:
        issue.resolution = None
        return None
    name, ident = _ref(value)
    found = find_resolution(name or ident or "")
    if found is None:
        return f"The resolution {name or ident or value!r} is not valid."
    issue.resolution = found.name
    return None


def set_duedate(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    if value is None:
        issue.duedate = None
        return None
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return "Error parsing date string: " + str(value)
    if len(str(value)) != 10:
        return "Error parsing date string: " + str(value)
    issue.duedate = str(value)
    return None


def set_components(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
    """Components of the issue's own project, by name or id (as Jira takes either)."""
    known = state.components_of(issue.project_key)
    ids: list[int] = []
    for item in value if isinstance(value, list) else [value]:
        name, ident = _ref(item)
        match = next((c for c in known if c.name == name or str(c.id) == str(ident)), None)
        if match is None:
            return f"Component name '{name or ident}' is not valid."
        ids.append(match.id)
    issue.components = list(dict.fromkeys(ids))
    return None


def _custom_setter(kind: type) -> Setter:
    def setter(state: SandboxState, issue: Issue, value: Any, flavour: str) -> str | None:
        field_id = TEAM_FIELD if kind is str else IMPACT_FIELD
        if value is None:
            issue.custom_fields.pop(field_id, None)
            return None
        if kind is str and not isinstance(value, str):
            return "Operation value must be a string."
        if kind is float and (isinstance(value, bool) or not isinstance(value, int | float)):
            return "Operation value must be a number."
        issue.custom_fields[field_id] = value
        return None

    return setter


SETTERS: dict[str, Setter] = {
    "summary": set_summary,
    "priority": set_priority,
    "labels": set_labels,
    "assignee": set_assignee,
    "reporter": set_reporter,
    "description": set_description,
    "environment": set_environment,
    "parent": set_parent,
    "fixVersions": set_fix_versions,
    STORY_POINTS_FIELD: set_story_points,
    # One estimate per issue: either field sets it (a project has the ones on its screens).
    STORY_ESTIMATE_FIELD: set_story_points,
    SPRINT_FIELD: set_sprint,
    EPIC_LINK_FIELD: set_epic_link,
    EPIC_NAME_FIELD: set_epic_name,
    "resolution": set_resolution,
    "duedate": set_duedate,
    "components": set_components,
    TEAM_FIELD: _custom_setter(str),
    IMPACT_FIELD: _custom_setter(float),
}
STORY_FIELDS = frozenset({STORY_POINTS_FIELD, STORY_ESTIMATE_FIELD})
# Set only when an issue is created.
CREATE_ONLY = {"project", "issuetype"}


def apply_fields(
    state: SandboxState, issue: Issue, fields: Mapping[str, Any], flavour: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, value in fields.items():
        if name in CREATE_ONLY:
            continue
        setter = SETTERS.get(name)
        off_screen = name in STORY_FIELDS and name not in state.site.story_fields.get(
            issue.project_key, ()
        )
        if setter is None or off_screen or (name == EPIC_LINK_FIELD and flavour == "cloud"):
            errors[name] = NOT_SETTABLE.format(name=name)
            continue
        error = setter(state, issue, value, flavour)
        if error:
            errors[name] = error
    return errors


def apply_updates(
    state: SandboxState, issue: Issue, update: Mapping[str, Any], flavour: str
) -> dict[str, str]:
    """`update: {field: [{add|remove|set: value}, ...]}` — labels and fixVersions take
    add/remove/set, other fields only set."""
    errors: dict[str, str] = {}
    for name, operations in update.items():
        for operation in operations if isinstance(operations, list) else []:
            verbs = [verb for verb in ("set", "add", "remove") if verb in operation]
            if len(verbs) != 1:
                errors[name] = "Each operation must have exactly one of set, add or remove."
                break
            verb = verbs[0]
            error = _apply_operation(state, issue, name, verb, operation[verb], flavour)
            if error:
                errors[name] = error
                break
    return errors


def _apply_operation(
    state: SandboxState, issue: Issue, name: str, verb: str, value: Any, flavour: str
) -> str | None:
    if name == "labels" and verb != "set":
        if not isinstance(value, str):
            return "A label must be a string."
        problem = _label_problem([value])
        if problem:
            return problem
        if verb == "add" and value not in issue.labels:
            issue.labels.append(value)
        if verb == "remove":
            issue.labels = [label for label in issue.labels if label != value]
        return None
    if name == "fixVersions" and verb != "set":
        found, error = resolve_versions(state, issue, value)
        if error:
            return error
        if verb == "add":
            issue.fix_versions = list(dict.fromkeys([*issue.fix_versions, *found]))
        else:
            issue.fix_versions = [v for v in issue.fix_versions if v not in found]
        return None
    if verb != "set":
        return f"Field '{name}' does not support the '{verb}' operation."
    errors = apply_fields(state, issue, {name: value}, flavour)
    return errors.get(name)


def create_errors(
    state: SandboxState, fields: Any, flavour: str
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Check the create-only parts; (normalised project/type/priority, errors)."""
    if not isinstance(fields, Mapping):
        return None, {"fields": "Fields are required to create an issue."}
    errors: dict[str, str] = {}
    key, ident = _ref(fields.get("project"))
    project = state.find_project(key or ident or "") if (key or ident) else None
    if project is None:
        errors["project"] = "Specify a valid project ID or key"
    name, type_id = _ref(fields.get("issuetype"))
    kind = (
        find_issue_type(name or type_id or "", state.site.issue_types)
        if (name or type_id)
        else None
    )
    if "issuetype" not in fields:
        errors["issuetype"] = "Specify an issue type"
    elif kind is None:
        errors["issuetype"] = "The issue type selected is invalid."
    if "summary" not in fields:
        errors["summary"] = "You must specify a summary of the issue."
    epic_name = fields.get(EPIC_NAME_FIELD)
    named = isinstance(epic_name, str) and bool(epic_name.strip())
    if kind is not None and kind.name == "Epic" and state.site.epic_name_required and not named:
        errors[EPIC_NAME_FIELD] = "Epic Name is required."
    if kind is not None and kind.subtask and not fields.get("parent"):
        errors["parent"] = "Issue type is a sub-task but parent issue key or id not specified."
    if errors or project is None or kind is None:
        return None, errors
    return {"project": project.key, "issuetype": kind.name}, errors
