"""The FastAPI application, built by a factory from settings (no import-time app)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jiragate import __version__
from jiragate.api.deps import BodyError, QueryError
from jiragate.api.openapi import install_openapi
from jiragate.api.routes import (
    actions,
    approvals,
    audit,
    budgets,
    cheqpoint_api,
    ops,
    policies,
    slack,
    webhooks,
)
from jiragate.errors import EditRefusedError, JiragateError, answered_error_classes
from jiragate.gateway import Gateway
from jiragate.proxy import METHODS, proxy_endpoint
from jiragate.redaction import install_log_redaction
from jiragate.settings import Settings
from jiragate.web import mount_inbox

log = logging.getLogger("jiragate.api")


class BodyLimitMiddleware:
    """Refuse bodies over the limit before reading them whole (Content-Length or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, send, int(declared))
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyError(
                        f"request body exceeds the limit of {self.max_bytes} bytes", 413
                    )
            return message

        await self.app(scope, limited, send)

    async def _too_large(self, scope: Scope, send: Send, size: int) -> None:
        response = error_response(
            scope,
            413,
            "body_too_large",
            f"request body is {size} bytes; the limit is {self.max_bytes}",
        )
        await response({"type": "http"}, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _json_error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status)


CHEQPOINT_PREFIX = "/api/"
JIRA_PREFIX = "/rest/"


