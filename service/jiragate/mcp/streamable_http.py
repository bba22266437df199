"""`/mcp` over streamable HTTP: stateless, every request authenticated as an agent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from jiragate.gateway import Gateway
from jiragate.mcp.server import AGENT_SCOPE_KEY, build_server
from jiragate.settings import Settings


def _json_error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="jiragate"'} if status == 401 else None
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


class McpHttpEndpoint:
    """`/mcp`: streamable HTTP, every request authenticated with an agent's API key.

    Stateless: each POST carries one JSON-RPC exchange and nothing of it is kept in this
    process, so replicas behind a load balancer need no session affinity (any replica can
    answer any request, progress notifications included, since they travel on the request's
    own response stream). The key is checked on every request, so a revoked key stops
    working at once, and there is no session id to steal.
    """

    def __init__(self, gateway: Callable[[], Gateway], settings: Settings) -> None:
        self._gateway = gateway
        self.settings = settings
        self._manager: StreamableHTTPSessionManager | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the session manager (one per app lifespan; the SDK's manager runs once)."""
        server = build_server(self._gateway, self.settings)
        manager = StreamableHTTPSessionManager(app=server, stateless=True)
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def _authenticate(self, request: Request) -> tuple[str | None, JSONResponse | None]:
        gateway = self._gateway()
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        reason: str
        status = 401
        if scheme.lower() != "bearer" or not key.strip():
            reason = "missing API key (send Authorization: Bearer <agent API key>)"
        else:
            agent = self.settings.agent_for_key(key.strip())
            reviewer = None if agent else self.settings.reviewer_for_key(key.strip())
            if agent is not None and not agent.revoked:
                return agent.name, None
            if agent is not None:
                reason = f"the API key of agent {agent.name} is revoked"
            elif reviewer is not None:
                reason, status = f"{reviewer.name} is a reviewer, not an agent", 403
            else:
                reason = "unknown API key"
        # The audit write is blocking database work: off the event loop.
        await asyncio.to_thread(
            gateway.note_event,
            action_id=None,
            actor="anonymous",
            type="auth.refused",
            data={"path": request.url.path, "method": request.method, "reason": reason},
        )
        code = "unauthorized" if status == 401 else "forbidden"
        return None, _json_error(status, code, reason)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager = self._manager
        if scope["type"] != "http" or manager is None:
            await _json_error(503, "unavailable", "the MCP endpoint is not running")(
                scope, receive, send
            )
            return
        agent, refusal = await self._authenticate(Request(scope))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        # The session manager compares this identity with the session's opener. The token
        # field names the agent, not its key: the key is kept nowhere it could leak from.
        token = AccessToken(token=f"agent:{agent}", client_id=str(agent), scopes=[])
        user = AuthenticatedUser(token)
        await manager.handle_request({**scope, "user": user, AGENT_SCOPE_KEY: agent}, receive, send)
