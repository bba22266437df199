"""`jiragate check --site site.json`: the policies' literals against one Jira site.

Without a site the loader cannot know which priorities, issue types, statuses, resolutions
or custom fields exist (they are the site's: catalog/site.py), so it accepts any name. Given
a snapshot (`jiragate jira snapshot --out site.json`), every condition comparing such a
field with a literal is checked, and a name the site does not have is an error with the
site's valid values and a suggestion. The set's priority order (`priorities:`, else Jira's
default five) is compared with the site's too (`priority_order_problem`): `at_least` /
`at_most` compare in the set's order, so an order the site does not have decides wrongly.
Pure: the snapshot is passed in as data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from jiragate.catalog import ACTION_NAMES, load_action_schema
from jiragate.catalog.site import (
    SiteMetadata,
    resolve_custom_field,
    unknown_value_message,
)
from jiragate.policy.engine import PolicySet
from jiragate.policy.facts import schema_node, split_path
from jiragate.policy.model import Predicate, Rule, leaf_predicates

_COMPARED = frozenset({"eq", "ne", "in", "not_in", "at_least", "at_most"})


@dataclass(frozen=True, slots=True)
class SiteProblem:
    rule: Rule
    predicate: Predicate
    message: str

    def __str__(self) -> str:
        where = self.predicate.location
        return f"{where} {self.predicate.path}: {self.message}"


def _site_kind(field: str) -> str | None:
    """The site kind of `details.<path>` in any catalog action ("customfield" for a key of a
    customFields object), or None."""
    if not field.startswith("details."):
        return None
    try:
        parts = split_path(field.removeprefix("details."))
    except ValueError:
        return None
    if len(parts) >= 2 and parts[-2] == "customFields":
        return "customfield"
    for action in ACTION_NAMES:
        node = schema_node(load_action_schema(action), parts)
        if node is not None and isinstance(node.get("x-jiragate-site"), str):
            return str(node["x-jiragate-site"])
    return None


def _problems(rule: Rule, predicate: Predicate, site: SiteMetadata) -> Iterator[str]:
    kind = _site_kind(predicate.field)
    if kind is None:
        return
    if kind == "customfield":
        name = split_path(predicate.field.removeprefix("details."))[-1]
        if site.fields:
            found, problem = resolve_custom_field(site, name)
            if found is None:
                yield str(problem)
        return
    if predicate.operator not in _COMPARED:
        return
    valid = site.values(kind)
    if not valid:
        return
    values = predicate.argument if isinstance(predicate.argument, list) else [predicate.argument]
    for value in values:
        if isinstance(value, str) and value not in valid:
            yield unknown_value_message(kind, value, valid, "on this site")


def priority_order_problem(policies: PolicySet, site: SiteMetadata) -> str | None:
    """Why the set's priority order is not the site's (names missing either way, or the
    same names in another order), or None when they agree or the snapshot lists none."""
    theirs = tuple(site.priorities)
    if not theirs:
        return None
    ours = policies.priorities.names
    if ours == theirs:
        return None
    at = policies.model.priorities_at
    declared = f"declared at {at}" if at is not None else "Jira's default, none declared"
    differences = []
    lacking = [name for name in ours if name not in theirs]
    if lacking:
        differences.append(f"the site has no {', '.join(map(repr, lacking))}")
    unlisted = [name for name in theirs if name not in ours]
    if unlisted:
        differences.append(f"the set does not list {', '.join(map(repr, unlisted))}")
    if not differences:
        differences.append("the same names in another order")
    listed = ", ".join(theirs)
    return (
        f"priorities ({declared}) are {' > '.join(ours)}, but the site's are "
        f"{' > '.join(theirs)}: {'; '.join(differences)}. at_least / at_most compare in the "
        f"set's order, so declare the site's: `priorities: [{listed}]`"
    )


def site_problems(policies: PolicySet, site: SiteMetadata) -> list[SiteProblem]:
    """Every literal of the policies that names something this site does not have."""
    found: list[SiteProblem] = []
    for rule in policies.rules:
        for predicate in leaf_predicates(rule.match):
            for message in _problems(rule, predicate, site):
                found.append(SiteProblem(rule, predicate, message))
    return found
