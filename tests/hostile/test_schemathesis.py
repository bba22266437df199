"""Property-based fuzzing of the service's own OpenAPI (`/openapi.json`) with Schemathesis,
over real HTTP: whatever the body, path or query, the answer is never a 5xx, and every
error is a JSON body `{"error": code, "message": ...}`. Bounded: a few examples per
operation, derandomized (the suite's Hypothesis profile), so the run is short and repeatable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.helpers.service import KEYS, Service, running_service

MAX_EXAMPLES = 20


@pytest.fixture(scope="module")
def fuzz_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    directory: Path = tmp_path_factory.mktemp("fuzz")
    # ?wait= is bounded by max_wait_seconds: keep it short so the fuzzer never waits long.
    with running_service(f"sqlite:///{directory / 'fuzz.db'}", max_wait_seconds=1) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(fuzz_service: Service) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzz_service.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


def key_for(path: str) -> str:
    """The account that may call `path`, so the fuzzer gets past authentication."""
    if path.startswith(("/v1/audit", "/v1/policies/reload")):
        return KEYS["auditor"]
    if path.startswith("/v1/approvals"):
        return KEYS["lead-alice"]
    return KEYS["log-triage-bot"]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_the_service_fail_or_answer_without_a_json_error(
    case: schemathesis.Case,
):
    key = key_for(case.path)
    response = case.call(headers={"Authorization": f"Bearer {key}", "x-api-key": key}, timeout=30)
    where = f"{case.method} {case.formatted_path} -> {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.text[:500]}"
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict), where
        assert "error" in body, f"{where}: {body}"
        if not case.path.startswith("/api/"):  # the Cheqpoint protocol's errors: {error} only
            assert isinstance(body.get("message"), str) and body["message"], f"{where}: {body}"
