"""Search: Cloud's `/rest/api/3/search/jql` (token paging, no total), the retired
`/rest/api/3/search` (410 Gone), and Data Center's `/rest/api/2/search` (startAt/total)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from jiragate.jira.sandbox.context import body_of, current_user, flavour_of, state_of
from jiragate.jira.sandbox.jql import JQLError, compile_jql
from jiragate.jira.sandbox.render import (
    ALL_FIELDS,
    issue_json,
    jira_error,
    property_names,
    select_fields,
)

DEFAULT_PAGE = 50
MAX_PAGE = 100  # Cloud returns fewer per page than asked when many fields are requested
MAX_PAGE_IDS_ONLY = 5000
DC_MAX_PAGE = 1000
MAX_PROPERTIES = 5
GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at "
    "https://developer.atlassian.com/changelog/#CHANGE-2046"
)


class _BadRequest(ValueError):
    pass


def _params(request: Request) -> dict[str, Any]:
    """GET query parameters or the POST body, in one shape."""
    if request.method == "POST":
        body = body_of(request)
        return dict(body) if isinstance(body, Mapping) else {}
    query = request.query_params
    params: dict[str, Any] = {k: query.get(k) for k in query if k != "fields"}
    if "fields" in query:
        params["fields"] = query.getlist("fields")
    if "properties" in query:
        params["properties"] = query.getlist("properties")
    return params


def _properties(params: Mapping[str, Any]) -> list[str] | None:
    """The issue properties asked for: Cloud allows up to 5 keys (spec: `properties`)."""
    raw = params.get("properties")
    if raw is None:
        return None
    names = property_names([raw] if isinstance(raw, str) else [str(item) for item in raw])
    if names is not None and len(names) > MAX_PROPERTIES:
        raise _BadRequest(f"At most {MAX_PROPERTIES} issue properties can be requested.")
    return names


def _int(params: Mapping[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise _BadRequest(f"The '{name}' parameter must be an integer, not {value!r}.") from exc
    if number < 0:
        raise _BadRequest(f"The '{name}' parameter must not be negative.")
    return number


def _fields(params: Mapping[str, Any]) -> list[str] | None:
    raw = params.get("fields")
    if raw is None:
        return None
    return [raw] if isinstance(raw, str) else [str(item) for item in raw]


def _token(offset: int, jql: str) -> str:
    digest = hashlib.sha256(jql.encode()).hexdigest()[:12]
    raw = json.dumps({"offset": offset, "jql": digest}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset_from(token: str, jql: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        offset = int(data["offset"])
        matches = data["jql"] == hashlib.sha256(jql.encode()).hexdigest()[:12]
    except (ValueError, KeyError, TypeError) as exc:
        raise _BadRequest("The provided next page token is invalid or expired.") from exc
    if not matches or offset < 0:
        raise _BadRequest("The provided next page token is invalid or expired.")
    return offset


async def search_jql(request: Request) -> Response:
    state = state_of(request)
    params = _params(request)
    jql = str(params.get("jql") or "")
    try:
        requested = _fields(params)
        wanted = _properties(params)
        ids_only = (requested is None or [f for f in requested if f.strip()] == ["id"]) and (
            wanted is None
        )
        limit = _int(params, "maxResults", DEFAULT_PAGE)
        limit = max(1, min(limit, MAX_PAGE_IDS_ONLY if ids_only else MAX_PAGE))
        token = params.get("nextPageToken")
        offset = _offset_from(str(token), jql) if token else 0
        with state.lock:
            query = compile_jql(jql, state, current_user(request))
            if not query.bounded:
                raise _BadRequest(
                    "Unbounded JQL queries are not allowed here. "
                    "Please add a search restriction to your query."
                )
            found = query.run(i for i in state.issues.values() if not i.archived)
            page = found[offset : offset + limit]
            if ids_only:
                issues: list[dict[str, Any]] = [{"id": str(issue.id)} for issue in page]
            else:
                names = select_fields(requested, ("id",))
                issues = [issue_json(state, issue, "cloud", names, wanted) for issue in page]
    except (JQLError, _BadRequest) as exc:
        return jira_error(400, [str(exc)])
    answer: dict[str, Any] = {"issues": issues, "isLast": offset + limit >= len(found)}
    if not answer["isLast"]:
        answer["nextPageToken"] = _token(offset + limit, jql)
    return JSONResponse(answer)


async def search_jql_v2(request: Request) -> Response:
    if state_of(request).profile != "cloud":
        return jira_error(
            404, [f"Null or unsupported resource: {request.method} {request.url.path}"]
        )
    return await search_jql(request)


async def search_gone(request: Request) -> Response:
    return jira_error(410, [GONE])


async def search_dc(request: Request) -> Response:
    state = state_of(request)
    params = _params(request)
    jql = str(params.get("jql") or "")
    try:
        start = _int(params, "startAt", 0)
        limit = max(0, min(_int(params, "maxResults", DEFAULT_PAGE), DC_MAX_PAGE))
        wanted = _properties(params)
        with state.lock:
            query = compile_jql(jql, state, current_user(request))
            found = query.run(i for i in state.issues.values() if not i.archived)
            names = select_fields(_fields(params), ALL_FIELDS)
            issues = [
                issue_json(state, i, flavour_of(request), names, wanted)
                for i in found[start : start + limit]
            ]
    except (JQLError, _BadRequest) as exc:
        return jira_error(400, [str(exc)])
    return JSONResponse(
        {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": limit,
            "total": len(found),
            "issues": issues,
        }
    )


def build_router() -> APIRouter:
    router = APIRouter()
    # Cloud serves the enhanced search on v2 too (plain-text fields); Data Center has no
    # `/search/jql` (routes are per site profile: see search_jql_v2).
    router.add_api_route("/rest/api/3/search/jql", search_jql, methods=["GET", "POST"])
    router.add_api_route("/rest/api/2/search/jql", search_jql_v2, methods=["GET", "POST"])
    router.add_api_route("/rest/api/3/search", search_gone, methods=["GET", "POST"])
    router.add_api_route("/rest/api/2/search", search_dc, methods=["GET", "POST"])
    return router
