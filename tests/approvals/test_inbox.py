from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from jiragate.approvals.inbox import InboxBackend
from jiragate.errors import ApprovalError, DecisionRefusedError
from jiragate.store import ActionStatus, Store, verify
from jiragate.store.audit import list_events
from tests.store.helpers_store import T0, FakeClock, new_action

DETAILS = {"projectKey": "ENG", "issueCount": 12, "issueType": "Bug", "priority": "High"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def inbox(engine, clock) -> InboxBackend:
    return InboxBackend(Store(engine, clock=clock))


def _pending(inbox: InboxBackend, *, group: str = "leads", min_approvals: int = 1, **kw):
    action = new_action(
        inbox.store,
        status=ActionStatus.PENDING_APPROVAL,
        action="jira_create_tickets",
        details=DETAILS,
        **kw,
    )
    inbox.open(
        action.id, group=group, min_approvals=min_approvals, expires_at=T0 + timedelta(hours=2)
    )
    return action


def test_open_lists_the_action_for_its_group_only(inbox):
    action = _pending(inbox, group="leads")
    _pending(inbox, group="pms")
    assert [a.id for a in inbox.pending_for(["leads", "qa"])] == [action.id]
    assert inbox.pending_for([]) == []
    loaded = inbox.store.get_action(action.id)
    assert (loaded.approval_backend, loaded.review_group) == ("inbox", "leads")


def test_open_refuses_an_action_that_is_not_pending(inbox):
    approved = new_action(inbox.store, status=ActionStatus.APPROVED)
    with pytest.raises(ApprovalError, match="not pending"):
        inbox.open(approved.id, group="leads", expires_at=None)
    with pytest.raises(ValueError, match="min_approvals"):
        inbox.open(approved.id, group="leads", min_approvals=0, expires_at=None)


def test_single_approval_with_an_edit_approves_the_patched_payload(inbox, engine):
    action = _pending(inbox)
    outcome = inbox.vote(
        action.id,
        reviewer="lead-1",
        verdict="approve",
        modified_details={"issueCount": 4, "priority": "Medium"},
        note="Approving 4 tickets as Medium priority.",
    )
    assert outcome.status is ActionStatus.APPROVED
    assert outcome.decided
    assert outcome.effective_details == {**DETAILS, "issueCount": 4, "priority": "Medium"}
    loaded = inbox.store.get_action(action.id)
    assert loaded.status is ActionStatus.APPROVED
    assert loaded.details == DETAILS  # the original is kept
    assert loaded.effective_details["priority"] == "Medium"
    assert loaded.reviewers == ["lead-1"]
    assert loaded.decision_note == "Approving 4 tickets as Medium priority."
    assert loaded.decided_at == T0
    types = [e.type for e in list_events(engine, action_id=action.id)]
    assert types == ["approval.opened", "approval.vote", "approval.approved"]
    assert verify(engine).ok
    assert inbox.pending_for(["leads"]) == []


def test_one_reject_rejects(inbox):
    action = _pending(inbox, min_approvals=2)
    inbox.vote(action.id, reviewer="lead-1", verdict="approve")
    outcome = inbox.vote(action.id, reviewer="lead-2", verdict="reject", note="too many")
    assert outcome.status is ActionStatus.REJECTED
    assert inbox.store.get_action(action.id).status is ActionStatus.REJECTED
    with pytest.raises(DecisionRefusedError, match="no longer pending"):
        inbox.vote(action.id, reviewer="lead-3", verdict="approve")


def test_min_approvals_needs_distinct_reviewers(inbox):
    action = _pending(inbox, min_approvals=2)
    first = inbox.vote(action.id, reviewer="lead-1", verdict="approve")
    assert (first.status, first.approvals, first.required) == (ActionStatus.PENDING_APPROVAL, 1, 2)
    with pytest.raises(DecisionRefusedError, match="already voted approve"):
        inbox.vote(action.id, reviewer="lead-1", verdict="approve")
    second = inbox.vote(action.id, reviewer="lead-2", verdict="approve", modified_details={})
    assert second.status is ActionStatus.APPROVED  # {} is "as proposed", same as no edit
    assert second.effective_details == DETAILS
    assert inbox.store.get_action(action.id).reviewers == ["lead-1", "lead-2"]


def test_different_edits_do_not_add_up(inbox):
    action = _pending(inbox, min_approvals=2)
    inbox.vote(action.id, reviewer="a", verdict="approve", modified_details={"issueCount": 4})
    split = inbox.vote(
        action.id, reviewer="b", verdict="approve", modified_details={"issueCount": 2}
    )
    assert split.status is ActionStatus.PENDING_APPROVAL
    assert split.approvals == 1
    agreed = inbox.vote(
        action.id, reviewer="c", verdict="approve", modified_details={"issueCount": 2}
    )
    assert agreed.status is ActionStatus.APPROVED
    assert agreed.modified_details == {"issueCount": 2}
    assert inbox.store.get_action(action.id).effective_details["issueCount"] == 2
    assert [v.reviewer for v in inbox.votes(action.id)] == ["a", "b", "c"]


def test_the_requester_cannot_vote_on_its_own_action(inbox):
    action = _pending(inbox, agent="bot-7")
    with pytest.raises(DecisionRefusedError, match="bot-7 requested"):
        inbox.vote(action.id, reviewer="bot-7", verdict="approve")
    with pytest.raises(DecisionRefusedError, match="alice requested"):
        inbox.vote(action.id, reviewer="alice", verdict="approve", requester="alice")
    assert inbox.votes(action.id) == []


def test_a_late_vote_expires_the_action_and_is_refused(inbox, clock, engine):
    action = _pending(inbox)
    clock.advance(2 * 3600)
    assert inbox.pending_for(["leads"]) == []
    with pytest.raises(DecisionRefusedError, match="expired"):
        inbox.vote(action.id, reviewer="lead-1", verdict="approve")
    assert inbox.store.get_action(action.id).status is ActionStatus.EXPIRED
    assert inbox.votes(action.id) == []
    assert list_events(engine, action_id=action.id)[-1].type == "action.expired"


def test_votes_outside_the_inbox_or_on_unknown_actions_are_refused(inbox):
    elsewhere = new_action(inbox.store, status=ActionStatus.PENDING_APPROVAL)  # never opened
    with pytest.raises(DecisionRefusedError, match="not decided in the inbox"):
        inbox.vote(elsewhere.id, reviewer="lead-1", verdict="approve")
    with pytest.raises(ApprovalError, match="no action"):
        inbox.vote("act_nope", reviewer="lead-1", verdict="approve")
    with pytest.raises(ValueError, match="verdict must be"):
        inbox.vote(elsewhere.id, reviewer="lead-1", verdict="maybe")
    with pytest.raises(ValueError, match="rejection cannot carry"):
        inbox.vote(elsewhere.id, reviewer="l", verdict="reject", modified_details={"a": 1})


def test_a_custom_patch_function_computes_the_effective_payload(engine, clock):
    def trim(action, details, patch):
        return {**details, **patch, "patchedFor": action}

    inbox = InboxBackend(Store(engine, clock=clock), apply_patch=trim)
    action = _pending(inbox)
    outcome = inbox.vote(action.id, reviewer="r", verdict="approve", modified_details={"x": 1})
    assert outcome.effective_details["patchedFor"] == "jira_create_tickets"


def test_racing_final_approvals_decide_exactly_once(inbox, engine):
    action = _pending(inbox, min_approvals=3)
    outcomes, errors = [], []
    start = threading.Barrier(5)

    def vote(reviewer: str) -> None:
        try:
            start.wait()
            outcomes.append(inbox.vote(action.id, reviewer=reviewer, verdict="approve"))
        except DecisionRefusedError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=vote, args=(f"lead-{i}",)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    approved = [o for o in outcomes if o.status is ActionStatus.APPROVED]
    assert len(approved) == 1  # the third approval decides; later ones are refused
    assert len(outcomes) == 3
    assert len(errors) == 2
    assert all("no longer pending" in str(e) for e in errors)
    types = [e.type for e in list_events(engine, action_id=action.id)]
    assert types.count("approval.approved") == 1
    assert verify(engine).ok
