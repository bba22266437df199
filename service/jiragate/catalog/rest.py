"""PURE: Jira REST paths as the proxy (docs/proxy.md) and the policies see them.

One function reads a request path the way Jira would route it, or refuses it: a path that
one reader could take for one endpoint and Jira (or a proxy before it) for another is never
classified. Refused: `.` / `..` segments, empty segments (`//`), `;` path parameters, a
backslash, encoded slashes, backslashes, dots or semicolons, double encoding (`%25`), control
or non-ASCII bytes. What remains decodes once to the path Jira routes.

The *template* of a path is what a policy names (`details.template`): the API's version is
`{version}` (so one rule covers /rest/api/2 and /rest/api/3), an issue id or key is
`{issueIdOrKey}`, a project id or key `{projectIdOrKey}`, and any other all-digit segment
`{id}`. Jira Service Management's API (`/rest/servicedeskapi/`, no version in its path) names
its ids by what they are: `{serviceDeskId}` (or `{projectIdOrKey}` when the desk is named by
its project's key), `{queueId}`, `{requestTypeId}`, and a request is `{issueIdOrKey}`
(`/rest/servicedeskapi/servicedesk/{serviceDeskId}/queue/{queueId}/issue`). The catalog
recomputes the template and the project of a generic action from its path (`rest_violations`),
so neither an agent on /v1/actions nor the proxy can claim another.

A path may name its project only by an id that Jira places in one: an issue, a project, a
version, a component, a sprint, a board or a service desk by number (`owned_ids`). Such a
generic action's project is Jira's to say, not the path's: the gateway asks Jira
(`Gateway.locate`) and scopes the action by the answer, so a rule on a project holds for its
objects named by id too. An attachment by id (`/attachment/{id}`, `/attachment/content/{id}`
…) is placed by the issue Jiragate saw it on (gateway/attachments.py); one never seen is
refused.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from jiragate.errors import DetailsViolation

#: The API roots the proxy serves, with what stands for their version in a template.
API_ROOTS: tuple[tuple[str, str], ...] = (
    ("/rest/api/2/", "/rest/api/{version}/"),
    ("/rest/api/3/", "/rest/api/{version}/"),
    ("/rest/api/latest/", "/rest/api/{version}/"),
    ("/rest/agile/1.0/", "/rest/agile/1.0/"),
    ("/rest/agile/latest/", "/rest/agile/1.0/"),
    # Jira's development panel (not in its public REST API; Cloud and Data Center serve it).
    ("/rest/dev-status/1.0/", "/rest/dev-status/1.0/"),
    ("/rest/dev-status/latest/", "/rest/dev-status/1.0/"),
    ("/rest/servicedeskapi/", "/rest/servicedeskapi/"),
)
MAX_PATH = 2048
_ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,9}-[1-9][0-9]{0,9}")
_PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]{1,9}")
_DIGITS = re.compile(r"[0-9]{1,18}")
# Escapes that would change how the path splits or is read again: / \ . ; and % itself.
_AMBIGUOUS_ESCAPE = re.compile(r"%(2[fFeE5]|5[cC]|3[bB])")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
# The segment after these names an issue or a project (`/issue/createmeta/ENG/issuetypes`
# is project ENG's create screens).
_SEGMENT_OWNERS = {
    "issue": "{issueIdOrKey}",
    "project": "{projectIdOrKey}",
    "createmeta": "{projectIdOrKey}",
}
#: The same under /rest/servicedeskapi/ (JSM's paths); its own ids are all-digit only.
_SD_ROOT = "/rest/servicedeskapi/"
_SD_OWNERS = {
    "servicedesk": "{serviceDeskId}",
    "queue": "{queueId}",
    "requesttype": "{requestTypeId}",
    "request": "{issueIdOrKey}",
}
_SD_IDS = ("{serviceDeskId}", "{queueId}", "{requestTypeId}")


class RestPathError(ValueError):
    """A path the proxy will not classify; the message says what is wrong with it."""


@dataclass(frozen=True, slots=True)
class RestPath:
    path: str  # decoded once, what is forwarded
    template: str
    version: str  # "2", "3", "latest" or "1.0"; "" for /rest/servicedeskapi
    issue_key: str | None
    project_key: str | None


def parse_rest_path(raw: str) -> RestPath:
    """The path as Jira routes it, with its template and the project it names, or
    RestPathError naming what makes it ambiguous."""
    if len(raw) > MAX_PATH:
        raise RestPathError(f"the path is {len(raw)} characters; the limit is {MAX_PATH}")
    if any(ord(ch) < 0x21 or ord(ch) > 0x7E for ch in raw):
        raise RestPathError("the path has a control, space or non-ASCII character (encode it)")
    if "\\" in raw:
        raise RestPathError("the path has a backslash")
    if ";" in raw:
        raise RestPathError("the path has a ';' parameter, which Jira and proxies read apart")
    escape = _AMBIGUOUS_ESCAPE.search(raw)
    if escape:
        raise RestPathError(
            f"the path encodes {escape.group(0)!r} (an encoded slash, backslash, dot, ';' or "
            "a double encoding); send the character itself or leave it out"
        )
    if "%" in _ESCAPE.sub("", raw):
        raise RestPathError("the path has a '%' that is not a percent-encoding")
    path = unquote(raw)
    if path.endswith("/") and len(path) > 1:
        path = path[:-1]
    segments = path.split("/")[1:]
    if not path.startswith("/") or any(s in ("", ".", "..") for s in segments):
        raise RestPathError("the path has an empty, '.' or '..' segment")
    for root, template_root in API_ROOTS:  # noqa: B007 - the loop finds the pair
        if (path + "/").startswith(root):
            break
    else:
        raise RestPathError(
            "not a Jira REST path: the proxy serves /rest/api/2, /rest/api/3, /rest/agile/1.0, "
            "/rest/dev-status/1.0 and /rest/servicedeskapi"
        )
    version = "" if root == _SD_ROOT else root.rstrip("/").rsplit("/", 1)[1]
    owners = _SD_OWNERS if root == _SD_ROOT else _SEGMENT_OWNERS
    rest = path[len(root) :].split("/") if len(path) >= len(root) else []
    issue_key = project_key = None
    parts: list[str] = []
    previous = ""
    for segment in rest:
        owner = _sd_owner(owners.get(previous), segment)
        if owner is not None and (_DIGITS.fullmatch(segment) or _looks_like_key(segment)):
            parts.append(owner)
            if owner == "{issueIdOrKey}" and _ISSUE_KEY.fullmatch(segment):
                issue_key = segment
            elif owner == "{projectIdOrKey}" and _PROJECT_KEY.fullmatch(segment):
                project_key = segment
        elif _DIGITS.fullmatch(segment):
            parts.append("{id}")
        elif _ISSUE_KEY.fullmatch(segment):
            parts.append("{issueIdOrKey}")
            issue_key = issue_key or segment
        else:
            parts.append(segment)
        previous = segment
    template = template_root + "/".join(parts)
    return RestPath(path, template.rstrip("/"), version, issue_key, project_key)


def _sd_owner(owner: str | None, segment: str) -> str | None:
    """A JSM id is all digits; a desk may also be named by its project's key (Cloud)."""
    if owner not in _SD_IDS or _DIGITS.fullmatch(segment):
        return owner
    if owner == "{serviceDeskId}" and _PROJECT_KEY.fullmatch(segment):
        return "{projectIdOrKey}"
    return None


