"""Jira-shaped answers: `{"errorMessages": [...], "errors": {}}`, which every Jira client
raises with the messages and MCP servers hand to the model (docs/proxy.md, "Statuses").

The statuses were chosen by what the real clients do with them (measured in
tests/clients/test_proxy_clients.py): mcp-atlassian turns a 401/403 into "Authentication
failed … Token may be expired or invalid", which sends a model off to fix credentials, so a
policy's refusal is never a 403: it is a 400 (what Jira answers a request it will not carry
out, e.g. a transition that is not available), and a request held for review is a 409.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import JSONResponse, Response

#: A policy denied the request, or a reviewer rejected it (never 403: see above).
DENIED_STATUS = 400
#: Held for review; send the same request again later.
PENDING_STATUS = 409


def jira_error(
    status: int,
    messages: Sequence[str],
    errors: Mapping[str, str] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"errorMessages": list(messages), "errors": dict(errors or {})}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def raw_answer(status: int, headers: Sequence[Sequence[str]], body: bytes) -> Response:
    """Jira's own answer, as the adapter received it (only the headers it lets through)."""
    passed = {str(name).lower(): str(value) for name, value in headers}
    passed.pop("content-length", None)  # Starlette sets it for the body it sends
    media = passed.pop("content-type", None)
    return Response(content=body, status_code=status, headers=passed, media_type=media)
