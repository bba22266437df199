"""Jira-shaped answers: `{"errorMessages": [...], "errors": {}}`, which every Jira client
raises with the messages and MCP servers hand to the model (docs/proxy.md, "Statuses").

The statuses were chosen by what the real clients do with them (measured in
tests/clients/test_proxy_clients.py): mcp-atlassian turns a 401/403 into "Authentication
failed … Token may be expired or invalid", which sends a model off to fix credentials, so a
policy's refusal is never a 403: it is a 400 (what Jira answers a request it will not carry
out, e.g. a transition that is not available), and a request held for review is a 409.

Jira Service Management answers errors in its own shape, `{"errorMessage": "..."}`, and its
clients read only that (atlassian-python-api's `ServiceDesk.raise_for_status`, mcp-atlassian's
customer requests): our errors on `/rest/servicedeskapi/` carry it too (`jsm_shaped`).
"""

from __future__ import annotations

import json
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


def jsm_shaped(response: Response) -> Response:
    """Our Jira-shaped error (a `jira_error`) with JSM's `errorMessage` added: the same text,
    for the clients of `/rest/servicedeskapi/`. Jira's own answers pass unchanged."""
    if not isinstance(response, JSONResponse) or response.status_code < 400:
        return response
    body = json.loads(bytes(response.body))
    if not isinstance(body, dict) or "errorMessages" not in body or "errorMessage" in body:
        return response
    body["errorMessage"] = " ".join(str(m) for m in body["errorMessages"])
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return JSONResponse(body, status_code=response.status_code, headers=headers)
