"""Policy sets and policy texts the hot-reload and hostile tests write.

The reload tests ask about one epic again and again while a rule that denies epics is added
(`flip_deny_epics`) or an invalid one is dropped in (`BROKEN_EPIC_RULE`), each written with
`write_atomically` so a watcher never reads half a file. The scope tests run the default set
plus one rule that denies everything in OPS (`copy_policies_denying_ops`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from tests.helpers.service import shipped_policy_files

BROKEN_EPIC_RULE = (
    "rules:\n  - id: broken\n    match: {action: jira_create_epic}\n    decision: maybe\n"
)
DENY_OPS = """\
rules:
  - id: deny-ops
    match:
      project: OPS
    decision: deny
    reason: Nothing is written to OPS by an agent.
"""


def epic_proposal(summary: str) -> dict[str, Any]:
    """The envelope of a `jira_create_epic` in ENG, which the default set sends for approval."""
    return {
        "action": "jira_create_epic",
        "summary": summary,
        "details": {"projectKey": "ENG", "summary": "Fraud detection"},
    }


def flip_deny_epics(reason: str) -> str:
    """A rule file whose `flip-deny-epics` denies every epic, above the default rules."""
    return f"""
rules:
  - id: flip-deny-epics
    match: {{action: jira_create_epic}}
    decision: deny
    priority: 1000
    reason: {reason}
"""


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename, so a policy watcher sees old or new."""
    temporary = path.with_suffix(".tmp")  # not *.yaml: never read as a policy file
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def copy_policies_denying_ops(directory: Path) -> Path:
    """`directory`/policies: the default policy set plus `ops.yaml`, denying project OPS."""
    policies = directory / "policies"
    policies.mkdir()
    for path in shipped_policy_files():
        shutil.copy(path, policies / path.name)
    (policies / "ops.yaml").write_text(DENY_OPS, encoding="utf-8")
    return policies
