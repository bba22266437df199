"""The proxy's rows for versions, components, sprints, ranking and epic membership: the
endpoints whose path names a bare id (`/version/10001`, `/sprint/7`) rather than a project.

The action's project is the one Jira places the id in, asked through the gateway
(`Gateway.locate`) before the action is named, never the body's: a body naming another
project is refused, and an id of another project makes an action in THAT project, so that
project's rules and the agent's scope apply. Jira answering 404 is answered as Jira would
(nothing recorded, nothing run); any other error of Jira's fails closed (502, nothing run).
The handlers check the ids against the project again before they write.

One endpoint can be several catalog actions, chosen by what the body changes:
`PUT /version/{id}` releases (`released: true`), archives (`archived: true`) or updates it,
`PUT`/`POST /sprint/{id}` starts (`state: active`), closes (`state: closed`) or updates it. A
body that asks for two of them (release and rename) is refused: either action alone would
silently drop the rest of the request. A flag that already has the value sent (`released:
true` on a released version) changes nothing in Jira and chooses nothing here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jiragate.errors import JiraLookupError
from jiragate.gateway import Gateway
from jiragate.gateway.records import Located, OwnedKind
from jiragate.proxy.mapping import (
    Chosen,
    Incoming,
    MappingError,
    Row,
    _data_answer,
    _known,
    _no_query,
    _object,
    component_lead,
    edit_issue,
)

# --------------------------------------------------------------------------- shared


def _ids(incoming: Incoming) -> list[str]:
    """The path's `{id}` segments in order (`/version/1/mergeto/2` -> ["1", "2"])."""
    names = incoming.rest.template.split("/")
    return [v for n, v in zip(names, incoming.rest.path.split("/"), strict=True) if n == "{id}"]


async def _located(gateway: Gateway, kind: OwnedKind, ident: str) -> Located:
    found = await gateway.locate(kind, ident)
    if found is None:
        raise MappingError(f"Jira has no {kind} with id {ident}", status=404)
    if found.project_key is None:
        raise MappingError(
            f"Jira places {kind} {ident} in no project, so the Jiragate proxy cannot say "
            "which project the action is about"
        )
    return found


def _same_project(body: Mapping[str, Any], found: Located, thing: str) -> None:
    """A body may repeat the project it reads back (`project`, `projectId`); one naming
    another project is refused: the proxy never moves a `thing` between projects."""
    for name, have in (("project", found.project_key), ("projectId", found.project_id)):
        if name in body and str(body[name]) != str(have):
            raise MappingError(
                f"the body's {name} ({body[name]}) is not the {thing}'s project ({have}); the "
                f"Jiragate proxy does not move a {thing} to another project"
            )


def _only(
    body: Mapping[str, Any], intent: str, carried: Sequence[str], ignored: Sequence[str]
) -> None:
    """Refuse a body that asks for more than `intent` (two actions in one request)."""
    extra = sorted(set(body) - {*carried, *ignored})
    if extra:
        raise MappingError(
            f"this request {intent} and also sets {', '.join(extra)}: those are two actions; "
            "send them as separate requests"
        )