def error_response(
    scope: Scope,
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """The one error answer. Under `/api/` it is Cheqpoint's `{"error": "<message>"}` (what
    the official SDK shows as the error); elsewhere Jiragate's `{"error": code, "message"}`."""
    path = str(scope.get("path", ""))
    if path.startswith(CHEQPOINT_PREFIX) or path == CHEQPOINT_PREFIX.rstrip("/"):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    if path.startswith(JIRA_PREFIX):  # the Jira REST proxy: what Jira clients read
        body = {"errorMessages": [message], "errors": {}}
        return JSONResponse(body, status_code=status, headers=headers)
    body = {"error": code, "message": message, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


class McpOnFirstUse:
    """`/mcp` (jiragate.mcp's endpoint), with the MCP SDK imported and its session manager
    started by the first request to it rather than at startup.

    *Why:* the SDK costs every service process about 24 MiB and 0.4 s to import, and many
    deployments never call /mcp. The endpoint itself is unchanged once started: it
    authenticates every request and answers 503 outside the app's lifespan.
    """

    def __init__(self, gateway: Callable[[], Gateway], settings: Settings) -> None:
        self._gateway = gateway
        self._settings = settings
        self._endpoint: ASGIApp | None = None
        self._serving = False
        self._lock: asyncio.Lock | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """The app's lifespan: /mcp may start inside it; a started endpoint stops with it."""
        self._lock, self._serving = asyncio.Lock(), True
        try:
            yield
        finally:
            self._serving = False
            if self._task is not None and self._stop is not None:
                self._stop.set()
                await self._task
            self._endpoint = self._task = self._stop = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._endpoint or await self._start()
        if endpoint is None:
            response = _json_error(503, "unavailable", "the MCP endpoint is not running")
            await response(scope, receive, send)
            return
        await endpoint(scope, receive, send)

    async def _start(self) -> ASGIApp | None:
        if not self._serving or self._lock is None:
            return None
        async with self._lock:
            if self._endpoint is None and self._serving:
                # Imported off the event loop, so other requests are not held up meanwhile.
                mcp = await asyncio.to_thread(importlib.import_module, "jiragate.mcp")
                endpoint = mcp.McpHttpEndpoint(self._gateway, self._settings)
                started, self._stop = asyncio.Event(), asyncio.Event()
                self._task = asyncio.create_task(self._run(endpoint, started, self._stop))
                waiting = asyncio.create_task(started.wait())
                await asyncio.wait({self._task, waiting}, return_when=asyncio.FIRST_COMPLETED)
                waiting.cancel()
                if self._task.done():
                    self._task.result()  # the session manager failed to start: raise why
                self._endpoint = endpoint
        return self._endpoint

    @staticmethod
    async def _run(endpoint: Any, started: asyncio.Event, stop: asyncio.Event) -> None:
        # The session manager's context must be entered and left by one task: this one.
        async with endpoint.running():
            started.set()
            await stop.wait()


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    """A domain error answered as its class says (`code`, `http_status` in errors.py)."""
    assert isinstance(exc, JiragateError)
    status = exc.http_status or 500
    return error_response(request.scope, status, exc.code, str(exc), **exc.extra())


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    422: "invalid_request",
    503: "unavailable",
}


def _validation_problem(error: Mapping[str, Any]) -> tuple[bool, str]:
    """(is it about a query parameter, `name: why[, got 'value']`). Query values are echoed
    back to say what was wrong; header and body values are not (they may hold secrets)."""
    where, *path = error["loc"]
    name = ".".join(str(part) for part in path) or str(where)
    if where == "query":
        got = error.get("input")
        shown = "" if got is None else f", got {str(got)[:100]!r}"
        return True, f"{name}: {error['msg']}{shown}"
    return False, f"{where}.{name}: {error['msg']}" if path else f"{name}: {error['msg']}"


def install_error_handlers(app: FastAPI) -> None:
    """Every error is a JSON body naming what is wrong; nothing leaks a stack trace.

    Every handler answers through `error_response`, which picks the envelope by path: the
    Cheqpoint-compatible `/api/` speaks Cheqpoint's `{"error": "<message>"}`, everything else
    `{"error": "<code>", "message": "<message>", ...}`. A new handler must do the same.
    """

    @app.exception_handler(BodyError)
    async def body_error(request: Request, exc: BodyError) -> JSONResponse:
        code = "body_too_large" if exc.status == 413 else "invalid_body"
        if exc.status == 403:
            code = "forbidden"
        return error_response(request.scope, exc.status, exc.code or code, str(exc))

    @app.exception_handler(QueryError)
    async def query_error(request: Request, exc: QueryError) -> JSONResponse:
        return error_response(request.scope, 422, "invalid_query", str(exc))

    # Starlette picks a handler by the exception's class hierarchy, so a subclass
    # (ReviewerNotAllowedError) wins over its base (DecisionRefusedError).
    for error_class in answered_error_classes():
        app.add_exception_handler(error_class, _domain_error)

    @app.exception_handler(EditRefusedError)
    async def edit_refused(_: Request, exc: EditRefusedError) -> JSONResponse:
        # A refused edit also lists each field (JSON pointer) and the edit rule it breaks.
        return JSONResponse(exc.as_dict(), status_code=exc.http_status or 409)

    # Starlette's HTTPException (FastAPI's is a subclass): the router's own 404/405 are
    # answered in the same JSON shape as ours.
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return error_response(
            request.scope,
            exc.status_code,
            _HTTP_CODES.get(exc.status_code, "error"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        found = [_validation_problem(error) for error in exc.errors()]
        problems = [problem for _, problem in found]
        code = "invalid_query" if found and all(q for q, _ in found) else "invalid_request"
        return error_response(request.scope, 422, code, "; ".join(problems), problems=problems)


def create_app(settings: Settings, *, gateway: Gateway | None = None) -> FastAPI:
    """The service. Pass a prebuilt `gateway` (tests) or let the lifespan build one; either
    way the app closes it at shutdown."""

    mcp = McpOnFirstUse(lambda: app.state.gateway, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Logging is configured by now (uvicorn does it before the lifespan starts).
        install_log_redaction()
        # The app owns the gateway either way: its HTTP clients live on this event loop.
        # Building reads (and may migrate) the database: off the event loop, as every
        # store call is (tests/helpers/loop_guard.py holds the service to it).
        app.state.gateway = gateway or await asyncio.to_thread(Gateway.build, settings)
        stop = asyncio.Event()
        # Every process that decides keeps to the active policy revision, worker or not.
        background = asyncio.create_task(
            app.state.gateway.run_background(stop, worker=settings.run_worker)
        )
        try:
            async with mcp.serving():  # /mcp stops before the gateway closes
                yield
        finally:
            stop.set()
            await background
            await app.state.gateway.aclose()

    app = FastAPI(
        title="Jiragate",
        version=__version__,
        summary="A policy gate between AI assistants and Jira.",
        lifespan=lifespan,
    )
    if gateway is not None:
        app.state.gateway = gateway
    install_error_handlers(app)
    install_openapi(app)
    for module in (
        actions,
        approvals,
        policies,
        budgets,
        audit,
        webhooks,
        slack,
        cheqpoint_api,
        ops,
    ):
        app.include_router(module.router)
    _dispatch_directly(app, actions.router, actions.DIRECT_ROUTES)
    # MCP over streamable HTTP at /mcp (docs/mcp.md). An exact route, not a Mount: a Mount
    # at /mcp would redirect POST /mcp to /mcp/.
    app.router.routes.append(Route("/mcp", endpoint=mcp))
    # Jira's REST API (docs/proxy.md): existing Jira clients, gated by changing one URL.
    # First in the table: no other route starts with /rest/, and each route tried before it
    # costs every proxied request a match (the included routers' are the dearest).
    app.router.routes.insert(
        0, Route("/rest/{rest:path}", endpoint=proxy_endpoint, methods=METHODS)
    )
    mount_inbox(app, settings)  # the reviewer inbox pages at /inbox (docs/inbox.md)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    return app


def _dispatch_directly(
    app: FastAPI, router: APIRouter, routes: Collection[tuple[str, str]]
) -> None:
    """Serve the hottest routes through Starlette's plain request/response wrapper, placed
    ahead of their FastAPI routes (which stay, and document them in /openapi.json).

    Their endpoints take the bare `Request` and parse what they need themselves, so
    FastAPI's per-request machinery (dependency solving, its telemetry and exit-stack
    scopes) does nothing for them but costs ~40% of the app's CPU per request (measured
    with cProfile on POST /v1/evaluate). Errors still reach the same exception handlers:
    Starlette's wrapper looks them up exactly as FastAPI's does."""
    direct: dict[tuple[str, str], Route] = {}
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        for method in route.methods or ():
            if (method, route.path) in routes:
                direct[method, route.path] = Route(
                    route.path, route.endpoint, methods=[method], name=route.name
                )
    missing = set(routes) - set(direct)
    if missing:
        raise RuntimeError(f"no route to dispatch directly for {sorted(missing)}")
    # First in the table: a plain route matching only the path (another method) is passed
    # over for a full match further on, so GET /v1/actions still reaches its FastAPI route.
    app.router.routes[:0] = direct.values()


def create_app_from_environment() -> FastAPI:
    """The app for one of `jiragate serve --workers N`'s processes: settings from the file
    named by JIRAGATE_CONFIG (if any) and the environment, plus the command's overrides."""
    import json
    import os

    overrides = json.loads(os.environ.get("JIRAGATE_SERVE_OVERRIDES", "{}"))
    return create_app(Settings.from_file(os.environ.get("JIRAGATE_CONFIG"), **overrides))
