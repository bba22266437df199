"""An upstream that answers every request with an error echoing the request's headers back,
as some proxies, debug builds and misconfigured servers do: the worst case for credentials
that Jiragate sends (the Jira Basic header, the Cheqpoint Connection Key).

`create_echo_upstream("json", 400)` answers Jira's error shape, `{"errorMessages": [...],
"errors": {...}}`; `"text"` answers the headers as plain text lines (Cheqpoint's client and
Jira's both fall back to showing a non-JSON body). Every request seen is kept in `seen`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


def create_echo_upstream(kind: str, status: int) -> tuple[Starlette, list[dict[str, str]]]:
    seen: list[dict[str, str]] = []

    async def echo(request: Request) -> Response:
        headers = dict(request.headers)
        seen.append(headers)
        if kind == "text":
            lines = "\n".join(f"{name}: {value}" for name, value in headers.items())
            return PlainTextResponse(f"rejected request\n{lines}", status_code=status)
        body: dict[str, Any] = {
            "errorMessages": [f"rejected request with headers {json.dumps(headers)}"],
            "errors": {name: value for name, value in headers.items()},
            "error": f"echo: {headers}",
        }
        return JSONResponse(body, status_code=status)

    methods = ["GET", "POST", "PUT", "DELETE"]
    app = Starlette(routes=[Route("/{path:path}", echo, methods=methods)])
    return app, seen
