"""The inbox's review flow over real HTTP (no JavaScript): item-level review of a bulk
creation, Enter never approving, edited and destructive approvals asking once, badges and
tables that say what exists, a timeline in people's words, search and analytics."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.helpers.service import Service, running_service
from tests.policy.samples import SEED
from tests.web.helpers import (
    Browserless,
    approve_confirmed,
    confirm_token_of,
    csrf_of,
    inbox_overrides,
    submit,
    text_of,
)

# Each with its own stack trace: a description is fixed, so a reworded ticket is still told
# apart from the others by it (tickets differing only by summary would be ambiguous).
TICKETS = [
    {
        "summary": f"NullPointerException in checkout #{n}",
        "description": f"java.lang.NullPointerException at Checkout.line{n * 17}",
    }
    for n in range(1, 13)
]


def tag() -> str:
    return uuid.uuid4().hex[:8]


def twelve_tickets() -> dict[str, Any]:
    return {**SEED, "details": {**SEED["details"], "tickets": TICKETS}}


def ticket_choice(kept: list[int], **summaries: str) -> dict[str, Any]:
    """The tickets table as a reviewer leaves it: these (0-based) kept, some reworded."""
    fields: dict[str, Any] = {"tickets-shown": "1", "ticket-keep": [str(n) for n in kept]}
    for index, ticket in enumerate(TICKETS):
        fields[f"ticket-{index}-summary"] = summaries.get(f"t{index}", ticket["summary"])
        fields[f"ticket-{index}-priority"] = "High"
    return fields


def test_a_reviewer_picks_rewords_and_lowers_tickets_and_exactly_those_are_created(
    service: Service, alice: Browserless
):
    action_id = submit(service, twelve_tickets())
    page = alice.get(f"/inbox/actions/{action_id}").text
    assert page.count('name="ticket-keep"') == 12
    assert text_of(page).count("Would be created") == 12 and "Created ENG" not in page
    assert 'id="edit-field-issueCount"' not in page  # the choice sets the count

    choice = {
        **ticket_choice([0, 2, 5, 7], t2="Checkout NPE when the basket is empty"),
        "edit-priority": "Medium",
        "note": "Four distinct ones; #3 reworded.",
    }
    preview = alice.decide(action_id, intent="preview", **choice)
    shown = text_of(preview.text)
    assert "4 of 12 tickets would be created; 8 dropped" in shown
    assert "Proposed: NullPointerException in checkout #3" in shown
    assert preview.text.count('name="ticket-keep"') == 12
    assert (
        len(
            re.findall(r'name="ticket-keep" value="\d+" id="ticket-\d+-keep" checked', preview.text)
        )
        == 4
    )

    done = approve_confirmed(alice, action_id, **choice)
    assert done.status_code == 303, done.text
    final = service.wait_for_status(action_id, "executed", "failed", "partially_executed")
    assert final["status"] == "executed", final
    made = service.sandbox_issues(label=f"jiragate-{action_id}")
    assert sorted(i.summary for i in made) == sorted(
        [
            TICKETS[0]["summary"],
            "Checkout NPE when the basket is empty",
            TICKETS[5]["summary"],
            TICKETS[7]["summary"],
        ]
    )
    assert {i.priority for i in made} == {"Medium"}
    said = final["approval"]["decision_summary"]
    assert said == (
        "approved with edits: 4 of 12 (tickets #1, #3, #6, #8), as Medium, 1 summary "
        "reworded; note: Four distinct ones; #3 reworded."
    )

    after = alice.get(f"/inbox/actions/{action_id}").text
    shown = text_of(after)
    assert "4 of 12 tickets created in Jira." in shown and "would be created" not in shown
    assert shown.count("Not created (dropped)") == 8
    for issue in made:
        assert f"Created {issue.key}" in shown
    assert said in shown  # what the agent was told, on the reviewer's page too


def test_no_ticket_can_be_added_through_the_form(service: Service, alice: Browserless):
    action_id = submit(service, twelve_tickets())
    # Indexes that were never proposed are ignored: the table chooses, it cannot add.
    fields = {**ticket_choice([0, 1]), "ticket-keep": ["0", "1", "12", "-1", "x"]}
    preview = alice.decide(action_id, intent="preview", **fields)
    assert "2 of 12 tickets would be created" in text_of(preview.text)
    # A crafted `edit-tickets` with a ticket nobody proposed is refused, naming the rule.
    forged = [*TICKETS, {"summary": "pwned"}]
    refused = alice.decide(
        action_id,
        intent="approve",
        **{"edit-tickets": __import__("json").dumps(forged), "edit-issueCount": "13"},
    )
    assert refused.status_code in (409, 422)
    assert "Not accepted:" in text_of(refused.text)
    assert service.agent_view(action_id)["status"] == "pending_approval"
    nothing = alice.decide(action_id, intent="approve", **{**ticket_choice([]), "note": "x"})
    assert "Keep at least one ticket" in text_of(nothing.text)


def test_enter_never_approves_and_an_edited_approval_asks_once(
    service: Service, alice: Browserless
):
    action_id = submit(service, SEED)
    edit = {"edit-issueCount": "4", "edit-priority": "Medium"}
    # Enter in a field submits the form with its default button: the hidden Preview, the
    # first submit button of the form in the page. A submission naming no intent previews.
    page = alice.get(f"/inbox/actions/{action_id}").text
    first = re.search(r'<button[^>]*form="decide"[^>]*>', page)
    assert first and 'value="preview"' in first.group(0)
    implicit = alice.decide(action_id, **edit)
    assert implicit.status_code == 200 and confirm_token_of(implicit.text) is None
    assert service.agent_view(action_id)["status"] == "pending_approval"

    # Approve with edits shows what will run and asks; nothing is decided yet.
    asked = alice.decide(action_id, intent="approve", **edit)
    shown = text_of(asked.text)
    assert "Check before approving" in shown and "with edits: 4 of 12, as Medium" in shown
    token = confirm_token_of(asked.text)
    assert token and service.agent_view(action_id)["status"] == "pending_approval"

    def confirm(token: str, **fields: str) -> Any:
        data = {"csrf_token": csrf_of(asked.text), "intent": "confirm", "confirm-for": token}
        return alice.http.post(f"/inbox/actions/{action_id}", data={**data, **fields})

    # A confirmation of another payload (the form changed since) or a forged one asks again.
    changed = confirm(token, **{**edit, "edit-issueCount": "3"})
    assert changed.status_code == 200 and confirm_token_of(changed.text) not in (None, token)
    assert confirm("0" * 24, **edit).status_code == 200
    assert service.agent_view(action_id)["status"] == "pending_approval"

    assert confirm(token, **edit).status_code == 303  # the payload that was shown
    final = service.wait_for_status(action_id, "executed", "failed", "partially_executed")
    assert final["effective_details"]["issueCount"] == 4


def test_an_unedited_approval_runs_at_once_and_a_destructive_one_asks(
    service: Service, alice: Browserless, carol: Browserless
):
    plain = submit(
        service,
        {
            "action": "jira_transition_issues",
            "summary": f"Close ENG-2 {tag()}",
            "details": {"issueKeys": ["ENG-2"], "targetStatus": "Done"},
        },
    )
    assert alice.decide(plain, intent="approve").status_code == 303

    delete = submit(
        service,
        {
            "action": "jira_delete_issues",
            "summary": f"Delete a duplicate {tag()}",
            "details": {"issueKeys": ["ENG-7"]},
        },
    )
    asked = carol.decide(delete, intent="approve")
    assert asked.status_code == 200 and confirm_token_of(asked.text)
    assert "cannot be undone" in text_of(asked.text) and "ENG-7" in text_of(asked.text)
    assert service.agent_view(delete)["status"] == "pending_approval"
    assert approve_confirmed(carol, delete).status_code == 303


def test_a_refusal_is_the_first_thing_on_the_page(service: Service, alice: Browserless):
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
    refused = alice.decide(action_id, intent="approve", **{"edit-priority": "Medium"})
    assert refused.status_code == 409
    main = refused.text.split('<main id="main"', 1)[1]
    # Before the request's header, the preview and the form: where the eye lands.
    assert main.index('id="refusal"') < main.index('class="detail-head"')


def test_a_rejected_transition_shows_the_requested_targets(service: Service, alice: Browserless):
    action_id = submit(
        service,
        {
            "action": "jira_transition_issues",
            "summary": f"Close two {tag()}",
            "details": {"issueKeys": ["ENG-2", "ENG-4"], "targetStatus": "Done"},
        },
    )
    assert alice.decide(action_id, intent="reject", note="not yet").status_code == 303
    page = alice.get(f"/inbox/actions/{action_id}").text
    rows = re.findall(r"<tr class=\"\">(.*?)</tr>", page.split('id="preview-h"', 1)[1], re.S)
    assert len(rows) == 2
    for row in rows:
        assert "<strong>Done</strong>" in row


def test_the_timeline_speaks_in_names_not_internal_ids(service: Service, alice: Browserless):
    action_id = submit(service, SEED)
    assert approve_confirmed(alice, action_id, **{"edit-issueCount": "2"}).status_code == 303
    service.wait_for_status(action_id, "executed", "failed", "partially_executed")
    page = alice.get(f"/inbox/actions/{action_id}").text
    timeline = text_of(page.split('id="timeline-h"', 1)[1].split("</section>", 1)[0])
    assert "Executed in Jira" in timeline and "Jiragate" in timeline
    assert "lead-alice" in timeline and "log-triage-bot (agent)" in timeline
    assert "Edits: Number of tickets: 2" in timeline
    assert not re.search(r"\w+_\w+", timeline), timeline  # no snake_case names
    assert not re.search(r"[\w.-]+:\d+:[0-9a-f]{6}", timeline), timeline  # no worker ids


def test_search_finds_by_words_in_any_column(service: Service, alice: Browserless):
    marker = tag()
    wanted = submit(
        service,
        {
            "action": "jira_transition_issues",
            "summary": f"Close the flaky-login bug {marker}",
            "details": {"issueKeys": ["ENG-6"], "targetStatus": "Done"},
        },
    )
    other = submit(
        service,
        {
            "action": "jira_transition_issues",
            "summary": f"Close something else {tag()}",
            "details": {"issueKeys": ["ENG-6"], "targetStatus": "Done"},
        },
    )
    page = alice.get("/inbox/", q=f"FLAKY-login {marker}").text
    assert wanted in page and other not in page
    assert "matching the filters" in text_of(page)
    assert f'value="FLAKY-login {marker}"' in page
    assert other in alice.get("/inbox/", q="log-triage-bot").text  # by agent too
    assert "Nothing waiting" in text_of(alice.get("/inbox/", q=f"nothing-{marker}").text)


def test_analytics_per_group(tmp_path):
    with running_service(f"sqlite:///{tmp_path / 'a.db'}", **inbox_overrides()) as service:
        alice = Browserless(service)
        try:
            assert alice.signin("lead-alice").status_code == 303

            def transition(summary: str) -> str:
                return submit(
                    service,
                    {
                        "action": "jira_transition_issues",
                        "summary": summary,
                        "details": {"issueKeys": ["ENG-2"], "targetStatus": "Done"},
                    },
                )

            edited, plain, rejected = submit(service, SEED), transition("a"), transition("b")
            transition("waiting")
            assert approve_confirmed(alice, edited, **{"edit-issueCount": "3"}).status_code == 303
            assert alice.decide(plain, intent="approve").status_code == 303
            assert alice.decide(rejected, intent="reject").status_code == 303
            page = alice.get("/inbox/analytics", group="engineering-leads").text
        finally:
            alice.close()
    section = text_of(page.split('data-group="engineering-leads"', 1)[1])
    assert "Approval rate 67 % 2 approved (1 with edits), 1 rejected" in section
    assert "over 3 decisions" in section
    assert "Expired without a decision 0 of 4 requests" in section
    assert "Waiting now 1" in section
    assert re.search(r"log-triage-bot 4 2 1 0", section), section
