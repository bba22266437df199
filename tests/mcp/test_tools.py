"""Tool shapes: valid JSON Schemas, honest annotations, configurable exposure, clear errors."""

from __future__ import annotations

import asyncio

import pytest
from jsonschema import Draft202012Validator
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from jiragate.catalog import CATALOG, ActionKind, SideEffects
from jiragate.mcp import (
    DRY_RUN_TOOL,
    STATUS_TOOL,
    GatewayTools,
    action_input_schema,
    list_tools,
)
from jiragate.settings import Settings
from tests.policy.samples import SEED


def test_every_tool_schema_is_valid_json_schema_with_an_object_root():
    tools = list_tools(Settings())
    assert [t.name for t in tools] == [*CATALOG, STATUS_TOOL, DRY_RUN_TOOL]
    for tool in tools:
        Draft202012Validator.check_schema(tool.input_schema)
        assert tool.input_schema["type"] == "object", tool.name
        assert tool.description and len(tool.description) > 40, tool.name


def test_an_action_tool_takes_the_envelope_with_the_actions_schema_as_details():
    schema = action_input_schema("jira_create_tickets")
    assert schema["required"] == ["summary", "details"]
    assert set(schema["properties"]) == {"summary", "details", "justification", "idempotencyKey"}
    details = schema["properties"]["details"]
    assert "$id" not in details and "$schema" not in details
    assert details["required"] == ["projectKey", "issueCount", "issueType", "priority"]
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"summary": SEED["summary"], "details": SEED["details"]})
    assert not validator.is_valid({"summary": "x", "details": {**SEED["details"], "issueCount": 0}})
    # Reads take no idempotency key: repeating a read is harmless.
    assert "idempotencyKey" not in action_input_schema("jira_get_issue")["properties"]


def test_annotations_follow_the_catalog_not_the_agent():
    tools = {t.name: t for t in list_tools(Settings())}
    for name, spec in CATALOG.items():
        hints = tools[name].annotations
        assert hints is not None
        assert hints.read_only_hint is (spec.kind is ActionKind.READ), name
        assert hints.idempotent_hint is spec.idempotent, name
        assert hints.open_world_hint is True, name
        # Set explicitly for every tool: MCP's default for a missing hint is "destructive".
        # It is the spec's declared side effects (its kind's unless it declares more).
        assert hints.destructive_hint is (spec.effects is SideEffects.DESTRUCTIVE), name
        if spec.kind is ActionKind.DESTRUCTIVE:
            assert hints.destructive_hint is True, name
    assert tools["jira_delete_issues"].annotations.destructive_hint is True
    assert tools["jira_archive_issues"].annotations.destructive_hint is True
    assert tools["jira_create_tickets"].annotations.destructive_hint is False
    # A move is a write (gated like one) that renumbers the issue and may drop its fields:
    # the declaration, not the name, makes the client ask before calling it.
    move = tools["jira_move_issue"].annotations
    assert (move.read_only_hint, move.destructive_hint) == (False, True)
    assert CATALOG["jira_move_issue"].kind is ActionKind.WRITE
    assert "cannot be fully undone" in (tools["jira_move_issue"].description or "")
    for own in (STATUS_TOOL, DRY_RUN_TOOL):
        hints = tools[own].annotations
        assert (hints.read_only_hint, hints.destructive_hint) == (True, False), own


def test_a_write_tool_tells_the_model_what_the_gate_may_do():
    description = {t.name: t for t in list_tools(Settings())}["jira_create_tickets"].description
    assert description is not None
    for phrase in ("executed", "denied", "review group", STATUS_TOOL, "action_id"):
        assert phrase in description


def test_only_the_configured_actions_are_exposed_plus_status_and_dry_run():
    settings = Settings(mcp_actions=["jira_delete_issues", "jira_get_issue"])
    tools = {t.name: t for t in list_tools(settings)}
    # Catalog order, whatever order the configuration lists them in.
    assert list(tools) == ["jira_get_issue", "jira_delete_issues", STATUS_TOOL, DRY_RUN_TOOL]
    assert tools[DRY_RUN_TOOL].input_schema["properties"]["action"]["enum"] == [
        "jira_get_issue",
        "jira_delete_issues",
    ]


