"""The inbox web app: built by a factory and mounted under `/inbox` on the service.

It is its own small ASGI app (mounted, not merged into the JSON API) so that its errors are
HTML pages rather than JSON bodies, and every response it sends, static files and errors
included, carries the security headers below. It reads the service's gateway lazily, because
the service builds the gateway in its lifespan, after the app exists.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jiragate.errors import StoreError
from jiragate.gateway import Gateway
from jiragate.gateway.records import InboxAuthStore, SessionLimits, ThrottleRule
from jiragate.passwords import dummy_hash
from jiragate.settings import Settings
from jiragate.web.auth import SessionCodec, session_secret

log = logging.getLogger("jiragate.web")

HERE = Path(__file__).parent
# Nothing inline, nothing from elsewhere: agent text that slipped through escaping could
# still not run a script or load anything. `form-action 'self'` keeps forms on this site.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """Adds the security headers (and no-store on pages) to every inbox response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = "/static/" in scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if not static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


#: argon2id checks running at once per process: each takes 64 MiB and a core for ~0.1 s, so a
#: burst of sign-ins waits its turn instead of exhausting memory.
MAX_CONCURRENT_PASSWORD_CHECKS = 4


@dataclass(slots=True)
class InboxContext:
    """What every inbox handler needs; one per app (no globals)."""

    settings: Settings
    codec: SessionCodec
    templates: jinja2.Environment
    get_gateway: Callable[[], Gateway]
    #: Cookies only travel over HTTPS when the service is served over HTTPS.
    secure_cookies: bool = False
    password_checks: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(MAX_CONCURRENT_PASSWORD_CHECKS)
    )
    _auth: InboxAuthStore | None = None

    @property
    def gateway(self) -> Gateway:
        return self.get_gateway()

    @property
    def auth(self) -> InboxAuthStore:
        """Sessions and sign-in counters, in the gateway's database (built on first use:
        the service builds its gateway after this app)."""
        return self.gateway.inbox_auth()

    @property
    def session_limits(self) -> SessionLimits:
        return SessionLimits(
            idle=timedelta(seconds=self.settings.inbox_session_idle_seconds),
            lifetime=timedelta(seconds=self.settings.inbox_session_max_seconds),
        )

    @property
    def throttle_rule(self) -> ThrottleRule:
        return ThrottleRule(
            max_failures=self.settings.inbox_signin_max_failures,
            window=timedelta(seconds=self.settings.inbox_signin_window_seconds),
        )

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.templates.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status)


def template_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        # Everything is escaped unless a template says otherwise, and none of ours does for
        # anything an agent sent.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def create_inbox_app(settings: Settings, get_gateway: Callable[[], Gateway]) -> FastAPI:
    """The inbox as an ASGI app; mount it at `/inbox` (see `mount_inbox`)."""
    from jiragate.web.routes import build_router

    if any(r.password_hash is not None for r in settings.reviewers):
        dummy_hash()  # made now, so the first sign-in with an unknown name is not the slow one
    context = InboxContext(
        settings=settings,
        codec=SessionCodec(session_secret(settings)),
        templates=template_environment(),
        get_gateway=get_gateway,
        secure_cookies=bool(settings.public_url and settings.public_url.startswith("https:")),
    )
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.inbox = context
    app.include_router(build_router(context))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _install_error_pages(app, context)
    app.add_middleware(SecurityHeaders)
    return app


def _install_error_pages(app: FastAPI, context: InboxContext) -> None:
    titles = {403: "Not allowed", 404: "Not found", 405: "Not allowed", 503: "Unavailable"}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return context.render(
            "error.html",
            status=exc.status_code,
            title=titles.get(exc.status_code, "Something went wrong"),
            message=str(exc.detail),
            user=None,
            csrf_token="",
        )

    @app.exception_handler(StoreError)  # every database failure (store/dberrors.py)
    async def database_down(request: Request, exc: Exception) -> Response:
        log.error("inbox: database unavailable: %s", type(exc).__name__)
        return context.render(
            "error.html",
            status=503,
            title="Database unavailable",
            message="The database is unavailable right now; nothing was changed. Try again.",
            user=None,
            csrf_token="",
        )


def mount_inbox(app: FastAPI, settings: Settings) -> None:
    """Serve the reviewer inbox under `/inbox` on the service `app`."""
    app.mount("/inbox", create_inbox_app(settings, lambda: app.state.gateway), name="inbox")
