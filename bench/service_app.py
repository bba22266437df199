"""The service as a user deploys it on 2 cores: `serve_workers.py --factory service_app:create`.

`jiragate serve` runs one uvicorn process; on a 2-core machine a user runs two worker
processes. `create` builds exactly the app `jiragate serve` builds (`create_app(settings)`,
settings from the file named by `JIRAGATE_CONFIG`), once per worker process.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request

from jiragate.api.app import create_app
from jiragate.api.deps import JsonBody, Principal, bearer_key, resolve_key
from jiragate.settings import Settings


def create() -> FastAPI:
    return create_app(Settings.from_file(os.environ["JIRAGATE_CONFIG"]))


# --------------------------------------------------------------------------- experiment


async def _agent_of(request: Request) -> Principal:
    principal = resolve_key(request.app.state.gateway, request, bearer_key(request))
    if not principal.is_agent:
        raise HTTPException(403, f"{principal.name} is a reviewer, not an agent")
    return principal


async def _evaluate(
    body: JsonBody,
    request: Request,
    agent: Annotated[Principal, Depends(_agent_of)],
    explain: bool = True,
) -> dict[str, Any]:
    gateway = request.app.state.gateway
    return dict(gateway.evaluate(body, agent=agent.name, explain=explain).as_dict())


def create_async_evaluate() -> FastAPI:
    """EXPERIMENT, not what users run: the same app, with `POST /v1/evaluate` and its
    dependencies as `async def` (no thread-pool hop per dependency and per request). Measures
    what that change to `api/routes/actions.py` and `api/deps.py` would buy, without them."""
    router = APIRouter()
    router.add_api_route("/v1/evaluate", _evaluate, methods=["POST"])
    app = create()
    before = len(app.router.routes)
    app.include_router(router)
    added = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[:0] = added  # matched before the original route
    return app
