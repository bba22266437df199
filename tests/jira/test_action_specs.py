"""One spec per action: everything that asks about an action reads its `ActionSpec`, and the
Jira handlers register against the spec's name (docs/architecture.md, "Adding an action").

The first test adds a throw-away action — a spec, a schema dict and a handler, nothing else —
and shows that validation, the policy facts, counting, reviewer edits, the inbox preview and
the Jira adapter (against the sandbox) all pick it up. The others check that the built-in
actions are complete: a schema file, exactly one handler, edit rules over their own fields and
a preview kind the inbox knows, and nothing registered that the catalog does not know."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jiragate import catalog
from jiragate.catalog import (
    ActionKind,
    ActionSpec,
    EditRule,
    apply_patch,
    count_of,
    get_spec,
    narrowed_details,
    parse_envelope,
    schemas_dir,
)
from jiragate.errors import (
    DetailsViolation,
    EditRefusedError,
    InvalidDetailsError,
    UnknownActionError,
)
from jiragate.jira import handlers
from jiragate.jira.config import JiraConfig
from jiragate.jira.handlers import ActionCall
from jiragate.jira.handlers.base import each
from jiragate.jira.operations import JiraAdapter
from jiragate.jira.sandbox.state import SandboxState
from jiragate.policy.facts import build_facts, details_field
from jiragate.store import ActionRecord
from jiragate.web.previews import HEADINGS, build_preview

EMAIL = "alice@example.com"
API_TOKEN = "sandbox-token-not-a-secret"

RETITLE = "jira_retitle_issues"
RETITLE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "description": "Give issues one new summary (a throw-away action for this test).",
    "type": "object",
    "additionalProperties": False,
    "required": ["issueKeys", "summary"],
    "properties": {
        "issueKeys": {
            "type": "array",
            "minItems": 1,
            "maxItems": 10,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]{1,9}-[1-9][0-9]*(?![\\s\\S])"},
        },
        "summary": {"type": "string", "minLength": 1, "maxLength": 255},
    },
}


def _no_shouting(details: Any) -> list[DetailsViolation]:
    if details["summary"].isupper():
        return [DetailsViolation("/summary", "no-shouting", "summary is all capitals")]
    return []


RETITLE_SPEC = ActionSpec(
    RETITLE,
    ActionKind.WRITE,
    idempotent=True,
    count=catalog.actions.counts_items("issueKeys"),
    edit_rules={"issueKeys": EditRule.SUBSET, "summary": EditRule.TEXT},
    preview="generic",
    preview_heading="Issues that would be retitled",
    invariants=(_no_shouting,),
    inline_schema=RETITLE_SCHEMA,
)


async def retitle(jira: JiraAdapter, call: ActionCall) -> None:
    body = {"fields": {"summary": call.details["summary"]}}

    async def put(key: str) -> bool:
        await jira.client.put(jira.api(f"/issue/{key}"), body)
        return True

    await each(call.details["issueKeys"], call.result, put)


@pytest.fixture
def retitle_action() -> Any:
    with catalog.registered(RETITLE_SPEC), handlers.registered(RETITLE, retitle):
        yield RETITLE_SPEC


def test_a_new_action_is_one_spec_one_schema_one_handler(
    retitle_action: ActionSpec, sandbox: tuple[str, SandboxState]
) -> None:
    envelope = {
        "action": RETITLE,
        "summary": "Retitle two issues",
        "details": {"issueKeys": ["ENG-1", "ENG-2"], "summary": "Checkout v2"},
    }
    # The catalog: the kind comes from the spec, the schema and the invariants apply.
    request = parse_envelope(envelope)
    assert request.kind is ActionKind.WRITE
    with pytest.raises(InvalidDetailsError) as widened:
        parse_envelope({**envelope, "details": {"issueKeys": ["ENG-1", "HR-2"], "summary": "x"}})
    assert [v.rule for v in widened.value.violations] == ["single-project"]
    with pytest.raises(InvalidDetailsError) as shouting:
        parse_envelope({**envelope, "details": {"issueKeys": ["ENG-1"], "summary": "NOW"}})
    assert [(v.pointer, v.rule) for v in shouting.value.violations] == [("/summary", "no-shouting")]
    with pytest.raises(InvalidDetailsError):
        parse_envelope({**envelope, "details": {"issueKeys": [], "summary": "x"}})

    # The facts a policy sees, and the type of its details fields.
    facts = build_facts(request, "agent-1")
    assert (facts["kind"], facts["project"], facts["count"]) == ("write", "ENG", 2)
    assert count_of(RETITLE, request.details) == 2
    field = details_field("summary", [RETITLE])
    assert field is not None and field.family == "string"

    # Reviewer edits: the spec's rules narrow it; anything else is fixed.
    narrowed = narrowed_details(RETITLE, request.details, {"issueKeys": ["ENG-2"]})
    assert narrowed == {"issueKeys": ["ENG-2"], "summary": "Checkout v2"}
    assert apply_patch(RETITLE, request.details, {"summary": "Reworded"})["summary"] == "Reworded"
    with pytest.raises(EditRefusedError) as refused:
        narrowed_details(RETITLE, request.details, {"issueKeys": ["ENG-1", "ENG-2", "ENG-3"]})
    assert [(v.pointer, v.rule) for v in refused.value.violations] == [("/issueKeys", "subset")]

    # The inbox preview: the spec's kind and heading, the dropped issue marked.
    record = ActionRecord(
        agent="agent-1",
        action=RETITLE,
        summary=request.summary,
        details=request.details,
        kind="write",
        decision="require_approval",
    )
    preview = asyncio.run(build_preview(None, record, narrowed, live=False))
    assert (preview.kind, preview.heading) == ("generic", "Issues that would be retitled")
    assert [(row.key, row.dropped) for row in preview.issues] == [("ENG-1", True), ("ENG-2", False)]

    # The adapter runs it through its handler, against the sandbox.
    base_url, state = sandbox
    state.basic_auth = (EMAIL, API_TOKEN)
    config = JiraConfig(base_url=base_url, flavour="cloud", email=EMAIL, api_token=API_TOKEN)

    async def run() -> Any:
        async with JiraAdapter(config) as adapter:
            return await adapter.execute(RETITLE, narrowed, action_id="retitle1", summary="s")

    result = asyncio.run(run())
    assert (result.outcome, result.updated) == ("succeeded", ["ENG-2"])
    assert state.issues["ENG-2"].summary == "Checkout v2"
    assert state.issues["ENG-1"].summary != "Checkout v2"


def test_the_throw_away_action_leaves_nothing_behind() -> None:
    with catalog.registered(RETITLE_SPEC), handlers.registered(RETITLE, retitle):
        assert get_spec(RETITLE) is RETITLE_SPEC
    with pytest.raises(UnknownActionError):
        get_spec(RETITLE)
    assert RETITLE not in handlers.HANDLERS
    assert handlers.missing_handlers() == []


def test_every_action_has_a_schema_file_a_handler_edit_rules_and_a_preview() -> None:
    files = {path.stem for path in (schemas_dir() / "actions").glob("*.json")}
    assert files == set(catalog.CATALOG) == set(catalog.ACTION_NAMES)
    assert set(handlers.HANDLERS) == set(catalog.CATALOG)
    topic_modules = {module.__name__ for module in handlers.TOPICS}
    for name, spec in catalog.CATALOG.items():
        assert spec.inline_schema is None, name  # built-ins keep their schema in a file
        properties = spec.schema["properties"]
        assert set(spec.edit_rules) <= set(properties), name
        assert spec.preview in HEADINGS, name
        assert handlers.HANDLERS[name].__module__ in topic_modules, name


def test_a_handler_for_an_action_the_catalog_does_not_know_is_refused() -> None:
    with pytest.raises(UnknownActionError):
        handlers.handles("jira_not_in_the_catalog")(retitle)
    with pytest.raises(ValueError, match="two Jira handlers"):
        handlers.handles("jira_get_issue")(retitle)
    assert handlers.HANDLERS["jira_get_issue"] is not retitle


def test_an_action_declared_twice_or_with_an_unknown_preview_is_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        catalog.register(get_spec("jira_get_issue"))
    odd = ActionSpec(
        "jira_odd",
        ActionKind.READ,
        idempotent=True,
        count=lambda d: 0,
        preview="fancy",  # type: ignore[arg-type]
    )
    with pytest.raises(ValueError, match="unknown preview kind"):
        catalog.register(odd)
    assert "jira_odd" not in catalog.CATALOG


def test_an_adapter_will_not_start_while_an_action_has_no_handler(
    sandbox: tuple[str, SandboxState],
) -> None:
    config = JiraConfig(base_url=sandbox[0], flavour="cloud", email=EMAIL, api_token=API_TOKEN)
    with catalog.registered(RETITLE_SPEC), pytest.raises(RuntimeError, match=RETITLE):
        JiraAdapter(config)
