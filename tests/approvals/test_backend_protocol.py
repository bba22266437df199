"""Approval backends are polymorphic: the gateway asks its one `ApprovalBackend` to open,
refresh and housekeep approvals, and never branches on which backend it is."""

from __future__ import annotations

import ast
import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jiragate.approvals.backend import ApprovalBackend, ApprovalTerms
from jiragate.approvals.cheqpoint_backend import CheqpointApprovals
from jiragate.approvals.inbox import InboxBackend
from jiragate.examples import seed_envelope
from jiragate.gateway import Gateway
from jiragate.settings import Settings
from jiragate.store import ActionRecord, ActionStatus, Store
from tests.helpers.service import settings_data

GATEWAY = Path(__file__).resolve().parents[2] / "service" / "jiragate" / "gateway"


class RecordingBackend:
    """A third backend: proves the gateway needs nothing but the protocol."""

    name = "recording"
    polls = True

    def __init__(self, store: Store) -> None:
        self.store = store
        self.requested: list[tuple[str, ApprovalTerms]] = []
        self.refreshed: list[str] = []
        self.rounds = 0

    async def request(self, record: ActionRecord, terms: ApprovalTerms) -> ActionRecord:
        self.requested.append((record.id, terms))
        self.store.transition_status(
            record.id,
            from_statuses=[ActionStatus.PENDING_APPROVAL],
            to_status=ActionStatus.PENDING_APPROVAL,
            approval_backend=self.name,
            approval_ref=f"rec-{record.id}",
            expires_at=terms.expires_at,
        )
        found = self.store.get_action(record.id)
        assert found is not None
        return found

    async def refresh(self, record: ActionRecord) -> ActionRecord:
        self.refreshed.append(record.id)
        return record

    async def find(self, approval_ref: str) -> ActionRecord | None:
        return self.store.find_by_approval_ref(approval_ref)

    async def housekeeping(self) -> int:
        self.rounds += 1
        return 7

    async def aclose(self) -> None:
        return None


def test_both_shipped_backends_speak_the_protocol(store: Store) -> None:
    inbox = InboxBackend(store)
    cheqpoint = CheqpointApprovals(
        store,
        {},
        check_edit=lambda record, patch: dict(patch),
        on_decided=lambda record, status: None,
        on_backend_error=lambda: None,
        action_prefix=lambda group: "",
        webhook_url=None,
        max_resubmits=0,
    )
    for backend in (inbox, cheqpoint, RecordingBackend(store)):
        assert isinstance(backend, ApprovalBackend)
    assert (inbox.name, inbox.polls) == ("inbox", False)
    assert (cheqpoint.name, cheqpoint.polls) == ("cheqpoint", True)


def test_the_gateway_drives_any_backend_through_the_protocol(db_url: str) -> None:
    settings = Settings(**settings_data(db_url, "http://127.0.0.1:9"))
    asyncio.run(_drive(Gateway.build(settings)))


async def _drive(gateway: Gateway) -> None:
    try:
        backend = RecordingBackend(gateway._store)
        gateway._approvals = backend  # arranging state: plug in a third backend
        before = gateway.now()
        submission = await gateway.submit(seed_envelope(), agent="log-triage-bot")
        record = submission.record
        assert record.status is ActionStatus.PENDING_APPROVAL
        assert record.approval_backend == "recording"
        # The terms come from the revision that decided: its group, quorum, timeout, prefix.
        [(action_id, terms)] = backend.requested
        group = gateway.current_policies.groups[record.review_group or ""]
        assert action_id == record.id
        assert terms.group == group.name
        assert terms.min_approvals == group.min_approvals
        assert terms.action_prefix == group.cheqpoint.action_prefix
        assert terms.risk_score is not None and 0.0 <= terms.risk_score <= 1.0
        timeout = timedelta(seconds=group.approval_timeout_seconds)
        assert before + timeout <= _aware(terms.expires_at) <= gateway.now() + timeout
        # Housekeeping, a webhook hint and a bounded wait all go through the backend.
        assert (await gateway.maintain()).synced == 7 and backend.rounds == 1
        assert (await gateway.webhook_hint(f"rec-{record.id}")) is not None
        assert await gateway.webhook_hint("rec-nobody") is None
        await gateway.wait_for_decision(record.id, 1.2)
        assert backend.refreshed[0] == record.id and len(backend.refreshed) >= 2
    finally:
        await gateway.aclose()


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # the store's clock is UTC


@pytest.mark.parametrize("name", ["CHEQPOINT", "InboxBackend", "CheqpointApprovals"])
def test_the_gateway_names_a_backend_only_where_it_chooses_one(name: str) -> None:
    """The five `== CHEQPOINT` branches are gone: a backend is named only in `__init__` and
    `build` (choosing it), and in the module-level helpers that build its clients."""
    allowed = {"__init__", "build", "_cheqpoint_backend"}
    classes = _gateway_classes()
    assert {"Gateway", "SubmissionMixin", "WorkerMixin"} <= {cls.name for cls in classes}
    for cls in classes:
        for method in cls.body:
            if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names = {n.id for n in ast.walk(method) if isinstance(n, ast.Name)}
            if method.name not in allowed:
                assert name not in names, f"{cls.name}.{method.name} names {name}"


def _gateway_classes() -> list[ast.ClassDef]:
    """`Gateway` (core.py) and the use-case mixins it is assembled from (a class of the
    gateway's modules built on `GatewayState`): all of them are the gateway's methods."""
    classes = []
    for path in sorted(GATEWAY.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {base.id for base in node.bases if isinstance(base, ast.Name)}
            if node.name == "Gateway" or "GatewayState" in bases:
                classes.append(node)
    return classes