def _picked(body: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {name: body[name] for name in names if name in body}


# --------------------------------------------------------------------------- versions

_VERSION_EDITS = ("name", "description", "startDate", "releaseDate")
_VERSION_PROJECT = ("project", "projectId")


async def _put_version(incoming: Incoming, gateway: Gateway) -> Chosen:
    _no_query(incoming)
    body = _object(incoming.body, "the body")
    _known(body, (*_VERSION_EDITS, "released", "archived", *_VERSION_PROJECT), "the body")
    ident = _ids(incoming)[0]
    found = await _located(gateway, "version", ident)
    _same_project(body, found, "version")
    details: dict[str, Any] = {"projectKey": found.project_key, "versionId": ident}
    # A flag that already has the value sent changes nothing: no intent.
    changed = {
        flag
        for flag in ("released", "archived")
        if flag in body and body[flag] != found.item.get(flag, False)
    }
    ignored = (*_VERSION_PROJECT, *(set(("released", "archived")) - changed))
    for flag in changed:
        if body[flag] is not True:
            raise MappingError(
                f"{flag}: {body[flag]!r}: the Jiragate proxy releases and archives versions; "
                f"the catalog has no action that undoes it"
            )
    if changed == {"released"}:
        _only(body, "releases the version", ("released", "releaseDate"), ignored)
        return Chosen("jira_release_version", {**details, **_picked(body, ("releaseDate",))})
    if changed == {"archived"}:
        _only(body, "archives the version", ("archived",), ignored)
        return Chosen("jira_archive_version", details)
    if changed:
        raise MappingError(
            "this request releases and archives the version: those are two actions "
            "(jira_release_version, jira_archive_version); send them as separate requests"
        )
    return Chosen("jira_update_release", {**details, **_picked(body, _VERSION_EDITS)})


_MOVES = ("moveFixIssuesTo", "moveAffectedIssuesTo")


async def _deleted_version(
    gateway: Gateway, ident: str, moves: Mapping[str, Any]
) -> dict[str, Any]:
    """jira_delete_version's details; the versions the issues move to must be of the same
    project (as Jira requires), located like the version itself."""
    found = await _located(gateway, "version", ident)
    for name, target in moves.items():
        into = await _located(gateway, "version", str(target))
        if into.project_key != found.project_key:
            raise MappingError(
                f"{name}: version {target} is in project {into.project_key}, not in "
                f"{found.project_key} with version {ident}"
            )
    return {"projectKey": found.project_key, "versionId": ident, **moves}


async def _delete_version(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    _no_query(incoming, _MOVES)
    moves = {key: value for key, value in incoming.query if key in _MOVES}
    return await _deleted_version(gateway, _ids(incoming)[0], moves)


async def _remove_and_swap(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    """`POST /version/{id}/removeAndSwap` (Cloud's delete): the same action as DELETE. Custom
    field replacements are not carried: the action does not do them."""
    _no_query(incoming)
    body = _object(incoming.body or {}, "the body")
    _known(body, (*_MOVES, "customFieldReplacementList"), "the body")
    if body.get("customFieldReplacementList"):
        raise MappingError(
            "customFieldReplacementList: the Jiragate proxy deletes a version moving its fix "
            "and affected issues only (leave the list out or empty)"
        )
    moves = {name: body[name] for name in _MOVES if body.get(name) is not None}
    for name, value in moves.items():
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise MappingError(f"{name} must be a version id")
    return await _deleted_version(gateway, _ids(incoming)[0], moves)


async def _merge_versions(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    _no_query(incoming)
    ident, target = _ids(incoming)
    found = await _located(gateway, "version", ident)
    into = await _located(gateway, "version", target)
    if into.project_key != found.project_key:
        raise MappingError(
            f"version {ident} is in project {found.project_key} and version {target} in "
            f"{into.project_key}: a merge stays inside one project"
        )
    return {"projectKey": found.project_key, "versionId": ident, "targetVersionId": target}


# --------------------------------------------------------------------------- components

_COMPONENT_EDITS = ("name", "description", "assigneeType")


async def _put_component(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    _no_query(incoming)
    body = _object(incoming.body, "the body")
    _known(body, (*_COMPONENT_EDITS, "leadAccountId", "leadUserName", "project"), "the body")
    ident = _ids(incoming)[0]
    found = await _located(gateway, "component", ident)
    _same_project(body, found, "component")
    details = {"projectKey": found.project_key, "componentId": ident}
    return component_lead(body, {**details, **_picked(body, _COMPONENT_EDITS)})


async def _delete_component(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    _no_query(incoming, ("moveIssuesTo",))
    ident = _ids(incoming)[0]
    found = await _located(gateway, "component", ident)
    moved = {key: value for key, value in incoming.query if key == "moveIssuesTo"}
    return {"projectKey": found.project_key, "componentId": ident, **moved}


# --------------------------------------------------------------------------- sprints

_SPRINT_EDITS = ("name", "goal", "startDate", "endDate")


async def _create_sprint(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    _no_query(incoming)
    body = _object(incoming.body, "the body")
    _known(body, (*_SPRINT_EDITS, "originBoardId"), "the body")
    board = body.get("originBoardId")
    if not isinstance(board, int) or isinstance(board, bool):
        raise MappingError("originBoardId must be the board's id (a number)")
    found = await _located(gateway, "board", str(board))
    return {"projectKey": found.project_key, "boardId": board, **_picked(body, _SPRINT_EDITS)}


async def _change_sprint(incoming: Incoming, gateway: Gateway) -> Chosen:
    """`POST` (Jira's partial update) and `PUT` (its full update, which pycontribs sends
    with only the fields it changes) run as the catalog's actions, which change only the
    fields the body names: a field the body leaves out is kept, never cleared."""
    _no_query(incoming)
    body = _object(incoming.body, "the body")
    _known(body, (*_SPRINT_EDITS, "state", "originBoardId"), "the body")
    ident = _ids(incoming)[0]
    found = await _located(gateway, "sprint", ident)
    if "originBoardId" in body and body["originBoardId"] != found.item.get("originBoardId"):
        raise MappingError(
            f"originBoardId {body['originBoardId']} is not sprint {ident}'s board "
            f"({found.item.get('originBoardId')}); the Jiragate proxy does not move sprints"
        )
    details: dict[str, Any] = {"projectKey": found.project_key, "sprintId": int(ident)}
    now, wanted = found.item.get("state"), body.get("state", found.item.get("state"))
    ignored = ("originBoardId", "state")
    if wanted == now:
        return Chosen("jira_update_sprint", {**details, **_picked(body, _SPRINT_EDITS)})
    if (now, wanted) == ("future", "active"):
        _only(body, "starts the sprint", ("goal", "startDate", "endDate"), ignored)
        # Jira starts a sprint with the dates it already has when the body names none.
        dates = _picked(found.item, ("startDate", "endDate"))
        return Chosen("jira_start_sprint", {**details, **dates, **_picked(body, _SPRINT_EDITS)})
    if (now, wanted) == ("active", "closed"):
        _only(body, "closes the sprint", (), ignored)
        return Chosen("jira_close_sprint", details)
    raise MappingError(
        f"sprint {ident} is {now}; Jira moves a sprint from future to active to closed, "
        f"not to {wanted!r}"
    )


async def _delete_sprint(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    _no_query(incoming)
    ident = _ids(incoming)[0]
    found = await _located(gateway, "sprint", ident)
    return {"projectKey": found.project_key, "sprintId": int(ident)}


async def _rank(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    _no_query(incoming)
    body = _object(incoming.body, "the body")
    anchors = ("rankBeforeIssue", "rankAfterIssue")
    _known(body, ("issues", *anchors, "rankCustomFieldId"), "the body")
    # The action ranks by the site's default Rank field; pycontribs sends the field it found
    # named Rank (null when it found none). Naming that field is the same ranking, so it is
    # left out; another field would be another ordering, which the action does not do.
    given = body.get("rankCustomFieldId")
    if given is not None:
        default = await gateway.rank_field()
        if isinstance(given, bool) or not isinstance(given, int) or given != default:
            site = f"the site's is {default}" if default is not None else "the site has none"
            raise MappingError(
                f"rankCustomFieldId {given!r}: the Jiragate proxy ranks by the default Rank "
                f"field only ({site}; leave rankCustomFieldId out or null)"
            )
    return {"issueKeys": body.get("issues"), **_picked(body, anchors)}


# --------------------------------------------------------------------------- epics


def _epic_issues(incoming: Incoming) -> list[Any]:
    _no_query(incoming)
    body = _object(incoming.body, "the body")
    _known(body, ("issues",), "the body")
    issues = body.get("issues")
    if not isinstance(issues, list) or not issues:
        raise MappingError("issues must be a non-empty list of issue keys")
    return issues


async def _link_to_epic(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    # By id (`/epic/10005/issue`) the action cannot name the epic: refused by issue_key().
    return {"epicKey": incoming.issue_key(), "issueKeys": _epic_issues(incoming)}


async def _unlink_from_epic(incoming: Incoming, gateway: Gateway) -> dict[str, Any]:
    """`/epic/none/issue` names no epic, the catalog's action does (a rule may be about it):
    the one epic the issues are under now, read from Jira."""
    keys = _epic_issues(incoming)
    if not all(isinstance(key, str) for key in keys):
        raise MappingError("issues must be issue keys (ENG-42)")
    return {"epicKey": await _current_epic(gateway, keys), "issueKeys": keys}


def _epic_link_field(gateway: Gateway) -> str | None:
    """Where Jira keeps an issue's epic: `parent` on Cloud, the Epic Link custom field on
    Data Center (jira.epic_link_field)."""
    jira = gateway.settings.jira
    return "parent" if jira.flavour == "cloud" else jira.epic_link_field


async def _current_epic(gateway: Gateway, keys: Sequence[str]) -> str:
    """The one epic all `keys` are under; refused when one is under none or they are under
    several (one action is about one epic), 404 when Jira has no such issue."""
    field = _epic_link_field(gateway)
    if field is None:
        raise MappingError(
            "taking issues out of their epic through the proxy reads their Epic Link field: "
            "set jira.epic_link_field"
        )
    found = await gateway.get_issues(keys, [field])
    missing = [key for key, issue in found.items() if issue is None]
    if missing:
        raise MappingError(f"Jira has no issue {', '.join(missing)}", status=404)
    epics = {
        key: _epic_key((issue or {}).get("fields", {}).get(field)) for key, issue in found.items()
    }
    loose = sorted(key for key, epic in epics.items() if epic is None)
    if loose:
        raise MappingError(f"{', '.join(loose)} is under no epic: there is nothing to take out")
    under = sorted({str(epic) for epic in epics.values()})
    if len(under) > 1:
        raise MappingError(
            f"these issues are under {len(under)} epics ({', '.join(under)}): take them out "
            "one epic per request"
        )
    return under[0]


# --------------------------------------------------------------------------- issue edits


async def _put_issue(incoming: Incoming, gateway: Gateway) -> dict[str, Any] | Chosen:
    """`PUT /issue/{key}` is a field edit, except that setting the project's story points
    field is jira_update_story_points, the Epic Link field (Data Center) jira_link_to_epic /
    jira_unlink_from_epic and the Epic Name field jira_update_epic, as on /v1/actions (where
    jira_update_fields refuses them): a rule on any of them governs the proxy too. One of
    them in a request that also edits other fields is refused (two actions)."""
    body = incoming.body
    fields = body.get("fields") if isinstance(body, Mapping) else None
    custom = [name for name in fields or () if name.startswith("customfield_")]
    if not custom:
        return await edit_issue(incoming, gateway)
    key = incoming.issue_key()
    points = await _story_points_field(gateway, key.rsplit("-", 1)[0])
    epic_link = gateway.settings.jira.epic_link_field
    epic_name = await gateway.custom_field_named("Epic Name")
    own = (
        (points, "sets story points"),
        (epic_link, "sets the Epic Link"),
        (epic_name, "sets the Epic Name"),
    )
    for name, intent in own:
        if name is None or not isinstance(fields, Mapping) or name not in fields:
            continue
        _known(body, ("fields",), "the body")
        _only(fields, f"{intent} ({name})", (name,), ())
        value = fields[name]
        if name == points:
            return Chosen(
                "jira_update_story_points", {"updates": [{"issueKey": key, "storyPoints": value}]}
            )
        if name == epic_name:
            return Chosen("jira_update_epic", {"epicKey": key, "epicName": value})
        if value is None:
            epic = await _current_epic(gateway, [key])
            return Chosen("jira_unlink_from_epic", {"epicKey": epic, "issueKeys": [key]})
        return Chosen("jira_link_to_epic", {"epicKey": value, "issueKeys": [key]})
    return await edit_issue(incoming, gateway)


async def _story_points_field(gateway: Gateway, project: str) -> str | None:
    try:
        return await gateway.story_points_field(project)
    except JiraLookupError:  # the site has none (or several): it is a plain custom field
        return None


def _epic_key(value: object) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("key")
    return str(value) if value else None


_SPRINT_ANSWER = _data_answer("sprint", 200)  # Jira's POST /sprint/{id} answers 200

AGILE_ROWS: tuple[Row, ...] = (
    Row(
        "PUT",
        "/rest/api/{version}/issue/{issueIdOrKey}",
        "jira_update_fields",
        _put_issue,
        also=(
            "jira_update_story_points",
            "jira_link_to_epic",
            "jira_unlink_from_epic",
            "jira_update_epic",
        ),
    ),
    Row(
        "PUT",
        "/rest/api/{version}/version/{id}",
        "jira_update_release",
        _put_version,
        _data_answer("version"),
        also=("jira_release_version", "jira_archive_version"),
    ),
    Row("DELETE", "/rest/api/{version}/version/{id}", "jira_delete_version", _delete_version),
    Row(
        "POST",
        "/rest/api/{version}/version/{id}/removeAndSwap",
        "jira_delete_version",
        _remove_and_swap,
    ),
    Row(
        "PUT",
        "/rest/api/{version}/version/{id}/mergeto/{id}",
        "jira_merge_versions",
        _merge_versions,
    ),
    Row(
        "PUT",
        "/rest/api/{version}/component/{id}",
        "jira_update_component",
        _put_component,
        _data_answer("component"),
    ),
    Row("DELETE", "/rest/api/{version}/component/{id}", "jira_delete_component", _delete_component),
    Row(
        "POST",
        "/rest/agile/1.0/sprint",
        "jira_create_sprint",
        _create_sprint,
        _data_answer("sprint"),
    ),
    *(
        Row(
            method,
            "/rest/agile/1.0/sprint/{id}",
            "jira_update_sprint",
            _change_sprint,
            _SPRINT_ANSWER,
            also=("jira_start_sprint", "jira_close_sprint"),
        )
        for method in ("POST", "PUT")
    ),
    Row("DELETE", "/rest/agile/1.0/sprint/{id}", "jira_delete_sprint", _delete_sprint),
    Row("PUT", "/rest/agile/1.0/issue/rank", "jira_rank_issues", _rank),
    *(
        Row("POST", f"/rest/agile/1.0/epic/{epic}/issue", "jira_link_to_epic", _link_to_epic)
        for epic in ("{issueIdOrKey}", "{id}")
    ),
    Row("POST", "/rest/agile/1.0/epic/none/issue", "jira_unlink_from_epic", _unlink_from_epic),
)
