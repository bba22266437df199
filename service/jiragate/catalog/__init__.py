"""The action catalog: every Jira action the gateway knows, one `ActionSpec` each.

The catalog, not the agent, decides whether an action is a read, a write or destructive
(PRODUCT.md, principle 2). Each action is declared once (`catalog/actions.py`): its kind, its
`details` schema (`schemas/actions/<name>.json`), its `count` fact, its reviewer edit rules,
its preview kind and the invariants a schema cannot express. The package:

- `spec.py`: `ActionSpec`, the registry (`CATALOG`, `get_spec`, `register`), schemas;
- `details.py`: the envelope, validating details (schema, then invariants), the facts
  (`project_of`, `count_of`);
- `rules.py` and `edits.py`: how a reviewer's edit may change each field, and the one check
  (`narrowed_details`);
- `actions.py`: the built-in actions; `agile_actions.py`: sprints, backlog and rank,
  releases and components; `issue_actions.py`: the issue-level writes; `read_actions.py`:
  the reads of projects, boards, metadata, users and an issue's extras; `panel_actions.py`:
  ProForma forms, the development panel and cross-project links; `jsm_actions.py`: Jira
  Service Management (service desks, queues, request types, SLAs, customer requests);
  `move_actions.py`: moving an issue to another project (the one action in two projects).

`ACTION_NAMES` is the built-in actions in listing order, fixed when the catalog loads.
"""

from __future__ import annotations

from jiragate.catalog.actions import register_builtin_actions
from jiragate.catalog.agile_actions import register_agile_actions
from jiragate.catalog.details import (
    MAX_JUSTIFICATION,
    MAX_SUMMARY,
    ActionRequest,
    count_of,
    issue_keys_of,
    normalise_details,
    parse_envelope,
    project_of,
    validate_details,
)
from jiragate.catalog.edits import (
    EDIT_RULES,
    apply_patch,
    describe_edit,
    edit_rules,
    edit_violations,
    kept_items,
    narrowed_details,
    rule_of,
    widening_reasons,
)
from jiragate.catalog.issue_actions import register_issue_actions
from jiragate.catalog.jsm_actions import register_jsm_actions
from jiragate.catalog.move_actions import register_move_actions
from jiragate.catalog.panel_actions import register_panel_actions
from jiragate.catalog.priorities import JIRA_PRIORITIES, PriorityOrder, PriorityOrderError
from jiragate.catalog.read_actions import register_read_actions
from jiragate.catalog.rest_actions import register_rest_actions
from jiragate.catalog.rules import EditRule, FieldRule, ItemRules, NestedRules
from jiragate.catalog.spec import (
    CATALOG,
    PREVIEW_KINDS,
    ActionKind,
    ActionSpec,
    PreviewKind,
    SideEffects,
    get_spec,
    load_action_schema,
    register,
    registered,
    schemas_dir,
)

register_builtin_actions()
register_agile_actions()
register_issue_actions()
register_read_actions()
register_panel_actions()  # forms, the development panel, cross-project links
register_jsm_actions()  # Jira Service Management: desks, queues, request types, SLAs
register_move_actions()  # moving an issue to another project
register_rest_actions()  # the proxy's generic actions (docs/proxy.md), listed last

ACTION_NAMES: tuple[str, ...] = tuple(CATALOG)

__all__ = [
    "ACTION_NAMES",
    "CATALOG",
    "EDIT_RULES",
    "JIRA_PRIORITIES",
    "MAX_JUSTIFICATION",
    "MAX_SUMMARY",
    "PREVIEW_KINDS",
    "ActionKind",
    "ActionRequest",
    "ActionSpec",
    "EditRule",
    "FieldRule",
    "ItemRules",
    "NestedRules",
    "PreviewKind",
    "PriorityOrder",
    "PriorityOrderError",
    "SideEffects",
    "apply_patch",
    "count_of",
    "describe_edit",
    "edit_rules",
    "edit_violations",
    "get_spec",
    "issue_keys_of",
    "kept_items",
    "load_action_schema",
    "narrowed_details",
    "normalise_details",
    "parse_envelope",
    "project_of",
    "register",
    "registered",
    "rule_of",
    "schemas_dir",
    "validate_details",
    "widening_reasons",
]
