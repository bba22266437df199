"""`jiragate check --site site.json`: the policies' literals against one Jira site.

Without a site the loader cannot know which priorities, issue types, statuses, resolutions
or custom fields exist (they are the site's: catalog/site.py), so it accepts any name. Given
a snapshot (`jiragate jira snapshot --out site.json`), every condition comparing such a
field with a literal is checked, and a name the site does not have is an error with the
site's valid values and a suggestion. Pure: the snapshot is passed in as data.
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


def site_problems(policies: PolicySet, site: SiteMetadata) -> list[SiteProblem]:
    """Every literal of the policies that names something this site does not have."""
    found: list[SiteProblem] = []
    for rule in policies.rules:
        for predicate in leaf_predicates(rule.match):
            for message in _problems(rule, predicate, site):
                found.append(SiteProblem(rule, predicate, message))
    return found
