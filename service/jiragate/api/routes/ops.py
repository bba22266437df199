"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from jiragate.api.deps import GatewayDep
from jiragate.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get("/readyz", summary="Ready to serve: database reachable, the active policies run")
def readyz(gateway: GatewayDep) -> JSONResponse:
    ready, checks = gateway.readiness()
    if not ready:  # refusing to decide, or no database: take it out of rotation
        return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
    return JSONResponse({"status": "ready", "checks": checks})


@router.get("/metrics", summary="Prometheus metrics")
def metrics(gateway: GatewayDep) -> Response:
    return Response(gateway.metrics_text(), media_type=CONTENT_TYPE)