def _looks_like_key(segment: str) -> bool:
    return bool(_ISSUE_KEY.fullmatch(segment) or _PROJECT_KEY.fullmatch(segment))


def is_template(text: str) -> bool:
    """True when `text` is a template the proxy can produce (what `jiragate check` lints)."""
    for project in ("10000", "ABC"):  # a JSM desk by key is {projectIdOrKey}, by id not
        probe = text.replace("{version}", "3").replace("{projectIdOrKey}", project)
        for name in ("{issueIdOrKey}", "{id}", *_SD_IDS):
            probe = probe.replace(name, "10000")
        try:
            if parse_rest_path(probe).template == text:
                return True
        except RestPathError:
            continue
    return False


#: What an all-digit segment after these names, as `jira.owners.locate` finds it.
_OWNED_AFTER = {
    "version": "version",
    "component": "component",
    "sprint": "sprint",
    "board": "board",
    "servicedesk": "servicedesk",
    "project": "project",
    "issue": "issue",
    "request": "issue",  # JSM: a customer request is its issue
}


#: `/attachment/content/{id}` and `/attachment/thumbnail/{id}` name the id one segment on.
_ATTACHMENT_FILES = ("content", "thumbnail")


def attachment_id(parsed: RestPath) -> str | None:
    """The attachment a `/rest/api/{2,3,latest}/attachment/...` path names, as spelled
    (`/attachment/10042`, `/attachment/content/10042`, `/attachment/10042/expand/raw`, and
    anything longer: Jira routes by the first segments); None for `/attachment/meta` (the
    site's attachment settings) and for paths that are not about an attachment.

    Every other spelling names an id, even one that is no number (`/attachment/abc`,
    `/attachment/content`): the gateway refuses those, so no spelling reaches Jira unscoped.
    Segment names are compared without case, to refuse rather than guess how a server
    before Jira matches them."""
    segments = parsed.path.split("/")[1:]
    if len(segments) < 5 or segments[:2] != ["rest", "api"] or segments[3].lower() != "attachment":
        return None
    first = segments[4].lower()
    if first == "meta" and len(segments) == 5:
        return None
    if first in _ATTACHMENT_FILES and len(segments) > 5:
        return segments[5]
    return segments[4]


