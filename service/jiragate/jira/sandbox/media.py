"""Jira Cloud's media store, emulated: where Cloud sends an attachment download.

On Jira Cloud, `GET /rest/api/{2,3}/attachment/content/{id}` and `/attachment/thumbnail/{id}`
answer `303 See Other` with a `Location` on Atlassian's media store (a different origin,
`api.media.atlassian.com`), whose URL carries a short-lived token: the file is fetched there
without any Jira credential. `?redirect=false` serves the bytes from Jira itself. This is
Atlassian's Cloud platform spec (jira/openapi/jira-platform.v3.json, "Get attachment content"
and "Get attachment thumbnail": 303 "See the `Location` header for the download URL"; 200
"when `redirect` is set to `false`"). Data Center's REST API has no `redirect` parameter and
serves the bytes (the sandbox's datacenter profile does).

The sandbox's media store is the sandbox's own server reached under another host name, so it
is another origin (scheme, host, port) as the real one is: the site on
`http://127.0.0.1:PORT` sends files to `http://localhost:PORT/_media/...` and the reverse
(`media_origin`); on any other host, `SandboxState.media_url` names it. Its paths answer only
on that origin (404 on the Jira site's) and ask for no `Authorization`; the token in the URL
is all they check: an HMAC of the attachment id, the kind of file (`binary` or `image`) and
the expiry, under a key made when the sandbox starts (`SandboxState.media_secret`), valid
`SandboxState.media_token_seconds` (120 s by default).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from jiragate.jira.sandbox.context import state_of
from jiragate.jira.sandbox.middleware import MEDIA_PREFIX
from jiragate.jira.sandbox.state import Issue, SandboxState

_SWAPPED = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}


def media_origin(state: SandboxState) -> str:
    """The media store's base URL: `state.media_url`, else the site's with its host name
    swapped (127.0.0.1 <-> localhost), which browsers and HTTP clients treat as another
    origin. A site on any other host without `media_url` serves its media on its own origin."""
    if state.media_url:
        return state.media_url.rstrip("/")
    site = urlsplit(state.base_url)
    host = site.hostname or ""
    other = _SWAPPED.get(host, host)
    netloc = other if site.port is None else f"{other}:{site.port}"
    return f"{site.scheme}://{netloc}"


def find_attachment(state: SandboxState, ident: str) -> tuple[Issue, dict[str, Any]] | None:
    """The issue holding attachment `ident`, and the attachment (call under `state.lock`)."""
    for issue in state.issues.values():
        for item in issue.attachments:
            if item["id"] == ident:
                return issue, item
    return None


def _mac(state: SandboxState, ident: str, kind: str, expires: int) -> str:
    message = f"{kind}:{ident}:{expires}".encode()
    digest = hmac.new(state.media_secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def media_location(state: SandboxState, item: dict[str, Any], thumbnail: bool) -> str:
    """Where Cloud sends the download of attachment `item`: a signed, short-lived URL."""
    kind = "image" if thumbnail else "binary"
    expires = int(time.time()) + state.media_token_seconds
    token = f"{expires}.{_mac(state, str(item['id']), kind, expires)}"
    name = quote(str(item["filename"]), safe="")
    return (
        f"{media_origin(state)}{MEDIA_PREFIX}/file/{item['id']}/{kind}"
        f"?token={token}&client=jiragate-sandbox&name={name}&dl=true"
    )


def _valid(state: SandboxState, ident: str, kind: str, token: str) -> bool:
    stamp, _, mac = token.partition(".")
    if not stamp.isdigit() or int(stamp) <= time.time():
        return False
    return hmac.compare_digest(mac, _mac(state, ident, kind, int(stamp)))


def _refused(status: int, message: str) -> Response:
    return JSONResponse({"error": {"code": "Unauthorized", "title": message}}, status_code=status)


async def media_file(request: Request) -> Response:
    """`GET /_media/file/{id}/{binary|image}?token=...`: the file's bytes, for a valid token,
    on the media origin only; no Jira credential is asked for (nor looked at)."""
    state = state_of(request)
    origin = urlsplit(media_origin(state))
    if request.headers.get("host", "") != origin.netloc:
        return JSONResponse({"errorMessages": ["Null or unsupported resource"]}, status_code=404)
    ident = request.path_params["attachment_id"]
    kind = request.path_params["kind"]
    if kind not in ("binary", "image"):
        return _refused(404, "unknown file representation")
    if not _valid(state, ident, kind, request.query_params.get("token", "")):
        return _refused(401, "the token is missing, invalid or expired")
    with state.lock:
        found = find_attachment(state, ident)
        item = dict(found[1]) if found is not None else None
    if item is None:
        return _refused(404, "the file does not exist")
    data = base64.b64decode(item["content"])
    return Response(data, media_type=str(item["mimeType"]))


def build_router() -> APIRouter:
    router = APIRouter()
    router.add_api_route(
        f"{MEDIA_PREFIX}/file/{{attachment_id}}/{{kind}}", media_file, methods=["GET"]
    )
    return router