def test_an_unknown_action_in_the_configuration_is_refused_by_name():
    with pytest.raises(ValidationError, match=r"unknown action.*'jira_nuke_project'"):
        Settings(mcp_actions=["jira_get_issue", "jira_nuke_project"])


def test_calling_a_tool_that_is_not_offered_is_a_protocol_error_listing_the_offered_ones():
    settings = Settings(mcp_actions=["jira_get_issue"])

    def no_gateway() -> None:
        raise AssertionError("an unknown tool must be refused before the gateway is touched")

    tools = GatewayTools(no_gateway, settings)  # type: ignore[arg-type]
    with pytest.raises(MCPError, match=r"unknown tool 'jira_delete_issues'.*jira_get_issue"):
        asyncio.run(tools.call("jira_delete_issues", {}, agent="log-triage-bot"))


def test_an_action_registered_after_the_catalog_loaded_is_a_tool_with_its_own_hints():
    """The tools come from CATALOG when listed, not from a list fixed at import: an action a
    topic module registers later (or a plug-in) is offered, with hints from its spec."""
    from jiragate.catalog import ActionSpec, registered
    from jiragate.catalog.actions import counts

    spec = ActionSpec(
        "jira_purge_everything",
        ActionKind.DESTRUCTIVE,
        idempotent=False,
        count=counts(0),
        inline_schema={
            "description": "A throw-away destructive action for this test.",
            "type": "object",
            "additionalProperties": False,
            "properties": {},
        },
    )
    with registered(spec):
        tools = {t.name: t for t in list_tools(Settings())}
        hints = tools["jira_purge_everything"].annotations
        assert hints is not None
        assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (
            False,
            True,
            False,
        )
        assert (
            "jira_purge_everything" in tools["dry_run"].input_schema["properties"]["action"]["enum"]
        )
    assert "jira_purge_everything" not in {t.name for t in list_tools(Settings())}


def test_a_declared_destructive_write_is_announced_as_destructive_whatever_its_name():
    from jiragate.catalog import ActionSpec, registered
    from jiragate.catalog.actions import counts

    schema = {"description": "A throw-away write.", "type": "object", "properties": {}}
    spec = ActionSpec(
        "jira_innocent_looking_write",
        ActionKind.WRITE,
        idempotent=True,
        count=counts(1),
        inline_schema=schema,
        side_effects=SideEffects.DESTRUCTIVE,
    )
    with registered(spec):
        hints = {t.name: t for t in list_tools(Settings())}[spec.name].annotations
        assert hints is not None
        assert (hints.read_only_hint, hints.destructive_hint) == (False, True)


@pytest.mark.parametrize(
    ("kind", "effects"),
    [
        (ActionKind.READ, SideEffects.DESTRUCTIVE),  # a "read" that destroys: refused
        (ActionKind.READ, SideEffects.ADDITIVE),
        (ActionKind.WRITE, SideEffects.NONE),  # a write that claims to change nothing
        (ActionKind.DESTRUCTIVE, SideEffects.ADDITIVE),  # a delete announced as harmless
        (ActionKind.DESTRUCTIVE, SideEffects.NONE),
    ],
)
def test_a_declaration_may_announce_more_harm_than_its_kind_never_less(
    kind: ActionKind, effects: SideEffects
) -> None:
    from jiragate.catalog import ActionSpec, registered
    from jiragate.catalog.actions import counts

    spec = ActionSpec(
        "jira_mislabelled", kind, idempotent=True, count=counts(1), side_effects=effects
    )
    with pytest.raises(ValueError, match=r"jira_mislabelled.*cannot have"), registered(spec):
        pass
    assert "jira_mislabelled" not in CATALOG
