"""The inbox in a real headless Chromium (Debian's package), driven by Playwright: the seed's
story, rejecting, group visibility, escaping and the live queue (fixtures: tests/web/browser.py).
"""

from __future__ import annotations

from typing import Any

from tests.helpers.service import Service
from tests.policy.samples import SEED
from tests.web.browser import shoot, sign_in_with_the_keyboard
from tests.web.helpers import SEED_NOTE, submit


def test_the_seed_story_in_the_browser(service: Service, new_page: Any):
    from playwright.sync_api import expect

    # A realistic queue around the seed's request, for the screenshot.
    submit(
        service,
        {
            "action": "jira_transition_issues",
            "summary": "Close 2 checkout bugs fixed in release 1.1",
            "details": {"issueKeys": ["ENG-2", "ENG-4"], "targetStatus": "Done"},
            "justification": "Both fixes are merged and deployed.",
        },
    )
    seed_id = submit(
        service,
        {**SEED, "justification": "12 distinct stack traces in last night's error log"},
    )
    submit(
        service,
        {
            "action": "jira_move_to_sprint",
            "summary": "Pull the empty-basket crash into sprint_42",
            "details": {"issueKeys": ["ENG-10"], "sprintId": "sprint_42"},
        },
    )

    page = new_page()
    sign_in_with_the_keyboard(page, service, "lead-alice")
    row = page.locator("tr", has=page.locator(f'a[href="/inbox/actions/{seed_id}"]'))
    expect(row).to_contain_text(SEED["summary"])
    expect(row).to_contain_text("12")
    expect(row).to_contain_text("high-priority-creation")
    shoot(page, "inbox-queue.png", full_page=True)

    row.locator("a.summary").click()
    expect(page.locator("h1")).to_have_text(SEED["summary"])
    expect(page.locator("table.tickets tbody tr")).to_have_count(12)
    page.fill("#edit-field-issueCount", "4")
    page.select_option("#edit-field-priority", "Medium")
    page.click(".decision-bar button[value=preview]")
    expect(page.locator("#preview-h ~ p").first).to_contain_text(
        "4 of 12 tickets would be created; 8 dropped"
    )
    expect(page.locator("tr.dropped")).to_have_count(8)
    expect(page.locator("#edit-field-issueCount")).to_have_value("4")  # the form kept it
    page.fill("#note", SEED_NOTE)
    shoot(page, "inbox-detail.png", full_page=True)

    page.click(".decision-bar button[value=approve]")
    expect(page.locator("#confirm")).to_contain_text("with edits: 4 of 12, as Medium")
    shoot(page, "inbox-confirm.png")
    page.click("#confirm-approve")
    expect(page.locator(".notice-ok")).to_contain_text("You approved this request")
    # The page polls the action's status and reloads when Jira is done.
    expect(page.locator(".result")).to_contain_text("Executed")
    expect(page.locator(".result")).to_contain_text(SEED_NOTE)
    made = service.sandbox_issues(label=f"jiragate-{seed_id}")
    assert len(made) == 4 and {issue.priority for issue in made} == {"Medium"}
    for issue in made:
        expect(page.locator(".result .outcome")).to_contain_text(issue.key)
    shoot(page, "inbox-executed.png", full_page=True)


def test_reject_flow(service: Service, new_page: Any):
    from playwright.sync_api import expect

    action_id = submit(
        service,
        {
            "action": "jira_transition_issues",
            "summary": "Auto-close ENG-6 as fixed",
            "details": {"issueKeys": ["ENG-6"], "targetStatus": "Done"},
        },
    )
    page = new_page()
    sign_in_with_the_keyboard(page, service, "lead-bob")
    page.click(f'a[href="/inbox/actions/{action_id}"]')
    page.fill("#note", "The flaky test still fails on main; keep it open.")
    page.click(".decision-bar button[value=reject]")
    expect(page.locator(".notice-info")).to_contain_text("You rejected this request")
    expect(page.locator(".result")).to_contain_text("Rejected")
    view = service.agent_view(action_id)
    assert view["status"] == "rejected"
    assert view["approval"]["note"] == "The flaky test still fails on main; keep it open."


def test_a_reviewer_of_another_group_does_not_see_the_item(service: Service, new_page: Any):
    from playwright.sync_api import expect

    action_id = submit(
        service,
        {
            "action": "jira_move_to_sprint",
            "summary": "Leads-only sprint change",
            "details": {"issueKeys": ["ENG-9"], "sprintId": "sprint_42"},
        },
    )
    page = new_page()
    sign_in_with_the_keyboard(page, service, "pm-carol")
    expect(page.locator("main")).not_to_contain_text("Leads-only sprint change")
    response = page.goto(f"{service.url}/inbox/actions/{action_id}")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")


def test_an_html_laden_summary_renders_as_text(service: Service, new_page: Any):
    from playwright.sync_api import expect

    summary = '<img id="injected" src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    action_id = submit(
        service,
        {
            "action": "jira_transition_issues",
            "summary": summary,
            "details": {"issueKeys": ["ENG-2"], "targetStatus": "Done"},
            "justification": "<b id='bold'>trust me</b>",
        },
    )
    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in_with_the_keyboard(page, service, "lead-alice")
    link = page.locator(f'a[href="/inbox/actions/{action_id}"]')
    expect(link).to_have_text(summary)
    link.click()
    expect(page.locator("h1")).to_have_text(summary)
    expect(page.locator(".justification")).to_have_text("<b id='bold'>trust me</b>")
    assert page.locator("#injected").count() == 0 and page.locator("#bold").count() == 0
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
    assert page.evaluate("window.pwned === undefined")
    assert dialogs == []


def test_the_queue_updates_without_a_reload(service: Service, new_page: Any):
    from playwright.sync_api import expect

    page = new_page()
    sign_in_with_the_keyboard(page, service, "lead-alice")
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    action_id = submit(
        service,
        {
            "action": "jira_transition_issues",
            "summary": "Arrived while the queue was open",
            "details": {"issueKeys": ["ENG-10"], "targetStatus": "In Progress"},
        },
    )
    expect(page.locator(f'a[href="/inbox/actions/{action_id}"]')).to_be_visible()
    expect(page.locator("#queue-updated")).to_contain_text("Updated")
    assert page.evaluate("window.sameDocument === true")
