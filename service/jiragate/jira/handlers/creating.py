"""Creating issues exactly once: marker labels and property on every create, found again
before creating and after any lost answer (jira/markers.py). Used by issues and epics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jiragate.errors import JiraHTTPError
from jiragate.jira.markers import MARKER_PROPERTY, is_reserved_label, issue_marker
from jiragate.jira.results import ExecutionResult, Failure
from jiragate.jira.shapes import BULK_CREATE_LIMIT, chunked

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter


def issue_fields(
    jira: JiraAdapter,
    *,
    project: str,
    issue_type: str,
    summary: str,
    description: str | None = None,
    priority: str | None = None,
    labels: Sequence[str] = (),
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "project": {"key": project},
        "summary": summary,
        "issuetype": {"name": issue_type},
        "labels": list(labels),
    }
    if description:
        fields["description"] = jira.rich_text(description)
    if priority:
        fields["priority"] = {"name": priority}
    return fields


def with_markers(
    jira: JiraAdapter, fields: Mapping[str, Any], action_id: str, index: int
) -> dict[str, Any]:
    """An `IssueUpdateDetails` body: the fields plus the marker labels and property."""
    prefix = jira.config.marker_label_prefix
    labels = [label for label in fields.get("labels", []) if not is_reserved_label(label, prefix)]
    marked = {
        **fields,
        "labels": [*labels, jira.marker_label(action_id), jira.ticket_label(action_id, index)],
    }
    value = issue_marker(jira.config.marker_key, action_id, index)
    return {"fields": marked, "properties": [{"key": MARKER_PROPERTY, "value": value}]}


async def create_all(
    jira: JiraAdapter, tickets: Sequence[dict[str, Any]], action_id: str, result: ExecutionResult
) -> None:
    """Create `tickets` (fields, by index) exactly once, in bulk chunks of 50."""
    existing = await jira.find_created(action_id)
    for index, key in sorted(existing.items()):
        if index < len(tickets):
            result.created.append({"index": index, "key": key})
    recovered = sorted(i for i in existing if i < len(tickets))
    pending = [i for i in range(len(tickets)) if i not in existing]
    rounds = 0
    while pending and rounds <= jira.config.max_retries:
        missing: list[int] = []
        for chunk in chunked(pending, BULK_CREATE_LIMIT):
            missing += await _create_chunk(jira, chunk, tickets, action_id, result)
        pending, rounds = missing, rounds + 1
    for index in pending:
        result.failures.append(
            Failure(reason="Jira did not confirm this ticket was created", index=index)
        )
    result.created.sort(key=lambda item: item["index"])
    result.data = {"recovered": recovered} if recovered else None


async def _create_chunk(
    jira: JiraAdapter,
    chunk: list[int],
    tickets: Sequence[dict[str, Any]],
    action_id: str,
    result: ExecutionResult,
) -> list[int]:
    """POST one bulk chunk; record what it created or refused; return indexes still unknown."""
    body = {"issueUpdates": [with_markers(jira, tickets[i], action_id, i) for i in chunk]}

    async def recover() -> dict[str, Any] | None:
        found = await jira.find_created(action_id)
        hits = [{"key": found[i], "index": i} for i in chunk if i in found]
        return {"recovered": hits} if hits else None

    try:
        answer = await jira.client.post(
            jira.api("/issue/bulk"), body, recover=recover, ok_statuses=(400,)
        )
    except JiraHTTPError as exc:  # a definitive refusal of the whole chunk (401, 403, 413)
        for index in chunk:
            result.fail(exc, index=index)
        return []
    answer = answer or {}
    if "recovered" in answer:
        hits = answer["recovered"]
        result.created.extend(hits)
        done = {hit["index"] for hit in hits}
        return [i for i in chunk if i not in done]
    failed_positions = _record_element_errors(jira, answer, chunk, result)
    created = answer.get("issues") or []
    succeeded = [chunk[p] for p in range(len(chunk)) if p not in failed_positions]
    if len(created) == len(succeeded):
        # Jira lists created issues in request order, skipping the failed elements.
        for index, issue in zip(succeeded, created, strict=True):
            result.created.append({"index": index, "key": str(issue["key"])})
        return []
    if not created and not answer.get("errors"):
        # An answer we cannot map (e.g. a 400 without element errors): all refused.
        messages = answer.get("errorMessages") or ["bulk create refused"]
        for index in chunk:
            result.fail(
                JiraHTTPError(
                    400,
                    method="POST",
                    path=jira.api("/issue/bulk"),
                    error_messages=messages,
                    errors=answer.get("errors") if isinstance(answer.get("errors"), dict) else {},
                    ticket_index=index,
                ),
                index=index,
            )
        return []
    # Counts disagree: map by the ticket labels instead of by position.
    found = await jira.find_created(action_id)
    for index in succeeded:
        if index in found:
            result.created.append({"index": index, "key": found[index]})
    return [i for i in succeeded if i not in found]


def _record_element_errors(
    jira: JiraAdapter, answer: Mapping[str, Any], chunk: list[int], result: ExecutionResult
) -> set[int]:
    """Record each element Jira refused in a bulk answer; their positions in the chunk."""
    failed_positions: set[int] = set()
    for error in answer.get("errors") or []:
        position = error.get("failedElementNumber")
        if not isinstance(position, int) or not 0 <= position < len(chunk):
            continue
        failed_positions.add(position)
        element = error.get("elementErrors") or {}
        http_error = JiraHTTPError(
            int(error.get("status") or 400),
            method="POST",
            path=jira.api("/issue/bulk"),
            error_messages=element.get("errorMessages") or [],
            errors=element.get("errors") or {},
            ticket_index=chunk[position],
        )
        result.fail(http_error, index=chunk[position])
    return failed_positions


async def create_one(
    jira: JiraAdapter, fields: dict[str, Any], action_id: str, result: ExecutionResult
) -> str | None:
    """POST /issue once per action id; the key (found again after a lost answer) or None."""
    existing = await jira.find_created(action_id)
    if 0 in existing:
        result.created.append({"index": 0, "key": existing[0]})
        result.data = {"recovered": [0]}
        return existing[0]

    async def recover() -> dict[str, Any] | None:
        found = await jira.find_created(action_id)
        return {"key": found[0]} if 0 in found else None

    try:
        answer = await jira.client.post(
            jira.api("/issue"), with_markers(jira, fields, action_id, 0), recover=recover
        )
    except JiraHTTPError as exc:
        result.fail(exc, index=0)
        return None
    key = str(answer["key"])
    result.created.append({"index": 0, "key": key})
    return key


async def keeping_markers(jira: JiraAdapter, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """An edit that replaces the label set keeps the issue's marker labels: dropping them
    would let a retry of the action that created the issue create it again."""
    labels = (body.get("fields") or {}).get("labels")
    if labels is None:
        return body
    issue = await jira.client.get(jira.api(f"/issue/{key}"), query={"fields": "labels"})
    current = ((issue or {}).get("fields") or {}).get("labels") or []
    prefix = jira.config.marker_label_prefix
    kept = [label for label in current if is_reserved_label(label, prefix)]
    if not kept:
        return body
    merged = list(dict.fromkeys([*labels, *kept]))
    return {**body, "fields": {**body["fields"], "labels": merged}}
