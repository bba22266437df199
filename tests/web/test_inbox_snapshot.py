"""The inbox page shows what an approval is bound to (the snapshot of the targets), marks an
action that came back "changed since approval" with the difference, and refuses a decision
posted from a page that showed an older snapshot."""

from __future__ import annotations

import re
import uuid

from tests.helpers.service import Service
from tests.web.helpers import Browserless, submit, text_of


def _snapshot_field(page: str) -> str:
    found = re.search(r'name="snapshot" value="([0-9a-f]+)"', page)
    assert found, "the decision form carries the snapshot it showed"
    return found.group(1)


def test_the_page_shows_the_snapshot_and_what_changed_since_approval(
    service: Service, alice: Browserless
):
    envelope = {
        "action": "jira_transition_issues",
        "summary": f"Snapshot page {uuid.uuid4().hex[:8]}",
        "details": {"issueKeys": ["ENG-9"], "targetStatus": "In Progress"},
    }
    action_id = submit(service, envelope)
    with service.sandbox.lock:
        before = service.sandbox.issues["ENG-9"].status
    page = alice.get(f"/inbox/actions/{action_id}").text
    assert "What you are approving against" in text_of(page)
    assert f"ENG-9 {before}" in text_of(page)
    shown = _snapshot_field(page)

    with service.sandbox.lock:  # someone moves ENG-9 while Alice decides
        service.sandbox.issues["ENG-9"].status = "In Review"
    approved = alice.decide(action_id, intent="approve", snapshot=shown)
    assert approved.status_code == 303, approved.text
    back = service.wait_for_status(action_id, "pending_approval", "executed", "failed")
    assert back["status"] == "pending_approval"

    again = alice.get(f"/inbox/actions/{action_id}").text
    text = text_of(again)
    assert "changed since approval" in text
    assert f"ENG-9 status: {before} → In Review" in text
    assert _snapshot_field(again) != shown
    # A decision from the old page (its snapshot) is refused and says why.
    stale = alice.decide(action_id, intent="approve", snapshot=shown)
    assert stale.status_code == 409
    assert "stale snapshot" in text_of(stale.text)
    assert service.agent_view(action_id)["status"] == "pending_approval"
