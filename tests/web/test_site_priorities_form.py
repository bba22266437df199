"""The inbox offers a reviewer the proposed priority and the lower ones in the site's order
(`Gateway.priority_order`), and only the proposed one when the order cannot place it; the
gateway refuses anything else either way (tests/e2e/test_site_priorities.py)."""

from __future__ import annotations

from typing import Any

from jiragate.catalog import JIRA_PRIORITIES, PriorityOrder
from jiragate.web.forms import editable_fields
from jiragate.web.previews import TicketRow

DC = PriorityOrder(("P1", "P2", "P3", "P4"))


def priority_options(details: dict[str, Any], order: PriorityOrder) -> list[str]:
    (field,) = [
        f for f in editable_fields("jira_create_ticket", details, order) if f.name == "priority"
    ]
    assert field.widget == "select"
    return field.options


def ticket(priority: str) -> dict[str, Any]:
    return {"projectKey": "ENG", "issueType": "Bug", "summary": "Crash", "priority": priority}


def test_the_form_offers_lower_priorities_in_the_sites_order() -> None:
    assert priority_options(ticket("P2"), DC) == ["P2", "P3", "P4"]
    assert priority_options(ticket("P4"), DC) == ["P4"]
    assert priority_options(ticket("High"), JIRA_PRIORITIES) == ["High", "Medium", "Low", "Lowest"]


def test_a_priority_the_order_cannot_place_is_offered_only_as_it_is() -> None:
    assert priority_options(ticket("Blocker"), DC) == ["Blocker"]
    assert priority_options(ticket("P1"), JIRA_PRIORITIES) == ["P1"]  # before: the default five


def test_a_bulk_tickets_options_follow_the_sites_order() -> None:
    row = TicketRow(1, "t", "P2", "Bug", proposed_priority="P2", priorities=DC)
    assert row.priority_options == ["P2", "P3", "P4"]
    odd = TicketRow(2, "t", "Blocker", "Bug", proposed_priority="Blocker", priorities=DC)
    assert odd.priority_options == ["Blocker"]
