"""The sandbox app factory: a stateful Jira (Cloud v3, Data Center v2, agile 1.0) for tests,
demos and `jiragate sandbox`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from jiragate.jira.sandbox import (
    media,
    routes_agile,
    routes_bulk,
    routes_devstatus,
    routes_issue_writes,
    routes_issues,
    routes_meta,
    routes_reads,
    routes_search,
    routes_servicedesk,
    routes_site,
)
from jiragate.jira.sandbox.context import state_of
from jiragate.jira.sandbox.faults import FaultSpecError, parse_fault
from jiragate.jira.sandbox.middleware import CONTROL_PREFIX, SandboxMiddleware
from jiragate.jira.sandbox.render import jira_error
from jiragate.jira.sandbox.state import SandboxState


def create_sandbox_app(
    state: SandboxState | None = None, *, validate_requests: bool = True
) -> FastAPI:
    """Build a sandbox around `state` (fresh seed data when None)."""
    app = FastAPI(
        title="Jiragate Jira sandbox",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # the real contract is Atlassian's spec, not ours
    )
    app.state.sandbox = state if state is not None else SandboxState()
    app.add_middleware(
        SandboxMiddleware, state=app.state.sandbox, validate_requests=validate_requests
    )

    @app.exception_handler(StarletteHTTPException)
    async def jira_shaped(request: Request, exc: StarletteHTTPException) -> Response:
        # Unknown paths and methods answer in Jira's error shape too.
        detail = "Null or unsupported resource" if exc.status_code == 404 else str(exc.detail)
        return jira_error(exc.status_code, [f"{detail}: {request.method} {request.url.path}"])

    # routes_site first: its `/project/search` must win over routes_meta's `/project/{key}`.
    # routes_reads before routes_issues: `/issue/{key}/editmeta` is its own, not an issue's
    # sub-resource.
    for module in (
        routes_site,
        routes_reads,
        routes_issues,
        routes_issue_writes,
        routes_search,
        routes_meta,
        routes_agile,
        routes_devstatus,
        routes_bulk,  # Cloud's bulk move and its task (v3 only)
        routes_servicedesk,
        media,  # Cloud's media store, where the cloud profile sends attachment downloads
    ):
        app.include_router(module.build_router())
    app.include_router(_control_router())
    return app


def _control_router() -> APIRouter:
    router = APIRouter(prefix=CONTROL_PREFIX)

    @router.post("/faults")
    async def add_fault(request: Request) -> Response:
        try:
            fault = parse_fault(await request.json())
        except (FaultSpecError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        state_of(request).add_fault(fault)
        return JSONResponse(fault.as_dict(), status_code=201)

    @router.get("/faults")
    async def list_faults(request: Request) -> Response:
        state = state_of(request)
        with state.lock:
            return JSONResponse([fault.as_dict() for fault in state.faults])

    @router.delete("/faults")
    async def clear_faults(request: Request) -> Response:
        state_of(request).clear_faults()
        return Response(status_code=204)

    @router.get("/state")
    async def inspect(request: Request) -> Response:
        state = state_of(request)
        with state.lock:
            body: dict[str, Any] = state.snapshot()
            body["faults"] = [fault.as_dict() for fault in state.faults]
            body["requests"] = [asdict(entry) for entry in state.logged()]
        return JSONResponse(body)

    @router.post("/reset")
    async def reset(request: Request) -> Response:
        state_of(request).reset()
        return Response(status_code=204)

    return router
