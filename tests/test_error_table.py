"""Error codes and HTTP statuses are mapped once, on the exception classes (errors.py); the
API and MCP edges read them instead of keeping their own tables."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from jiragate import errors
from jiragate.errors import answered_error_classes

SERVICE = Path(__file__).resolve().parents[1] / "service" / "jiragate"

# The answers the API gave before the table moved onto the classes.
EXPECTED = {
    errors.IdempotencyConflictError: (409, "idempotency_conflict"),
    errors.ReviewerNotAllowedError: (403, "reviewer_not_allowed"),
    errors.DecisionRefusedError: (409, "decision_refused"),
    errors.EditRefusedError: (409, "decision_refused"),
    errors.ApprovalBackendError: (503, "approval_backend_unavailable"),
    errors.PolicyOutOfDateError: (503, "policy_out_of_date"),
    errors.ApprovalError: (404, "not_found"),
    errors.StoreError: (503, "database_unavailable"),
    errors.ActionError: (400, "invalid_action"),
    errors.UnknownActionError: (400, "unknown_action"),
    errors.InvalidDetailsError: (422, "invalid_details"),
    errors.UnsafeJSONError: (400, "invalid_json_value"),
    errors.InvalidJQLError: (400, "invalid_jql"),
}


@pytest.mark.parametrize("error_class", list(EXPECTED), ids=lambda c: c.__name__)
def test_every_domain_error_carries_its_answer(error_class: type[errors.JiragateError]) -> None:
    assert (error_class.http_status, error_class.code) == EXPECTED[error_class]


def test_handlers_are_registered_most_specific_first() -> None:
    classes = answered_error_classes()
    assert set(classes) >= {c for c in EXPECTED if "http_status" in c.__dict__}
    for index, cls in enumerate(classes):
        for later in classes[index + 1 :]:
            assert not issubclass(later, cls) or later is cls, (cls, later)


@pytest.mark.parametrize("edge", ["api/app.py", "mcp"])
def test_edges_do_not_spell_domain_codes_themselves(edge: str) -> None:
    """A second table would drift: the edge must say `exc.code`, not the code's text."""
    path = SERVICE / edge
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    literals = {
        node.value
        for file in files
        for node in ast.walk(ast.parse(file.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    codes = {code for _, code in EXPECTED.values()} - {"not_found"}  # also a plain HTTP 404
    assert literals & codes == set()
