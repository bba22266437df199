"""The proxy's bulk create takes the highest ticket priority in the site's order (it used
`PRIORITIES.index`, which raised ValueError on "P1"): a name the order does not know is
the bulk priority then, so policy gates it; with none asked, the order's middle."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from jiragate.catalog import JIRA_PRIORITIES, PriorityOrder
from jiragate.catalog.rest import parse_rest_path
from jiragate.gateway import Gateway
from jiragate.proxy.mapping import Incoming, _bulk_create

DC = PriorityOrder(("P1", "P2", "P3", "P4"))


class _Site:
    """All `_bulk_create` asks of the gateway: the site's priority order."""

    def __init__(self, order: PriorityOrder) -> None:
        self.order = order

    def priority_order(self) -> PriorityOrder:
        return self.order


def bulk(order: PriorityOrder, *priorities: str | None) -> dict[str, Any]:
    updates = []
    for n, priority in enumerate(priorities):
        fields: dict[str, Any] = {
            "project": {"key": "ENG"},
            "issuetype": {"name": "Bug"},
            "summary": f"ticket {n}",
        }
        if priority is not None:
            fields["priority"] = {"name": priority}
        updates.append({"fields": fields})
    incoming = Incoming(
        method="POST",
        rest=parse_rest_path("/rest/api/2/issue/bulk"),
        params={},
        query=(),
        body={"issueUpdates": updates},
        base_url="http://gateway",
    )
    return asyncio.run(_bulk_create(incoming, cast(Gateway, _Site(order))))


@pytest.mark.parametrize(
    ("order", "asked", "bulk_priority"),
    [
        (DC, ("P4", "P1", "P3"), "P1"),
        (DC, ("P3", "P2"), "P2"),
        (DC, ("P4", None), "P4"),
        (DC, (None, None), "P2"),  # none asked: the middle of P1..P4, rounded up
        (JIRA_PRIORITIES, (None,), "Medium"),
        (JIRA_PRIORITIES, ("Low", "Highest", "High"), "Highest"),
        # Not placeable in the order: ranks above every one, so policy judges it.
        (DC, ("P1", "Blocker", "P4"), "Blocker"),
        (DC, ("p1", "P4"), "p1"),
        (JIRA_PRIORITIES, ("P1", "Lowest"), "P1"),
    ],
)
def test_the_bulk_priority_is_the_most_urgent_in_the_sites_order(
    order: PriorityOrder, asked: tuple[str | None, ...], bulk_priority: str
) -> None:
    details = bulk(order, *asked)
    assert details["priority"] == bulk_priority
    assert [t.get("priority") for t in details["tickets"]] == list(asked)
