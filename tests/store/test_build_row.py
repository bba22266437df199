"""`models.build_row` builds the same row SQLModel's constructor builds, for every table, and
refuses a row that leaves a field out (store/models.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, SQLModel, select

from jiragate.store import ActionRecord, ActionStatus
from jiragate.store.models import Execution, build_row

T0 = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
texts = st.text(min_size=1, max_size=40).filter(lambda text: "\x00" not in text)


def action_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": "act_build_row",
        "created_at": T0,
        "updated_at": T0,
        "agent": "triage-bot",
        "action": "jira_get_issue",
        "summary": "read ENG-1",
        "justification": None,
        "details": {"issueKey": "ENG-1"},
        "effective_details": None,
        "kind": "read",
        "decision": "allow",
        "review_group": None,
        "determining_rule": "allow-reads",
        "decision_json": {"decision": "allow"},
        "policy_revision": "sha256:abc",
        "status": ActionStatus.EXECUTED,
        "idempotency_key": None,
        "request_hash": None,
        "approval_backend": None,
        "approval_ref": None,
        "min_approvals": 1,
        "reviewers": [],
        "decision_note": None,
        "expires_at": None,
        "decided_at": None,
        "binding": None,
        "executor": "jiragate",
        "claimed_by": None,
        "claim_expires_at": None,
        "attempts": 1,
        "result_json": {"action": "jira_get_issue", "data": {"issue": {"key": "ENG-1"}}},
        "error": None,
    }
    return {**values, **overrides}


def _same(built: SQLModel, constructed: SQLModel) -> None:
    assert built.model_dump() == constructed.model_dump()
    assert built.__pydantic_fields_set__ == constructed.__pydantic_fields_set__
    assert built.__pydantic_extra__ == constructed.__pydantic_extra__
    assert built.__pydantic_private__ == constructed.__pydantic_private__


@settings(max_examples=60, deadline=None)
@given(
    summary=texts,
    details=st.dictionaries(st.text(max_size=10), json_values, max_size=4),
    result=st.none() | st.dictionaries(st.text(max_size=10), json_values, max_size=4),
    attempts=st.integers(0, 10),
    status=st.sampled_from(list(ActionStatus)),
)
def test_an_action_row_equals_the_constructed_one(
    summary: str, details: dict[str, Any], result: dict[str, Any] | None, attempts: int, status
) -> None:
    values = action_values(
        summary=summary, details=details, result_json=result, attempts=attempts, status=status
    )
    _same(build_row(ActionRecord, values), ActionRecord(**values))


def test_an_execution_row_equals_the_constructed_one() -> None:
    values = {
        "id": "exe_1",
        "action_id": "act_1",
        "attempt": 2,
        "worker": "worker-a",
        "started_at": T0,
        "finished_at": T0 + timedelta(seconds=1),
        "outcome": "succeeded",
        "result_json": {"ok": True},
        "error": None,
    }
    _same(build_row(Execution, values), Execution(**values))


def test_a_built_row_is_a_mapped_instance_that_round_trips_through_a_session(engine) -> None:
    values = action_values(id="act_round_trip", claimed_by="w", claim_expires_at=T0)
    with Session(engine) as session:
        session.add(build_row(ActionRecord, values))
        session.commit()
    with Session(engine) as session:
        loaded = session.exec(select(ActionRecord).where(ActionRecord.id == "act_round_trip")).one()
        assert loaded.model_dump() == ActionRecord(**values).model_dump()
        loaded.status = ActionStatus.FAILED  # an instrumented attribute: the change is tracked
        session.commit()
    with Session(engine) as session:
        assert session.get(ActionRecord, "act_round_trip").status is ActionStatus.FAILED


@pytest.mark.parametrize(
    ("values", "named"),
    [
        (
            {k: v for k, v in action_values().items() if k != "reviewers"},
            "missing fields reviewers",
        ),
        ({**action_values(), "colour": "red"}, "unknown colour"),
    ],
)
def test_a_row_missing_or_adding_a_field_is_refused_by_name(
    values: dict[str, Any], named: str
) -> None:
    with pytest.raises(TypeError, match=named):
        build_row(ActionRecord, values)
