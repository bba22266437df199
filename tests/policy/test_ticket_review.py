"""Item-level review of a bulk creation: a reviewer picks which proposed tickets to create and
may reword each one's summary and lower its priority; nothing else. Properties over generated
proposals and edits: every such edit is accepted and runs exactly what was chosen, and every
edit that does more (a new ticket, another field, a higher priority, a reorder) is refused
naming the ticket and field."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from jiragate.catalog import JIRA_PRIORITIES, narrowed_details
from jiragate.errors import EditRefusedError

SUMMARIES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(str.strip)

PRIORITIES = JIRA_PRIORITIES.names  # the order these tests judge edits in


@st.composite
def proposals(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 12))
    tickets = []
    for number in range(count):
        ticket: dict[str, Any] = {"summary": f"Crash {number}: {draw(SUMMARIES)}"}
        if draw(st.booleans()):
            ticket["description"] = f"stack trace {number}"
        if draw(st.booleans()):
            ticket["priority"] = draw(st.sampled_from(PRIORITIES))
        tickets.append(ticket)
    return {
        "projectKey": "ENG",
        "issueCount": count,
        "issueType": "Bug",
        "priority": draw(st.sampled_from(PRIORITIES)),
        "labels": ["ai-generated"],
        "tickets": tickets,
    }


def own_priority(details: dict[str, Any], ticket: dict[str, Any]) -> str:
    return str(ticket.get("priority", details["priority"]))


@st.composite
def reviews(draw: st.DrawFn, details: dict[str, Any]) -> tuple[list[int], dict[str, Any]]:
    """A reviewer's choice: the kept tickets' numbers and the patch the inbox would send."""
    tickets = details["tickets"]
    kept = sorted(
        draw(st.sets(st.integers(0, len(tickets) - 1), min_size=1, max_size=len(tickets)))
    )
    edited = []
    for index in kept:
        ticket = dict(tickets[index])
        if draw(st.booleans()):
            ticket["summary"] = draw(SUMMARIES)
        if draw(st.booleans()):
            current = PRIORITIES.index(own_priority(details, ticket))
            ticket["priority"] = draw(st.sampled_from(PRIORITIES[current:]))
        edited.append(ticket)
    return kept, {"tickets": edited, "issueCount": len(edited)}


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_choosing_rewording_and_lowering_tickets_is_accepted_as_chosen(data):
    details = data.draw(proposals(), label="proposal")
    kept, patch = data.draw(reviews(details), label="review")
    effective = narrowed_details("jira_create_tickets", details, patch)
    assert effective["issueCount"] == len(kept)
    assert [t["summary"] for t in effective["tickets"]] == [t["summary"] for t in patch["tickets"]]
    for chosen, made in zip(patch["tickets"], effective["tickets"], strict=True):
        assert own_priority(effective, made) == own_priority(details, chosen)
    # Every field but the tickets (and their count) is as proposed.
    assert {k: v for k, v in effective.items() if k not in ("tickets", "issueCount")} == {
        k: v for k, v in details.items() if k not in ("tickets", "issueCount")
    }


WIDENINGS = ("add", "duplicate", "reorder", "raise", "description", "type", "label", "assignee")


@st.composite
def widenings(draw: st.DrawFn, details: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A review that does more than the proposal in one way, and how."""
    kept, patch = draw(reviews(details))
    tickets: list[dict[str, Any]] = patch["tickets"]
    how = draw(st.sampled_from(WIDENINGS))
    index = draw(st.integers(0, len(tickets) - 1))
    target = tickets[index]
    if how == "add":
        tickets.insert(index, {"summary": "A ticket nobody proposed", "description": "new"})
    elif how == "duplicate":
        # Every proposed ticket and one twice: one more than proposed, however it is read.
        tickets[:] = [dict(t) for t in details["tickets"]]
        tickets.insert(index, dict(tickets[index]))
    elif how == "reorder":
        if len(tickets) < 2 or all(
            t.get("description") == tickets[0].get("description") for t in tickets
        ):
            # Indistinguishable tickets: swapping them is rewording both. Add one instead.
            tickets.append({"summary": "A ticket nobody proposed", "issueType": "Task"})
        else:
            # The last proposed ticket moved first, its description kept: no proposed ticket
            # before the others has it, so the order cannot be kept.
            tickets[:] = [dict(t) for t in details["tickets"]]
            tickets.insert(0, tickets.pop())
    elif how == "raise":
        # Above what the agent proposed for this ticket and every later one (a reworded
        # ticket may stand for a later proposed one): above the reviewer's choice is not enough.
        later = details["tickets"][kept[index] :]
        current = min(PRIORITIES.index(own_priority(details, t)) for t in later)
        if current == 0:
            target["issueType"] = "Epic"
        else:
            target["priority"] = PRIORITIES[draw(st.integers(0, current - 1))]
    elif how == "description":
        target["description"] = "Also drop the production database"
    elif how == "type":
        target["issueType"] = "Epic"
    elif how == "label":
        target["labels"] = ["ai-generated", "security-exempt"]
    else:
        target["assignee"] = "attacker"
    return how, {"tickets": tickets, "issueCount": len(tickets)}


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_no_ticket_edit_widens_the_creation(data):
    details = data.draw(proposals(), label="proposal")
    how, patch = data.draw(widenings(details), label="widening")
    try:
        effective = narrowed_details("jira_create_tickets", details, patch)
    except EditRefusedError as error:
        assert error.violations, how
        assert all(v.pointer.startswith(("/tickets", "/issueCount")) for v in error.violations)
        assert "(rule: " in str(error)
        return
    raise AssertionError(f"a widening edit ({how}) was accepted: {effective}")


def test_a_count_only_edit_still_keeps_the_first_tickets():
    details = {
        "projectKey": "ENG",
        "issueCount": 3,
        "issueType": "Bug",
        "priority": "High",
        "tickets": [{"summary": "a"}, {"summary": "b"}, {"summary": "c"}],
    }
    effective = narrowed_details("jira_create_tickets", details, {"issueCount": 2})
    assert [t["summary"] for t in effective["tickets"]] == ["a", "b"]
