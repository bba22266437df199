"""Jira-shaped answers: `{"errorMessages": [...], "errors": {}}`, which every Jira client
raises with the messages and MCP servers hand to the model (docs/proxy.md, "Statuses").

The statuses were chosen by what the real clients do with them (measured in
tests/clients/test_proxy_clients.py): mcp-atlassian turns a 401/403 into "Authentication
failed … Token may be expired or invalid", which sends a model off to fix credentials, so a
policy's refusal is never a 403: it is a 400 (what Jira answers a request it will not carry
out, e.g. a transition that is not available), and a request held for review is a 409.

Jira's links are Jiragate's: `relinked` rewrites those in a JSON answer (`self`, `baseUrl`),
`relocated` a redirect's `Location` on Jira's own site; a `Location` elsewhere (Jira Cloud's
media store, for an attachment download) is the client's to follow, unchanged.

Jira Service Management answers errors in its own shape, `{"errorMessage": "..."}`, and its
clients read only that (atlassian-python-api's `ServiceDesk.raise_for_status`, mcp-atlassian's
customer requests): our errors on `/rest/servicedeskapi/` carry it too (`jsm_shaped`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

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


def relinked(data: bytes, upstream: str, base_url: str) -> bytes:
    """Jira's links (`self`, `baseUrl`) pointing at us, not at Jira: a client following
    one would otherwise call Jira directly, with its agent key (which Jira refuses)."""
    site = upstream.rstrip("/").encode()
    return data.replace(site, base_url.encode()) if site else data


def _origin(url: str) -> tuple[str, str, int | None] | None:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # a port that is no number: no origin anyone can compare
        return None
    scheme = parts.scheme.lower()
    default = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port if port is not None else default


def relocated(location: str, *, upstream: str, sent_to: str, base_url: str) -> str | None:
    """A redirect's `Location` as the client may see it. Resolved against the URL the request
    was sent to (`sent_to`): on another host than Jira's site (`upstream`), it is passed
    unchanged (Jira Cloud's media store: a signed URL that needs no credential); inside the
    site, it is `relinked` to Jiragate's URL, so a redirect within Jira comes back through
    the gate; on the site's host but another scheme or port, outside the site's path (a
    context path's sibling), with user info, or with no comparable origin, None: dropped,
    never a URL of Jira's host handed out."""
    target = urljoin(sent_to, location.strip())
    here, site = _origin(target), _origin(upstream)
    if here is None or site is None:
        return None
    if here[1] != site[1]:
        return location
    if here != site:  # Jira's host on another scheme or port: not the site Jiragate fronts
        return None
    parts = urlsplit(target)
    base_path = urlsplit(upstream).path.rstrip("/")
    if parts.username is not None or parts.password is not None:
        return None
    if parts.path != base_path and not parts.path.startswith(base_path + "/"):
        return None
    rest = parts.path[len(base_path) :]
    rest += f"?{parts.query}" if parts.query else ""
    rest += f"#{parts.fragment}" if parts.fragment else ""
    return relinked((upstream.rstrip("/") + rest).encode(), upstream, base_url).decode()
