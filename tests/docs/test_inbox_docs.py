"""docs/inbox.md says what the inbox does: its example answers are what the code says for
those edits, its shortcuts are the page's, its pictures exist."""

from __future__ import annotations

import re

from jiragate.catalog import describe_edit, narrowed_details
from jiragate.examples import SEED_EDIT, SEED_ENVELOPE, SEED_NOTE
from tests.helpers.service import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "inbox.md").read_text(encoding="utf-8")


def example_answers() -> list[str]:
    block = DOC.split("### What the agent is told", 1)[1].split("```text\n", 1)[1]
    return block.split("```", 1)[0].strip().splitlines()


def test_the_example_answers_are_what_the_agent_is_told():
    seed = SEED_ENVELOPE["details"]
    effective = narrowed_details("jira_create_tickets", seed, SEED_EDIT)
    seed_answer = f"approved with edits: {describe_edit('jira_create_tickets', seed, effective)}"
    tickets = [{"summary": f"NPE #{n}", "description": f"trace {n}"} for n in range(1, 13)]
    proposal = {**seed, "tickets": tickets}
    kept = [dict(tickets[n]) for n in (0, 2, 5, 7)]
    kept[1]["summary"] = "Checkout NPE when the basket is empty"
    chosen = narrowed_details(
        "jira_create_tickets",
        proposal,
        {"tickets": kept, "issueCount": 4, "priority": "Medium"},
    )
    ticket_answer = describe_edit("jira_create_tickets", proposal, chosen)
    first, second, *_ = example_answers()
    assert first == f"approved with edits: {ticket_answer}; note: Four distinct ones."
    assert second == f"{seed_answer}; note: {SEED_NOTE}"


def test_the_documented_shortcuts_are_the_pages():
    script = (REPO_ROOT / "service/jiragate/web/static/inbox.js").read_text(encoding="utf-8")
    page = (REPO_ROOT / "service/jiragate/web/templates/detail.html").read_text(encoding="utf-8")
    table = DOC.split("Shortcuts (never while typing", 1)[1].split("## ", 1)[0]
    documented = set(re.findall(r"^\| <kbd>(\w|/)</kbd>", table, re.M))
    documented |= set(re.findall(r"^\| <kbd>\w</kbd> / <kbd>(\w)</kbd>", table, re.M))
    assert documented == {"j", "k", "/", "a", "r", "e"}
    for key in "jkar":
        assert f'data-key="{key}"' in page, key
    assert 'event.key === "/"' in script and 'key === "e"' in script


def test_every_picture_on_the_page_exists():
    pictures = re.findall(r"!\[[^\]]*\]\((img/[\w.-]+)\)", DOC)
    assert len(pictures) >= 7
    for picture in pictures:
        assert (REPO_ROOT / "docs" / picture).is_file(), picture
