"""The review flow in headless Chromium, at a desktop width and at 400 px: what a reviewer's
walk-through found (Enter approving at once, the decision 1,200 px down, the refusal below
the fold, wrong badges, a 945 px queue on a phone), each as a test, plus the tickets table,
keyboard shortcuts and analytics. No timings: every wait is for what the page shows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.service import Service
from tests.policy.samples import SEED
from tests.web.browser import DESKTOP, PHONE, shoot, sign_in_with_the_keyboard
from tests.web.helpers import Browserless, submit

WIDTHS = {"desktop": DESKTOP, "phone": PHONE}
TICKETS = [
    {
        "summary": f"NullPointerException in checkout #{n}",
        "description": f"java.lang.NullPointerException at Checkout.line{n * 17}",
    }
    for n in range(1, 13)
]


def twelve_tickets() -> dict[str, Any]:
    return {
        **SEED,
        "details": {**SEED["details"], "tickets": TICKETS},
        "justification": "12 distinct stack traces in last night's error log",
    }


def no_horizontal_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    # On failure, name the elements that stick out (the deepest ones are the culprits).
    wide = page.evaluate(
        """(limit) => Array.from(document.querySelectorAll('body *'))
            .filter((e) => e.getBoundingClientRect().right > limit + 0.5)
            .slice(-5)
            .map((e) => `${e.tagName}.${e.className} ${e.getBoundingClientRect().right}`)""",
        viewport,
    )
    assert width <= viewport, f"{page.url}: {width} px wide in a {viewport} px window: {wide}"


def in_view(page: Any, selector: str) -> bool:
    """Whether the element is inside the window as it is now (nothing scrolled by us)."""
    return bool(
        page.evaluate(
            """(selector) => {
                const box = document.querySelector(selector).getBoundingClientRect();
                return box.top >= 0 && box.bottom <= window.innerHeight && box.height > 0
                    && box.left >= 0 && box.right <= window.innerWidth;
            }""",
            selector,
        )
    )


def open_action(page: Any, service: Service, action_id: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{service.url}/inbox/actions/{action_id}")
    expect(page.locator(".decision-bar")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_enter_in_number_of_tickets_never_approves_and_keeps_the_edit(
    service: Service, new_page: Any, width: str
):
    from playwright.sync_api import expect

    action_id = submit(service, SEED)
    page = new_page(WIDTHS[width])
    sign_in_with_the_keyboard(page, service, "lead-alice")
    open_action(page, service, action_id)
    page.select_option("#edit-field-priority", "Medium")
    page.fill("#edit-field-issueCount", "4")
    page.press("#edit-field-issueCount", "Enter")
    # Enter previewed: the page says what the edit does, and the priority edit is kept.
    expect(page.locator(".tickets-count")).to_contain_text("4 of 12 tickets would be created")
    expect(page.locator("#edit-field-priority")).to_have_value("Medium")
    expect(page.locator("#confirm")).to_have_count(0)
    page.press("#edit-field-issueCount", "Enter")
    expect(page.locator(".tickets-count")).to_contain_text("8 dropped")
    assert service.agent_view(action_id)["status"] == "pending_approval"

    # Approve asks once, in view, saying what will run.
    page.click(".decision-bar button[value=approve]")
    expect(page.locator("#confirm")).to_contain_text("with edits: 4 of 12, as Medium")
    expect(page.locator("#confirm-h")).to_be_focused()
    assert in_view(page, "#confirm-h")
    page.keyboard.press("Enter")  # focus is on the heading: Enter does nothing there
    assert service.agent_view(action_id)["status"] == "pending_approval"
    page.click("#confirm-approve")
    expect(page.locator(".notice-ok")).to_contain_text("You approved this request")
    final = service.wait_for_status(action_id, "executed", "failed", "partially_executed")
    assert final["effective_details"] == {**SEED["details"], "issueCount": 4, "priority": "Medium"}
    made = service.sandbox_issues(label=f"jiragate-{action_id}")
    assert len(made) == 4 and {i.priority for i in made} == {"Medium"}


@pytest.mark.parametrize("width", WIDTHS)
def test_the_decision_bar_and_a_refusal_are_where_the_eye_is(
    service: Service, new_page: Any, width: str
):
    from playwright.sync_api import expect

    action_id = submit(service, twelve_tickets())
    page = new_page(WIDTHS[width])
    sign_in_with_the_keyboard(page, service, "lead-alice")
    open_action(page, service, action_id)
    assert in_view(page, ".decision-bar button[value=approve]")  # on arrival, no scrolling
    page.mouse.wheel(0, 5000)
    expect(page.locator(".decision-bar button[value=approve]")).to_be_in_viewport()
    no_horizontal_overflow(page)

    hotfix = submit(
        service,
        {
            "action": "jira_create_ticket",
            "summary": "Hotfix ticket for the checkout crash",
            "details": {
                "projectKey": "ENG",
                "issueType": "Bug",
                "summary": "x",
                "priority": "High",
            },
        },
    )
    open_action(page, service, hotfix)
    page.select_option("#edit-field-priority", "Medium")  # then no lead rule covers it
    page.click(".decision-bar button[value=approve]")
    expect(page.locator("#refusal")).to_contain_text("project-managers")
    assert in_view(page, "#refusal")
    expect(page.locator("#refusal")).to_be_focused()
    no_horizontal_overflow(page)
    if width == "phone":
        shoot(page, "inbox-phone-refusal.png")


@pytest.mark.parametrize("width", WIDTHS)
def test_choosing_tickets_in_the_table_creates_exactly_those(
    service: Service, new_page: Any, width: str
):
    from playwright.sync_api import expect

    action_id = submit(service, twelve_tickets())
    page = new_page(WIDTHS[width])
    sign_in_with_the_keyboard(page, service, "lead-alice")
    open_action(page, service, action_id)
    expect(page.locator("table.tickets .badge", has_text="Would be created")).to_have_count(12)
    expect(page.locator("table.tickets")).not_to_contain_text("Created")
    for index in range(12):
        if index not in (0, 2, 5, 7):
            page.uncheck(f"#ticket-{index}-keep")
    page.fill("#ticket-2-summary", "Checkout NPE when the basket is empty")
    page.select_option("#ticket-5-priority", "Low")
    page.press("#ticket-2-summary", "Enter")  # previews
    expect(page.locator(".tickets-count")).to_contain_text("4 of 12 tickets would be created")
    expect(page.locator("table.tickets")).to_contain_text(
        "Proposed: NullPointerException in checkout #3"
    )
    expect(page.locator("#ticket-2-summary")).to_have_value("Checkout NPE when the basket is empty")
    no_horizontal_overflow(page)
    if width == "desktop":
        shoot(page, "inbox-tickets.png", full_page=True)

    page.click(".decision-bar button[value=approve]")
    confirm = page.locator("#confirm")
    expect(confirm).to_contain_text("4 of 12 (tickets #1, #3, #6, #8)")
    expect(confirm.locator("li", has_text="Create")).to_have_count(4)
    page.click("#confirm-approve")
    expect(page.locator(".result")).to_contain_text("Executed")
    made = service.sandbox_issues(label=f"jiragate-{action_id}")
    assert sorted(i.summary for i in made) == sorted(
        [
            TICKETS[0]["summary"],
            "Checkout NPE when the basket is empty",
            TICKETS[5]["summary"],
            TICKETS[7]["summary"],
        ]
    )
    assert sorted(i.priority for i in made) == ["High", "High", "High", "Low"]
    for issue in made:
        expect(page.locator("table.tickets")).to_contain_text(f"Created {issue.key}")
    expect(page.locator("table.tickets")).not_to_contain_text("would be created")
    expect(page.locator(".tickets-count")).to_contain_text("4 of 12 tickets created in Jira")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Executed in Jira")
    assert "_" not in timeline.inner_text()
    no_horizontal_overflow(page)
    if width == "desktop":
        shoot(page, "inbox-tickets-executed.png", full_page=True)


def test_keyboard_shortcuts_move_and_decide_but_never_inside_a_field(
    service: Service, new_page: Any
):
    from playwright.sync_api import expect

    first = submit(
        service,
        {
            "action": "jira_transition_issues",
            "summary": "Keys: first",
            "details": {"issueKeys": ["ENG-2"], "targetStatus": "Done"},
        },
    )
    second = submit(
        service,
        {
            "action": "jira_transition_issues",
            "summary": "Keys: second",
            "details": {"issueKeys": ["ENG-4"], "targetStatus": "Done"},
        },
    )
    page = new_page()
    sign_in_with_the_keyboard(page, service, "lead-alice")
    page.goto(f"{service.url}/inbox/?q=Keys:")
    page.keyboard.press("j")
    expect(page.locator(f'a[href="/inbox/actions/{first}"]')).to_be_focused()
    page.keyboard.press("j")
    expect(page.locator(f'a[href="/inbox/actions/{second}"]')).to_be_focused()
    page.keyboard.press("k")
    expect(page.locator(f'a[href="/inbox/actions/{first}"]')).to_be_focused()
    page.keyboard.press("/")
    expect(page.locator("#f-q")).to_be_focused()
    page.keyboard.press("End")
    page.keyboard.type("jkar")  # typed into the search box, not shortcuts
    expect(page.locator("#f-q")).to_have_value("Keys:jkar")
    page.goto(f"{service.url}/inbox/?q=Keys:")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Keys: first")

    # Inside the note, a, r, e, j and k are letters.
    page.click("#note")
    page.keyboard.type("a rejected ejk")
    expect(page.locator("#note")).to_have_value("a rejected ejk")
    assert service.agent_view(first)["status"] == "pending_approval"
    page.locator("#note").blur()
    page.keyboard.press("j")  # the next request in the queue
    expect(page.locator("h1")).to_have_text("Keys: second")
    page.keyboard.press("k")
    expect(page.locator("h1")).to_have_text("Keys: first")
    page.keyboard.press("a")  # not edited, not destructive: approves at once
    expect(page.locator(".notice-ok")).to_contain_text("You approved this request")
    assert service.agent_view(first)["approval"]["decision_summary"] == "approved as proposed"
    page.goto(f"{service.url}/inbox/actions/{second}")
    page.keyboard.press("e")
    expect(page.locator(".edits input:not([type=hidden])").first).to_be_focused()
    page.locator(":focus").blur()
    page.keyboard.press("r")
    expect(page.locator(".notice-info")).to_contain_text("You rejected this request")
    assert service.agent_view(second)["status"] == "rejected"


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_window(
    service: Service, new_page: Any, alice: Browserless, width: str
):
    decided = submit(service, twelve_tickets())  # so that history has a row to lay out
    assert alice.decide(decided, intent="reject", note="a long note " * 20).status_code == 303
    submit(service, twelve_tickets())
    submit(
        service,
        {
            "action": "jira_move_to_sprint",
            "summary": "Pull the empty-basket crash into sprint_42 and a very long summary "
            "that would otherwise push the queue wider than a phone's screen",
            "details": {"issueKeys": ["ENG-10"], "sprintId": "sprint_42"},
        },
    )
    page = new_page(WIDTHS[width])
    sign_in_with_the_keyboard(page, service, "lead-alice")
    no_horizontal_overflow(page)
    if width == "phone":
        shoot(page, "inbox-phone-queue.png")
    first = page.locator("#queue a.summary").first.get_attribute("href")
    for path in (first, "/inbox/history", "/inbox/analytics"):
        page.goto(f"{service.url}{path}")
        no_horizontal_overflow(page)
    if width == "desktop":
        shoot(page, "inbox-analytics.png", full_page=True)
