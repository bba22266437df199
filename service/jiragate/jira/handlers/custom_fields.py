"""Custom fields of a field edit, named by id (`customfield_10042`) or by the site's name.

Names are resolved through the site's field list (`GET /field`, read once per action) when
the action runs, matched case-insensitively as Jira's UI shows them; an unknown name fails
listing close matches, a name two fields share fails listing their ids. Only *custom* fields
may be set this way — a name such as "Priority" or "Sprint" would otherwise route around the
catalog's own fields and their checks — and the agile fields (Sprint, Epic Link, Rank, and
the configured Epic Link field) are refused: sprints and epics have actions that check their
project (handlers/sprints.py, handlers/epic_links.py). So are a story points field (by name,
or the configured one by id) and Epic Name: estimates are `jira_update_story_points` (or a
new ticket's `storyPoints`), an epic's name `jira_update_epic`, which their rules govern.
The gateway refuses all of these before deciding (catalog.site); this is the check at
execution, when the site could not be read.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jiragate.catalog.site import own_field_problem
from jiragate.errors import JiraLookupError

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter

_FIELD_ID = re.compile(r"customfield_[0-9]{1,18}")
#: Custom field types (`schema.custom`) that move an issue between sprints, epics or ranks.
_SCOPED_TYPES = ("gh-sprint", "gh-epic-link", "gh-lexo-rank", "gh-global-rank")


async def resolve_custom_fields(
    jira: JiraAdapter, action: str, given: Mapping[str, Any]
) -> dict[str, Any]:
    """`{field id: value}` for the edit's `customFields`, or JiraLookupError naming the first
    name that does not resolve to one settable custom field."""
    catalogue = [
        f for f in await jira.client.get(jira.api("/field")) or [] if isinstance(f, Mapping)
    ]
    by_id = {str(f.get("id")): f for f in catalogue}
    resolved: dict[str, Any] = {}
    for ref, value in given.items():
        field = by_id.get(ref) if _FIELD_ID.fullmatch(ref) else _by_name(catalogue, ref)
        if field is None:
            raise JiraLookupError(f"no custom field {ref} on this site")
        _check_settable(jira, action, ref, field)
        resolved[str(field["id"])] = value
    return resolved


def _by_name(catalogue: list[Mapping[str, Any]], name: str) -> Mapping[str, Any]:
    custom = [f for f in catalogue if f.get("custom")]
    named = [f for f in custom if str(f.get("name", "")).casefold() == name.casefold()]
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(sorted(str(f.get("id")) for f in named))
        raise JiraLookupError(f"custom field name {name!r} is ambiguous ({ids}); name it by id")
    names = sorted({str(f.get("name")) for f in custom})
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"; close matches: {', '.join(close)}" if close else ""
    system = any(str(f.get("name", "")).casefold() == name.casefold() for f in catalogue)
    why = " (it is a system field: set it in `fields`)" if system else ""
    raise JiraLookupError(f"no custom field named {name!r} on this site{why}{hint}")


def _check_settable(jira: JiraAdapter, action: str, ref: str, field: Mapping[str, Any]) -> None:
    ident, name = str(field.get("id")), str(field.get("name", ""))
    configured = {jira.config.story_points_field, *jira.config.story_points_fields.values()}
    own = own_field_problem(action, name, ident, story_points=ident in configured)
    if own:
        raise JiraLookupError(own)
    kind = str((field.get("schema") or {}).get("custom") or "")
    scoped = any(kind.endswith(f":{t}") for t in _SCOPED_TYPES)
    if not field.get("custom") or scoped or field.get("id") == jira.config.epic_link_field:
        raise JiraLookupError(
            f"custom field {ref} ({field.get('name')}) cannot be set by jira_update_fields: "
            "sprints, epics and ranks have their own actions, system fields go in `fields`"
        )


#: The custom field type of Jira Software's rank (LexoRank) fields.
RANK_TYPE = "com.pyxis.greenhopper.jira:gh-lexo-rank"


async def default_rank_field(jira: JiraAdapter) -> int | None:
    """The numeric id (`schema.customId`) of the site's default rank field, the one custom
    field named "Rank" of the rank type, as clients find it for `PUT /issue/rank`'s
    `rankCustomFieldId` (pycontribs `JIRA.rank`); None when the site has no single one.
    Read from the site's cached metadata (jira/sitemeta.py), not from Jira on every rank."""
    site = await jira.site.get()
    found = [
        f.custom_id
        for f in site.fields_named("Rank")
        if f.custom and f.name == "Rank" and f.custom_type == RANK_TYPE
    ]
    if len(found) != 1 or found[0] is None:
        return None
    return found[0]
