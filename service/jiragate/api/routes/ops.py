"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from jiragate.api.deps import GatewayDep
from jiragate.api.openapi import documented
from jiragate.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])

READINESS_SCHEMA = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {"status": {"enum": ["ready", "unavailable"]}, "checks": {"type": "object"}},
}


class MetricsResponse(Response):
    """Prometheus's text format; the class's media type is what /openapi.json names."""

    media_type = CONTENT_TYPE


@router.get("/healthz", summary="The process is up", **documented(auth="none", errors=()))
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Ready to serve: database reachable, the active policies run",
    **documented(
        auth="none",
        errors=(),
        responses={
            503: {
                "description": "Not ready (the same body, status unavailable): take the "
                "process out of rotation",
                "content": {"application/json": {"schema": READINESS_SCHEMA}},
            }
        },
    ),
)
def readyz(gateway: GatewayDep) -> JSONResponse:
    ready, checks = gateway.readiness()
    if not ready:  # refusing to decide, or no database: take it out of rotation
        return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
    return JSONResponse({"status": "ready", "checks": checks})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=MetricsResponse,
    **documented(
        auth="none",
        errors=(),
        responses={
            200: {
                "description": "The Prometheus text exposition format",
                "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
            }
        },
    ),
)
def metrics(gateway: GatewayDep) -> MetricsResponse:
    return MetricsResponse(gateway.metrics_text())