def owned_ids(parsed: RestPath) -> tuple[tuple[str, str], ...]:
    """(kind, id) of each object the path names by number that Jira places in a project
    (`/rest/api/3/version/10001/relatedIssueCounts`: ("version", "10001")); the path's own
    project, when it names one by key, makes these moot (`project_of_path`), except for an
    attachment, which Jira places by its issue whatever else the path says (an
    ("attachment", id) pair, its id as spelled: see `attachment_id`)."""
    segments = parsed.path.split("/")
    found: list[tuple[str, str]] = []
    attachment = attachment_id(parsed)
    if attachment is not None:
        found.append(("attachment", attachment))
    for previous, segment in itertools.pairwise(segments):
        kind = _OWNED_AFTER.get(previous)
        if kind is not None and _DIGITS.fullmatch(segment):
            found.append((kind, segment))
    return tuple(found)


def project_of_path(parsed: RestPath) -> str | None:
    if parsed.project_key is not None:
        return parsed.project_key
    if parsed.issue_key is not None:
        return parsed.issue_key.rsplit("-", 1)[0]
    return None


def rest_violations(details: Mapping[str, Any]) -> Iterator[DetailsViolation]:
    """A generic action's template and project must be the ones its path gives."""
    path = details.get("path")
    if not isinstance(path, str):
        return
    try:
        parsed = parse_rest_path(path)
    except RestPathError as exc:
        yield DetailsViolation("/path", "rest-path", str(exc))
        return
    if parsed.path != path:
        yield DetailsViolation("/path", "rest-path", f"not normalised: send {parsed.path!r}")
    if details.get("template") != parsed.template:
        yield DetailsViolation(
            "/template", "rest-template", f"the path's template is {parsed.template!r}"
        )
    project = project_of_path(parsed)
    if (project is None and owned_ids(parsed)) or attachment_id(parsed) is not None:
        # The project of an object named by id is Jira's answer, which only the gateway can
        # read (`Gateway.locate`): it sets `projectKey` and refuses any other claim. An
        # attachment's is the gateway's whatever project the path names.
        return
    if details.get("projectKey") != project:
        yield DetailsViolation(
            "/projectKey",
            "rest-project",
            f"the path names project {project!r}" if project else "the path names no project",
        )
