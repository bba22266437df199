"""docs/jira.md documents every Jira setting under the names the service reads."""

from __future__ import annotations

import re
from pathlib import Path

from jiragate.settings import JiraSettings

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "jira.md"


def test_every_jira_setting_has_a_row_with_its_variable() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [
        name
        for name in JiraSettings.model_fields
        if f"| `jira.{name}` | `JIRAGATE_JIRA__{name.upper()}` |" not in text
    ]
    assert not missing, f"docs/jira.md's configuration table lacks: {', '.join(missing)}"


def test_no_doc_names_a_variable_the_service_does_not_read() -> None:
    """`JIRAGATE_JIRA_URL` (one underscore) was documented and ignored; the only places it
    may appear are the sentences saying it is refused."""
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            named = re.findall(r"JIRAGATE_JIRA_[A-Z]\w*", line)
            if named and not re.search(r"refused|not read|never read", line):
                raise AssertionError(f"{doc.name}:{number} names {named}: {line}")
            assert "from_env" not in line, f"{doc.name}:{number} documents from_env"
