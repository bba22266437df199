"""`uvicorn --factory service_app:create --workers 2`: the service as a user deploys it on 2 cores.

`jiragate serve` runs one uvicorn process; on a 2-core machine a user runs two worker
processes. This factory builds exactly the app `jiragate serve` builds (`create_app(settings)`,
settings from the file named by `JIRAGATE_CONFIG`), once per worker process.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from jiragate.api.app import create_app
from jiragate.settings import Settings


def create() -> FastAPI:
    return create_app(Settings.from_file(os.environ["JIRAGATE_CONFIG"]))


def create_async_evaluate() -> FastAPI:
    """EXPERIMENT, not what users run: the same app, with `POST /v1/evaluate` and its
    dependencies as `async def` (no thread-pool hop per request). Measures the gain of that
    change to `jiragate/api/routes/actions.py` and `api/deps.py` without editing them."""
    from typing import Annotated, Any

    from fastapi import APIRouter, Depends, HTTPException, Request

    from jiragate.api.deps import JsonBody, Principal, bearer_key, resolve_key

    async def agent_of(request: Request) -> Principal:
        principal = resolve_key(request.app.state.gateway, request, bearer_key(request))
        if not principal.is_agent:
            raise HTTPException(403, f"{principal.name} is a reviewer, not an agent")
        return principal

    router = APIRouter()

    @router.post("/v1/evaluate")
    async def evaluate(
        body: JsonBody,
        request: Request,
        agent: Annotated[Principal, Depends(agent_of)],
        explain: bool = True,
    ) -> dict[str, Any]:
        gateway = request.app.state.gateway
        return gateway.evaluate(body, agent=agent.name, explain=explain).as_dict()

    app = create()
    before = len(app.router.routes)
    app.include_router(router)
    added = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[:0] = added  # matched before the original route
    return app
