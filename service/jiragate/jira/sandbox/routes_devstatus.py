"""The development panel: Jira's dev-status plugin API, on both profiles.

Not part of Jira's public REST API (no OpenAPI spec); both Cloud and Data Center serve it at
the site (`/rest/dev-status/1.0/...`, also `latest`), which is what the Jira UI and
mcp-atlassian (`mcp_atlassian/jira/development.py`) call:

- `GET issue/summary?issueId=<numeric id>`: per data type (`pullrequest`, `branch`,
  `repository`, ...) the counts overall and `byInstanceType` (the application types).
- `GET issue/detail?issueId=&applicationType=&dataType=`: `detail`, one entry per instance
  of that application type, holding the branches, pull requests or repositories (with their
  commits) of that data type.

Strict like Jira where it is: `issueId` is the numeric id (a key answers 400) and must name an
issue the caller can see (404); `applicationType` is case-sensitive, so "github" finds
nothing (an empty `detail`); `detail` wants both `applicationType` and `dataType`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from jiragate.jira.sandbox.context import state_of
from jiragate.jira.sandbox.panels import INSTANCES
from jiragate.jira.sandbox.render import jira_error
from jiragate.jira.sandbox.state import Issue, SandboxState

DATA_TYPES = ("pullrequest", "branch", "repository", "build", "review", "deployment-environment")
#: Which list of a detail entry a data type counts.
_COUNTED = {"pullrequest": "pullRequests", "branch": "branches", "repository": "repositories"}


def _issue(state: SandboxState, request: Request) -> Issue | Response:
    raw = request.query_params.get("issueId")
    if raw is None or not raw.isdigit():
        return jira_error(400, ["issueId is required and must be the issue's numeric id."])
    issue = next((i for i in state.issues.values() if i.id == int(raw)), None)
    if issue is None:
        return jira_error(404, ["Issue does not exist or you do not have permission to see it."])
    return issue


async def summary(request: Request) -> Response:
    state = state_of(request)
    with state.lock:
        found = _issue(state, request)
        if isinstance(found, Response):
            return found
        sections: dict[str, Any] = {}
        for data_type in DATA_TYPES:
            counts = {
                app: len(entries[data_type].get(_COUNTED[data_type], []))
                for app, entries in found.development.items()
                if data_type in entries
            }
            by_type = {app: {"count": count, "name": app} for app, count in counts.items()}
            total = sum(counts.values())
            sections[data_type] = {
                "overall": {"count": total, "lastUpdated": None, "dataType": data_type},
                "byInstanceType": by_type,
            }
        return JSONResponse({"errors": [], "configErrors": [], "summary": sections})


async def detail(request: Request) -> Response:
    state = state_of(request)
    application = request.query_params.get("applicationType")
    data_type = request.query_params.get("dataType")
    if not application or not data_type:
        return jira_error(400, ["applicationType and dataType are required."])
    with state.lock:
        found = _issue(state, request)
        if isinstance(found, Response):
            return found
        entry = found.development.get(application, {}).get(data_type)
        details = [] if entry is None else [{**entry, "_instance": INSTANCES[application]}]
        return JSONResponse({"errors": [], "detail": details})


def build_router() -> APIRouter:
    router = APIRouter()
    for version in ("1.0", "latest"):
        base = f"/rest/dev-status/{version}/issue"
        router.add_api_route(f"{base}/summary", summary, methods=["GET"])
        router.add_api_route(f"{base}/detail", detail, methods=["GET"])
    return router
