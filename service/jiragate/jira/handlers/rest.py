"""The proxy's generic actions (jira_rest_read, jira_rest_write): the request forwarded as
sent, once, with the service account's credentials; Jira's status, headers and body kept in
the result so a resent request gets Jira's own answer (docs/proxy.md)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from jiragate.errors import JiraHTTPError
from jiragate.jira.handlers.base import ActionCall, handles
from jiragate.jira.handlers.service_desk import JSM_HEADERS, SD

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter

#: A larger answer is recorded without its body (the record is for the audit, not a cache).
MAX_RECORDED_BODY = 256 * 1024


def query_pairs(query: Any) -> list[tuple[str, str]]:
    return [(str(name), str(value)) for name, values in dict(query).items() for value in values]


@handles("jira_rest_read")
@handles("jira_rest_write")
async def forward_request(jira: JiraAdapter, call: ActionCall) -> None:
    details = call.details
    body = details.get("body", None)
    raw = None if "body" not in details else json.dumps(body).encode("utf-8")
    path = str(details["path"])
    answer = await jira.client.forward(
        str(details["method"]),
        path,
        query=query_pairs(details["query"]),
        body=raw,
        # JSM's experimental operations need the opt-in header (handlers/service_desk.py).
        headers=JSM_HEADERS if path.startswith(f"{SD}/") else None,
    )
    recorded: Any = answer.json() if len(answer.body) <= MAX_RECORDED_BODY else None
    call.result.data = {
        "status": answer.status,
        "headers": [list(pair) for pair in answer.headers],
        "body": recorded,
        "bodyBytes": len(answer.body),
    }
    if answer.status >= 400:
        payload = recorded if isinstance(recorded, dict) else {}
        messages = payload.get("errorMessages")
        errors = payload.get("errors")
        call.result.fail(
            JiraHTTPError(
                answer.status,
                method=str(details["method"]),
                path=str(details["path"]),
                error_messages=[str(m) for m in messages] if isinstance(messages, list) else [],
                errors={str(k): str(v) for k, v in errors.items()}
                if isinstance(errors, dict)
                else {},
            )
        )
