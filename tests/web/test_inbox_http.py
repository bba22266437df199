"""The inbox over real HTTP, as a browser without JavaScript sees it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from jiragate.store.audit import list_events
from tests.helpers.service import Service, running_service
from tests.policy.samples import SEED
from tests.web.helpers import (
    PASSWORDS,
    SEED_NOTE,
    Browserless,
    approve_confirmed,
    csrf_of,
    inbox_overrides,
    submit,
    text_of,
)


def tag() -> str:
    return uuid.uuid4().hex[:8]


def transition(summary: str, keys: list[str], target: str = "Done") -> dict:
    return {
        "action": "jira_transition_issues",
        "summary": summary,
        "details": {"issueKeys": keys, "targetStatus": target},
        "justification": "The fixes shipped in release 1.1",
    }


# --------------------------------------------------------------------------- sign-in


def test_signin_sets_a_locked_down_session_cookie(service: Service):
    reviewer = Browserless(service)
    try:
        assert reviewer.get("/inbox/").status_code == 303  # not signed in yet
        response = reviewer.signin("lead-alice")
        assert response.status_code == 303
        assert response.headers["location"] == "/inbox/"
        cookies = response.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith("jiragate_inbox="))
        for attribute in ("HttpOnly", "SameSite=strict", "Path=/inbox", "Max-Age=43200"):
            assert attribute in session, session
        # The sign-in form's cookie is dropped: it has served its purpose.
        assert any(c.startswith("jiragate_inbox_signin=") and "Max-Age=0" in c for c in cookies)
        queue = reviewer.get("/inbox/")
        assert queue.status_code == 200
        assert "Signed in as lead-alice" in text_of(queue.text)
    finally:
        reviewer.close()


@pytest.mark.parametrize(
    ("name", "password", "reason"),
    [
        ("lead-alice", "not-her-password", "wrong password"),
        ("nobody", "whatever-password", "unknown reviewer"),
        ("pm-dave", "any-password-at-all", "reviewer has no inbox password"),
    ],
)
def test_failed_signin_is_refused_and_audited_without_the_password(
    service: Service, name: str, password: str, reason: str
):
    reviewer = Browserless(service)
    try:
        response = reviewer.signin(name, password)
        assert response.status_code == 401
        assert "do not match a reviewer with inbox access" in text_of(response.text)
        assert reviewer.get("/inbox/").status_code == 303  # still signed out
    finally:
        reviewer.close()
    events = [
        e
        for e in list_events(service.gateway._store.engine, limit=1000)
        if e.type == "inbox.signin_failed" and e.data.get("name") == name
    ]
    assert events and events[-1].data["reason"] == reason
    assert all(password not in str(e.data) for e in events)


def test_pages_and_json_need_a_session(service: Service):
    with httpx.Client(base_url=service.url, follow_redirects=False) as anonymous:
        queue = anonymous.get("/inbox/", params={"group": "engineering-leads"})
        assert queue.status_code == 303
        assert queue.headers["location"].startswith("/inbox/signin?next=")
        assert anonymous.get("/inbox/queue.json").status_code == 401
        assert anonymous.get("/inbox/history").status_code == 303
    forged_cookie = {"jiragate_inbox": "eyJ1IjoibGVhZC1hbGljZSIsImMiOiJ4IiwidCI6MX0.x"}
    with httpx.Client(base_url=service.url, cookies=forged_cookie) as forger:
        assert forger.get("/inbox/", follow_redirects=False).status_code == 303


def test_signout_ends_the_session(alice: Browserless):
    page = alice.get("/inbox/")
    response = alice.http.post("/inbox/signout", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert alice.get("/inbox/").status_code == 303


# --------------------------------------------------------------------------- CSRF


def test_every_form_refuses_a_missing_or_wrong_csrf_token(service: Service, alice: Browserless):
    action_id = submit(service, transition(f"CSRF check {tag()}", ["ENG-6"]))
    for token in (None, "forged-token"):
        data = {"intent": "approve", "note": "sneaky"}
        if token:
            data["csrf_token"] = token
        assert alice.http.post(f"/inbox/actions/{action_id}", data=data).status_code == 403
        assert alice.http.post("/inbox/signout", data=data).status_code == 403
    assert service.agent_view(action_id)["status"] == "pending_approval"
    with httpx.Client(base_url=service.url) as anonymous:
        refused = anonymous.post(
            "/inbox/signin", data={"name": "lead-alice", "password": PASSWORDS["lead-alice"]}
        )
        assert refused.status_code == 403
        assert "security token" in text_of(refused.text)


def test_a_token_from_before_signin_is_worthless_after_it(service: Service):
    reviewer = Browserless(service)
    try:
        before = csrf_of(reviewer.get("/inbox/signin").text)
        reviewer.signin("lead-alice")
        after = csrf_of(reviewer.get("/inbox/").text)
        assert before != after
        assert reviewer.http.post("/inbox/signout", data={"csrf_token": before}).status_code == 403
    finally:
        reviewer.close()


# --------------------------------------------------------------------------- the queue


def test_queue_lists_my_groups_items_with_filters_and_sorting(
    service: Service, alice: Browserless, carol: Browserless
):
    marker = tag()
    small = submit(service, transition(f"Close two {marker}", ["ENG-2", "ENG-4"]))
    big = submit(service, transition(f"Close three {marker}", ["ENG-2", "ENG-4", "ENG-6"]))
    moved = submit(
        service,
        {
            "action": "jira_move_to_sprint",
            "summary": f"Sprint move {marker}",
            "details": {"issueKeys": ["ENG-9"], "sprintId": "sprint_42"},
        },
    )
    assign = submit(
        service,
        {
            "action": "jira_assign_issues",
            "summary": f"Reassign {marker}",
            "details": {"issueKeys": ["OPS-1"], "assignee": "5b10a2844c20165700ede21a"},
        },
    )

    page = text_of(alice.get("/inbox/").text)
    for summary in (f"Close two {marker}", f"Close three {marker}", f"Sprint move {marker}"):
        assert summary in page
    assert f"Reassign {marker}" not in page  # project managers' item
    assert "Status transitions need an engineering lead." in page  # the gating reason

    only_transitions = alice.get("/inbox/", action="jira_transition_issues").text
    ids = re.findall(r'href="/inbox/actions/(act_[0-9a-f]+)"', only_transitions)
    assert small in ids and big in ids and moved not in ids

    by_count = re.findall(
        r'href="/inbox/actions/(act_[0-9a-f]+)"', alice.get("/inbox/", sort="count").text
    )
    assert by_count.index(big) < by_count.index(small)
    newest = re.findall(
        r'href="/inbox/actions/(act_[0-9a-f]+)"', alice.get("/inbox/", sort="newest").text
    )
    assert newest.index(moved) < newest.index(small)

    nothing = alice.get("/inbox/", project="OPS")
    assert "Nothing waiting that matches these filters" in text_of(nothing.text)

    carols = carol.get("/inbox/", project="OPS", group="project-managers").text
    assert assign in carols and small not in carols


def test_queue_json_changes_when_an_item_arrives(service: Service, alice: Browserless):
    before = alice.get("/inbox/queue.json").json()
    submit(service, transition(f"Arrives {tag()}", ["ENG-10"]))
    after = alice.get("/inbox/queue.json").json()
    assert after["fingerprint"] != before["fingerprint"]
    assert after["count"] == before["count"] + 1
    page = alice.get("/inbox/").text
    assert f'data-fingerprint="{after["fingerprint"]}"' in page
    assert 'data-poll-url="/inbox/queue.json' in page and "Refresh" in page


# --------------------------------------------------------------------------- previews


def test_bulk_creation_lists_the_tickets_and_marks_the_dropped_ones(
    service: Service, alice: Browserless
):
    action_id = submit(service, {**SEED, "justification": "12 stack traces"})
    page = text_of(alice.get(f"/inbox/actions/{action_id}").text)
    assert "Tickets that would be created" in page
    assert "12 of 12 tickets would be created" in page
    assert f"{SEED['summary']} (12/12)" in page  # the adapter's numbered titles
    assert "high-priority-creation" in page and "12 stack traces" in page
    assert "sprint_42 (active)" in page  # resolved live on the board

    preview = alice.decide(
        action_id,
        intent="preview",
        **{"edit-issueCount": "4", "edit-priority": "Medium"},
    )
    assert preview.status_code == 200
    shown = text_of(preview.text)
    assert "4 of 12 tickets would be created; 8 dropped" in shown
    assert f"{SEED['summary']} (4/4)" in shown
    assert preview.text.count('tr class="dropped"') == 8
    assert "&#34;issueCount&#34;: 4" in preview.text or '"issueCount": 4' in shown
    assert "edited: issueCount, priority" in shown
    assert service.agent_view(action_id)["status"] == "pending_approval"  # only a preview


def test_transition_preview_shows_current_status_and_availability(
    service: Service, alice: Browserless
):
    action_id = submit(service, transition(f"Close {tag()}", ["ENG-4", "ENG-6", "ENG-7"]))
    page = text_of(alice.get(f"/inbox/actions/{action_id}").text)
    assert "Status changes" in page
    assert "ENG-4 Refactor cart service In Review → Done Transition available" in page
    assert "ENG-6 Flaky checkout e2e test To Do → Done Not available from To Do" in page
    assert "ENG-7 Update privacy policy link Done → Done Already Done" in page


def test_reassignment_preview_shows_current_and_new_assignee(service: Service, carol: Browserless):
    action_id = submit(
        service,
        {
            "action": "jira_assign_issues",
            "summary": f"Give the checkout bugs to Dave {tag()}",
            "details": {"issueKeys": ["ENG-2", "ENG-6"], "assignee": "5b10a2844c20165700ede21d"},
        },
    )
    page = text_of(carol.get(f"/inbox/actions/{action_id}").text)
    assert "Reassignments" in page
    # The new assignee is looked up in Jira, so the reviewer reads a name, not an account id.
    dave = "Dave Diaz (5b10a2844c20165700ede21d)"
    assert f"ENG-2 Payment form loses card on back Bob Brown → {dave}" in page
    assert f"ENG-6 Flaky checkout e2e test Unassigned → {dave}" in page


def test_an_unknown_new_assignee_shows_as_its_id(service: Service, carol: Browserless):
    nobody = "5b10a2844c20165700ede2ff"
    action_id = submit(
        service,
        {
            "action": "jira_assign_issues",
            "summary": f"Give ENG-3 to a stranger {tag()}",
            "details": {"issueKeys": ["ENG-3"], "assignee": nobody},
        },
    )
    page = text_of(carol.get(f"/inbox/actions/{action_id}").text)
    assert f"→ {nobody}" in page


def test_sprint_move_preview_shows_current_and_target_sprint(service: Service, alice: Browserless):
    action_id = submit(
        service,
        {
            "action": "jira_move_to_sprint",
            "summary": f"Pull into the sprint {tag()}",
            "details": {"issueKeys": ["ENG-9", "ENG-10"], "sprintId": "sprint_42"},
        },
    )
    page = text_of(alice.get(f"/inbox/actions/{action_id}").text)
    assert "ENG-9 Dark mode for settings sprint_43 → sprint_42 (active)" in page
    assert "ENG-10 Crash on empty basket No sprint (backlog) → sprint_42 (active)" in page


def test_delete_preview_lists_summaries_and_status(service: Service, carol: Browserless):
    action_id = submit(
        service,
        {
            "action": "jira_delete_issues",
            "summary": f"Delete stale issues {tag()}",
            "details": {"issueKeys": ["ENG-7", "ENG-99"]},
        },
    )
    page = text_of(carol.get(f"/inbox/actions/{action_id}").text)
    assert "Issues that would be deleted" in page
    assert "ENG-7 Update privacy policy link Task Done" in page
    assert "ENG-99" in page and "Not found in Jira" in page


def test_other_actions_get_a_readable_key_value_view(service: Service, carol: Browserless):
    action_id = submit(
        service,
        {
            "action": "jira_create_release",
            "summary": f"Cut release 1.2 {tag()}",
            "details": {"projectKey": "ENG", "name": "1.2", "releaseDate": "2030-05-01"},
        },
    )
    page = text_of(carol.get(f"/inbox/actions/{action_id}").text)
    assert "Project ENG" in page and "Name 1.2" in page and "Release date 2030-05-01" in page


def test_unreachable_jira_is_said_plainly_and_details_still_show(tmp_path):
    overrides = {**inbox_overrides(), "inbox_preview_timeout": 0.5}
    with running_service(f"sqlite:///{tmp_path / 'j.db'}", **overrides) as service:
        action_id = submit(service, transition("Close while Jira is down", ["ENG-4"]))
        service.sandbox.faults.clear()
        armed = httpx.post(
            f"{service.sandbox_url}/_sandbox/faults",
            json={"match": {"path": "/rest/api/*"}, "times": None, "fault": {"kind": "drop"}},
        )
        assert armed.status_code in (200, 201), armed.text
        reviewer = Browserless(service)
        try:
            reviewer.signin("lead-alice")
            page = reviewer.get(f"/inbox/actions/{action_id}")
        finally:
            reviewer.close()
            httpx.delete(f"{service.sandbox_url}/_sandbox/faults")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "Jira is unreachable right now." in shown
    assert "ENG-4" in shown and "Target status Done" in shown
    assert "Approve" in shown  # the reviewer can still decide


# --------------------------------------------------------------------------- deciding


def test_approve_with_edits_runs_the_edited_payload_and_returns_the_note(
    service: Service, alice: Browserless
):
    action_id = submit(service, SEED)
    response = approve_confirmed(
        alice,
        action_id,
        note=SEED_NOTE,
        **{"edit-issueCount": "4", "edit-priority": "Medium"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/inbox/actions/{action_id}?done=approved"
    final = service.wait_for_status(action_id, "executed", "failed", "partially_executed")
    assert final["status"] == "executed", final
    assert final["approval"]["note"] == SEED_NOTE
    assert final["approval"]["reviewers"] == ["lead-alice"]
    made = service.sandbox_issues(label=f"jiragate-{action_id}")
    assert len(made) == 4 and {i.priority for i in made} == {"Medium"}

    page = text_of(alice.get(f"/inbox/actions/{action_id}").text)
    assert "Executed" in page and SEED_NOTE in page
    for issue in made:
        assert issue.key in page  # the created keys, in the outcome
    history = text_of(alice.get("/inbox/history").text)
    assert SEED["summary"] in history and "Created " in history


def test_a_refused_edit_is_shown_inline_and_nothing_is_lost(service: Service, alice: Browserless):
    action_id = submit(
        service,
        {
            "action": "jira_create_ticket",
            "summary": f"Hotfix ticket {tag()}",
            "details": {
                "projectKey": "ENG",
                "issueType": "Bug",
                "summary": "x",
                "priority": "High",
            },
        },
    )
    # At Medium no engineering-leads rule covers it: it would need the project managers.
    response = alice.decide(
        action_id, intent="approve", note="Keep my note", **{"edit-priority": "Medium"}
    )
    assert response.status_code == 409
    shown = text_of(response.text)
    assert "Not accepted:" in shown and "project-managers" in shown
    assert "Keep my note" in response.text
    assert re.search(r'<option value="Medium" selected>', response.text)
    assert service.agent_view(action_id)["status"] == "pending_approval"


def test_bad_field_values_name_the_field(service: Service, alice: Browserless):
    action_id = submit(service, SEED)
    response = alice.decide(
        action_id, intent="preview", **{"edit-issueCount": "20", "edit-priority": "Urgent"}
    )
    assert response.status_code == 422
    shown = text_of(response.text)
    assert "Number of tickets can be at most 12" in shown
    assert "Priority must be one of High, Medium, Low, Lowest" in shown  # only lower
    unticked = alice.decide(
        submit(service, transition(f"Drop all {tag()}", ["ENG-2"])),
        intent="preview",
        **{"edit-issueKeys-shown": "1"},
    )
    assert "Keep at least one issue" in text_of(unticked.text)


def test_dropping_an_issue_by_unticking_it(service: Service, alice: Browserless):
    action_id = submit(service, transition(f"Close some {tag()}", ["ENG-2", "ENG-4"]))
    response = approve_confirmed(
        alice,
        action_id,
        note="Only ENG-4",
        **{"edit-issueKeys-shown": "1", "edit-issueKeys": ["ENG-4"]},
    )
    assert response.status_code == 303
    view = service.agent_view(action_id)
    assert view["effective_details"]["issueKeys"] == ["ENG-4"]


def test_reject_with_a_note_goes_back_to_the_agent(service: Service, alice: Browserless):
    action_id = submit(service, transition(f"Close everything {tag()}", ["ENG-2"]))
    response = alice.decide(action_id, intent="reject", note="ENG-2 is not fixed yet.")
    assert response.status_code == 303
    view = service.agent_view(action_id)
    assert view["status"] == "rejected"
    assert view["approval"]["note"] == "ENG-2 is not fixed yet."
    page = text_of(alice.get(f"/inbox/actions/{action_id}").text)
    assert "Rejected" in page and "ENG-2 is not fixed yet." in page
    assert "Rejected" in page and "lead-alice" in page


def test_another_groups_reviewer_gets_404(service: Service, alice: Browserless, carol: Browserless):
    action_id = submit(service, transition(f"Leads only {tag()}", ["ENG-2"]))
    assert carol.get(f"/inbox/actions/{action_id}").status_code == 404
    assert carol.get(f"/inbox/actions/{action_id}/status.json").status_code == 404
    token = csrf_of(carol.get("/inbox/").text)
    decided = carol.http.post(
        f"/inbox/actions/{action_id}", data={"csrf_token": token, "intent": "approve"}
    )
    assert decided.status_code == 404
    assert action_id not in carol.get("/inbox/").text
    assert carol.get("/inbox/actions/act_doesnotexist").status_code == 404
    assert service.agent_view(action_id)["status"] == "pending_approval"


# --------------------------------------------------------------------------- escaping


@pytest.fixture
def hostile(service: Service) -> Iterator[str]:
    yield submit(
        service,
        {
            "action": "jira_transition_issues",
            "summary": '<script>alert("pwned")</script><img src=x onerror=alert(1)> Close',
            "details": {"issueKeys": ["ENG-2"], "targetStatus": "Done"},
            "justification": "<b>trust me</b><iframe src=//evil></iframe>",
        },
    )


def test_agent_text_is_escaped_everywhere(alice: Browserless, hostile: str):
    for path in ("/inbox/", f"/inbox/actions/{hostile}"):
        response = alice.get(path)
        assert "<script>alert" not in response.text
        assert "<img src=x" not in response.text and "<iframe" not in response.text
        assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in response.text
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
    assert "&lt;b&gt;trust me&lt;/b&gt;" in alice.get(f"/inbox/actions/{hostile}").text


def test_static_files_are_served_with_the_same_headers(service: Service):
    css = httpx.get(f"{service.url}/inbox/static/inbox.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert "content-security-policy" in css.headers
    js = httpx.get(f"{service.url}/inbox/static/inbox.js")
    assert js.status_code == 200 and "DOMParser" in js.text
