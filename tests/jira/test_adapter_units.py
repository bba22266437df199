"""Adapter pieces that need no Jira: ADF, JQL restriction, titles, input checks."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from jiragate import jql
from jiragate.errors import InvalidDetailsError, JiraUnsupportedError, UnknownActionError
from jiragate.jira.adf import adf_to_text, text_to_adf
from jiragate.jira.config import JiraConfig
from jiragate.jira.operations import JiraAdapter, numbered_summary, trim_issue
from jiragate.jira.results import ExecutionResult, Failure

# --------------------------------------------------------------------------- ADF


def test_plain_text_becomes_one_paragraph_per_blank_line_block() -> None:
    doc = text_to_adf("First line\nsecond line\n\n\nNext paragraph\n")
    assert doc == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "First line"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "second line"},
                ],
            },
            {"type": "paragraph", "content": [{"type": "text", "text": "Next paragraph"}]},
        ],
    }


def test_adf_never_holds_empty_text_nodes() -> None:
    assert text_to_adf("") == {"type": "doc", "version": 1, "content": []}
    assert text_to_adf("\r\n  \r\n") == {"type": "doc", "version": 1, "content": []}
    doc = text_to_adf("a\n\nb\r\n\r\nc")
    texts = [node for para in doc["content"] for node in para["content"]]
    assert all(node.get("text") for node in texts if node["type"] == "text")
    assert len(doc["content"]) == 3


@pytest.mark.parametrize("text", ["one", "one\ntwo", "p1\n\np2\n\np3 with ünïcode"])
def test_adf_round_trips_to_the_same_text(text: str) -> None:
    assert adf_to_text(text_to_adf(text)) == text


def test_adf_to_text_keeps_unknown_nodes_text_and_passes_strings_through() -> None:
    def para(text: str) -> dict[str, Any]:
        return {"type": "paragraph", "content": [{"type": "text", "text": text}]}

    items = [{"type": "listItem", "content": [para(t)]} for t in ("a", "b")]
    doc = {
        "type": "doc",
        "content": [
            {"type": "panel", "content": [para("note")]},
            {"type": "bulletList", "content": items},
        ],
    }
    assert adf_to_text(doc) == "note\n\na\nb"
    assert adf_to_text("plain v2 text") == "plain v2 text"
    assert adf_to_text(None) == ""


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status = Done", 'project = "ENG" AND (status = "Done")'),
        ("a = 1 OR b = 2", 'project = "ENG" AND (a = 1 OR b = 2)'),
        (
            "status = Done order by created DESC",
            'project = "ENG" AND (status = "Done") ORDER BY created DESC',
        ),
        (
            'summary ~ "order by" ORDER BY key',
            'project = "ENG" AND (summary ~ "order by") ORDER BY key',
        ),
        ("ORDER BY created", 'project = "ENG" ORDER BY created'),
    ],
)
def test_the_sent_jql_wraps_the_parsed_condition_and_keeps_order_by(
    text: str, expected: str
) -> None:
    assert jql.for_jira(text, "ENG") == expected


def test_numbered_summary_stays_within_jiras_255_characters() -> None:
    assert numbered_summary("Disk alert", 3, 12) == "Disk alert (3/12)"
    long = numbered_summary("x" * 300, 999, 1000)
    assert len(long) == 255
    assert long.endswith(" (999/1000)")


def test_trim_issue_flattens_objects_and_adf() -> None:
    issue = {
        "id": "10001",
        "key": "ENG-1",
        "self": "https://x/rest/api/3/issue/10001",
        "fields": {
            "summary": "s",
            "status": {"name": "Done", "id": "3", "statusCategory": {"key": "done"}},
            "assignee": {"accountId": "abc", "displayName": "Alice", "avatarUrls": {}},
            "description": text_to_adf("hello"),
            "labels": ["a"],
        },
    }
    assert trim_issue(issue) == {
        "key": "ENG-1",
        "id": "10001",
        "fields": {
            "summary": "s",
            "status": {"name": "Done"},
            "assignee": {"accountId": "abc", "displayName": "Alice"},
            "description": "hello",
            "labels": ["a"],
        },
    }


def test_result_outcome_follows_what_happened() -> None:
    result = ExecutionResult(action="jira_delete_issues")
    assert result.outcome == "succeeded"
    result.failures.append(Failure(reason="no", key="ENG-2"))
    assert result.outcome == "failed"
    result.touch("ENG-1")
    result.touch("ENG-1")
    assert result.outcome == "partial"
    assert result.as_dict() == {
        "action": "jira_delete_issues",
        "outcome": "partial",
        "created": [],
        "updated": ["ENG-1"],
        "failures": [{"key": "ENG-2", "errorMessages": [], "errors": {}, "reason": "no"}],
        "data": None,
        "calls": 0,
    }


# --------------------------------------------------------------------------- refusals


def _adapter(flavour: str = "cloud") -> tuple[JiraAdapter, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    credentials: dict[str, Any] = (
        {"email": "bot@x.test", "api_token": "t"}
        if flavour == "cloud"
        else {"personal_access_token": "p"}
    )
    config = JiraConfig(base_url="https://x.test", flavour=flavour, **credentials)  # type: ignore[arg-type]
    return JiraAdapter(config, transport=httpx.MockTransport(handler)), seen


def test_execute_refuses_bad_input_before_calling_jira() -> None:
    adapter, seen = _adapter()

    async def attempt(action: str, details: dict[str, Any], action_id: str = "a1") -> None:
        await adapter.execute(action, details, action_id=action_id, summary="s")

    with pytest.raises(UnknownActionError):
        asyncio.run(attempt("jira_drop_table", {}))
    with pytest.raises(InvalidDetailsError, match="issueKeys"):
        asyncio.run(attempt("jira_delete_issues", {"issueKeys": "ENG-1"}))
    with pytest.raises(ValueError, match="action_id"):
        asyncio.run(attempt("jira_delete_issues", {"issueKeys": ["ENG-1"]}, "has space"))
    assert seen == []


def test_archive_on_data_center_is_a_clear_unsupported_error() -> None:
    adapter, seen = _adapter("datacenter")
    with pytest.raises(JiraUnsupportedError, match="Data Center has no archive endpoint"):
        asyncio.run(
            adapter.execute(
                "jira_archive_issues", {"issueKeys": ["ENG-1"]}, action_id="a1", summary="s"
            )
        )
    assert seen == []
