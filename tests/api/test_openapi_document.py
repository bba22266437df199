"""`/openapi.json` is the API's contract: every operation says who may call it, what body it
takes and every error status it answers, each with the error envelope its path speaks; the
bodies it describes are the ones the strict parsers accept.

(tests/hostile/test_schemathesis.py checks real answers against the document; this file
checks that the document is complete, so nothing can be left out of that comparison.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.routing import APIRoute
from hypothesis import given, settings
from hypothesis import strategies as st

from jiragate.api.app import create_app
from jiragate.catalog import ACTION_NAMES, parse_envelope
from jiragate.errors import ActionError, InvalidDetailsError
from jiragate.settings import Settings
from tests.helpers.service import settings_data
from tests.policy.test_catalog import near_valid

# What the catalog checks beyond any JSON Schema (catalog.py, docs/architecture.md), and
# the strict-JSON checks (NUL, lone surrogates) a schema cannot say either.
RULES_NO_SCHEMA_STATES = {
    "single-project",
    "count-matches-tickets",
    "jql-in-project",
    "strict-json",
}
# Operations that answer without any database work (no audit of a refused key either).
NO_DATABASE = {("get", "/healthz"), ("get", "/metrics")}
# A non-2xx answer that is not an error envelope: /readyz's 503 is its readiness report.
NOT_AN_ERROR = {("get", "/readyz", "503")}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return app_spec(tmp_path_factory.mktemp("openapi"))[1]


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> list[APIRoute]:
    app, _ = app_spec(tmp_path_factory.mktemp("openapi-routes"))
    return [route for route in app.routes if isinstance(route, APIRoute)]


def app_spec(directory: Path) -> tuple[Any, dict[str, Any]]:
    data = settings_data(f"sqlite:///{directory / 'spec.db'}", "http://127.0.0.1:9")
    app = create_app(Settings(**data, session_secret="s" * 48))
    return app, app.openapi()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def schemas_in(response: dict[str, Any]) -> list[dict[str, Any]]:
    schemas = [media["schema"] for media in response.get("content", {}).values()]
    return [*schemas, *(branch for s in schemas for branch in s.get("anyOf", []))]


def envelope_of(path: str) -> str:
    return "CheqpointErrorBody" if path.startswith("/api/") else "ErrorBody"


def test_every_route_is_in_the_document(spec: dict[str, Any], routes: list[APIRoute]) -> None:
    for route in routes:
        assert route.include_in_schema, route.path
        for method in route.methods:
            assert method.lower() in spec["paths"][route.path], (method, route.path)


def test_every_operation_says_who_may_call_it(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["agentKey"] == schemes["reviewerKey"] | {
        "description": schemes["agentKey"]["description"]
    }
    assert schemes["agentKey"]["scheme"] == "bearer"
    assert schemes["inboxSession"]["in"] == "cookie"
    for method, path, operation in operations(spec):
        assert "security" in operation, (method, path)
        for requirement in operation["security"]:
            assert set(requirement) <= set(schemes), (method, path, requirement)


def test_every_operation_declares_the_errors_it_can_answer(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        where = (method, path)
        declared = set(operation["responses"])
        if operation["security"]:
            assert "401" in declared, where
            if operation["security"] not in ([{"agentKey": []}, {"reviewerKey": []}],):
                assert "403" in declared, where  # one role only: the others are refused
        if "requestBody" in operation:
            assert {"400", "413"} <= declared, where  # malformed and oversized bodies
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            assert "422" in declared or "400" in declared, where
        if where not in NO_DATABASE:
            assert "503" in declared, where
        assert any(status.startswith("2") for status in declared), where


def test_every_error_response_is_the_envelope_its_path_speaks(spec: dict[str, Any]) -> None:
    names = spec["components"]["schemas"]
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status.startswith("2") or (method, path, status) in NOT_AN_ERROR:
                continue
            refs = {s.get("$ref", "").rsplit("/", 1)[-1] for s in schemas_in(response)}
            assert envelope_of(path) in refs, (method, path, status, refs)
            assert "application/json" in response["content"], (method, path, status)
            assert all(ref in names for ref in refs if ref), (method, path, refs)
    assert "HTTPValidationError" not in str(spec)  # FastAPI's {"detail": [...]}: never sent


def test_every_body_read_by_hand_is_described(spec: dict[str, Any]) -> None:
    bodies = {
        ("post", "/v1/evaluate"): "ActionEnvelope",
        ("post", "/v1/actions"): "ActionEnvelope",
        ("post", "/v1/approvals/{action_id}/decision"): "Decision",
        ("post", "/api/approvals/request"): "CheqpointRequest",
        ("post", "/api/webhooks/inbound"): "CheqpointRequest",
        ("post", "/v1/webhooks/cheqpoint"): "CheqpointWebhook",
    }
    for method, path, operation in operations(spec):
        if (method, path) not in bodies:
            assert "requestBody" not in operation, (method, path)
            continue
        content = operation["requestBody"]["content"]["application/json"]
        name = content["schema"]["$ref"].rsplit("/", 1)[-1]
        assert name == bodies.get((method, path)), (method, path)
        if "example" in content:
            jsonschema.validate(content["example"], spec["components"]["schemas"][name])


def test_content_types_are_the_ones_served(spec: dict[str, Any]) -> None:
    export = spec["paths"]["/v1/audit/export"]["get"]["responses"]["200"]["content"]
    assert list(export) == ["application/x-ndjson"]
    metrics = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    (media_type,) = metrics
    assert media_type.startswith("text/plain; version=")


SUMMARIES = st.sampled_from(["Triage", "", "   ", "x" * 1000, "x" * 1001, 7, None])


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    action = draw(st.sampled_from([*ACTION_NAMES, "jira_drop_database"]))
    envelope: dict[str, Any] = {"action": action, "summary": draw(SUMMARIES)}
    if action in ACTION_NAMES and draw(st.booleans()):
        envelope["details"] = draw(near_valid(action))
    if draw(st.integers(0, 5)) == 0:
        envelope[draw(st.sampled_from(["justification", "kind", "readonly"]))] = "x"
    return {k: v for k, v in envelope.items() if v is not None or k == "summary"}


def test_the_documented_envelope_is_what_the_parser_accepts(spec: dict[str, Any]) -> None:
    """Whatever the parser accepts the document accepts; whatever the document refuses the
    parser refuses; the document accepts more only where no schema can say the rule."""
    validator = jsonschema.Draft202012Validator(spec["components"]["schemas"]["ActionEnvelope"])

    @settings(max_examples=300, deadline=None)
    @given(envelopes())
    def agree(envelope: dict[str, Any]) -> None:
        check_agreement(validator.is_valid(envelope), envelope)

    agree()


def check_agreement(documented: bool, envelope: dict[str, Any]) -> None:
    try:
        parse_envelope(envelope)
    except InvalidDetailsError as exc:
        rules = {violation.rule for violation in exc.violations}
        assert not documented or rules <= RULES_NO_SCHEMA_STATES, (envelope, rules)
    except ActionError as exc:
        assert not documented, (envelope, str(exc))
    else:
        assert documented, envelope
