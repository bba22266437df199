"""Load a policy set: YAML → structure (JSON Schema) → model → cross-references.

Every stage collects all the problems it can find before giving up, and every problem names
the file, the line and the path inside the document, e.g.

    policies/jira.yaml:42 rules[3].route_to: unknown review group 'pm'
    (known: engineering-leads, project-managers)

Several `*.yaml` files in one directory form one policy set; its revision is a hash of their
names and contents, so two replicas with the same files report the same revision.

A policy set is bounded (`PolicyLimits`, documented in docs/policies.md "Limits"): how many
files, how many bytes in all and per file (checked before anything is read), and per file the
YAML limits of `yamlsource.YamlLimits`. A set over a limit is refused like any other invalid
set, with the file, the line and the limit, so it never replaces a running one.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import yaml

from jiragate.catalog import ACTION_NAMES, CATALOG, schemas_dir
from jiragate.catalog.priorities import JIRA_PRIORITIES, PriorityOrder, PriorityOrderError
from jiragate.catalog.rest import is_template
from jiragate.errors import PolicyIssue, PolicyLoadError, YamlLimitError
from jiragate.policy import facts as fact_types
from jiragate.policy.model import (
    AllOf,
    AnyOf,
    Budget,
    CheqpointRouting,
    Condition,
    Defaults,
    Effect,
    Location,
    Not,
    PolicyModel,
    Predicate,
    ReviewGroup,
    Rule,
)
from jiragate.policy.operators import (
    ANY,
    OPERATORS,
    PRIORITY,
    PRIORITY_OPERATORS,
    ArgumentError,
    argument_key,
    compile_regex,
)
from jiragate.policy.schema_messages import friendly, most_specific
from jiragate.policy.yamlsource import (
    DEFAULT_LIMITS,
    Lines,
    MiB,
    PathKey,
    YamlLimits,
    describe_syntax_error,
    format_path,
    parse_document,
    read_limited,
    too_big,
)

POLICY_SUFFIXES = (".yaml", ".yml")
_DURATION = re.compile(r"(\d+)([smhd])")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_BLOCKS = ("all", "any", "not")


@dataclass(frozen=True, slots=True)
class PolicyLimits:
    """How big a policy set may be; see docs/policies.md "Limits"."""

    #: Most `*.yaml` files in a policy directory.
    max_files: int = 1_000
    #: Most bytes in all the files together; checked from the sizes before any is read.
    max_set_bytes: int = 16 * MiB
    #: Per file: its size and the YAML document's aliases, nodes, depth and scalars.
    yaml: YamlLimits = DEFAULT_LIMITS


DEFAULT_POLICY_LIMITS = PolicyLimits()


@cache
def policy_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (schemas_dir() / "policy.schema.json").read_text(encoding="utf-8")
    )
    return schema


#: A file with this many rules or more is checked by the compiled schema first. Compiling
#: costs ~0.35 s of CPU once per process, which jsonschema earns back only on big files (it
#: checks the shipped set's 19 rules in a few ms); every replica, worker and `jiragate
#: check` paid it at start for nothing.
COMPILED_CHECK_MIN_RULES = 500


@cache
def _schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(policy_schema())


@cache
def _fast_structure_check() -> Any:
    """The policy schema compiled to Python code (fastjsonschema), built once per process,
    as a check answering whether a document is valid.

    It only answers "valid or not": a file it accepts skips the walk of the whole document by
    jsonschema (about 15x slower at 10,000 rules); a file it refuses is validated again by
    jsonschema, which stays the authority and names every path. The schema uses only
    keywords that draft 7 and 2020-12 define alike; tests/policy/test_loader.py checks that
    whatever the compiled check accepts, jsonschema accepts too. `use_default=False`: the
    compiled check must never write the schema's defaults into the data."""
    schema = {**policy_schema(), "$schema": "http://json-schema.org/draft-07/schema#"}
    compiled = fastjsonschema.compile(_exclusive_one_of_as_any_of(schema), use_default=False)

    def check(data: object) -> bool:
        try:
            compiled(data)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return check


def _exclusive_one_of_as_any_of(node: Any) -> Any:
    """The schema with every `oneOf` whose branches declare pairwise disjoint `type`s
    written as `anyOf`: at most one such branch can hold, so "exactly one" and "at least
    one" agree, and the compiled anyOf stops at the first branch that holds instead of
    raising (and catching) an exception in every other (~60,000 at 10,000 rules)."""
    if isinstance(node, list):
        return [_exclusive_one_of_as_any_of(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _exclusive_one_of_as_any_of(value) for key, value in node.items()}
    branches = out.get("oneOf")
    if isinstance(branches, list) and "anyOf" not in out and _disjoint_types(branches):
        out["anyOf"] = out.pop("oneOf")
    return out


def _disjoint_types(branches: list[Any]) -> bool:
    seen: set[str] = set()
    for branch in branches:
        declared = branch.get("type") if isinstance(branch, dict) else None
        if declared is None:
            return False
        types = {declared} if isinstance(declared, str) else set(declared)
        if "integer" in types:
            types.add("number")  # an integer is a number: the two overlap
        if "number" in types:
            types.add("integer")
        if types & seen:
            return False
        seen |= types
    return True


def policy_files(path: Path) -> list[Path]:
    """The files of a policy set: `path` itself, or the YAML files directly inside it."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise PolicyLoadError(
            [PolicyIssue(str(path), None, "", "no such policy file or directory")]
        )
    files = sorted(p for p in path.iterdir() if p.suffix in POLICY_SUFFIXES and p.is_file())
    if not files:
        raise PolicyLoadError(
            [PolicyIssue(str(path), None, "", "no *.yaml policy files in this directory")]
        )
    return files


def load_model(path: str | Path, limits: PolicyLimits = DEFAULT_POLICY_LIMITS) -> PolicyModel:
    """Load and check a policy set. Raises PolicyLoadError listing every problem found."""
    directory = Path(path)
    files = policy_files(directory)
    return load_model_from_sources(read_sources(directory, files, limits), limits)


def read_sources(
    directory: Path, files: list[Path], limits: PolicyLimits = DEFAULT_POLICY_LIMITS
) -> list[tuple[str, bytes]]:
    """The files' contents, each read only if the set's and the file's sizes are within the
    limits (so an oversized file is refused without being read). Raises PolicyLoadError."""
    if len(files) > limits.max_files:
        message = f"{len(files):,} policy files (the limit is {limits.max_files:,})"
        raise PolicyLoadError([PolicyIssue(str(directory), None, "", message)])
    issues: list[PolicyIssue] = []
    sizes: dict[Path, int] = {}
    for file in files:
        try:
            sizes[file] = file.stat().st_size
        except OSError as exc:
            issues.append(PolicyIssue(str(file), None, "", f"cannot read: {exc.strerror}"))
    total = sum(sizes.values())
    if total > limits.max_set_bytes:
        message = (
            f"policy files too large together ({total:,} bytes; "
            f"the limit is {limits.max_set_bytes:,} bytes)"
        )
        issues.append(PolicyIssue(str(directory), None, "", message))
        raise PolicyLoadError(issues)
    sources = []
    for file in sizes:
        try:
            sources.append((str(file), read_limited(file, limits.yaml.max_file_bytes)))
        except YamlLimitError as exc:
            issues.append(PolicyIssue(str(file), None, "", exc.message))
        except OSError as exc:
            issues.append(PolicyIssue(str(file), None, "", f"cannot read: {exc.strerror}"))
    if issues:
        raise PolicyLoadError(issues)
    return sources


def load_model_from_sources(
    sources: list[tuple[str, bytes]], limits: PolicyLimits = DEFAULT_POLICY_LIMITS
) -> PolicyModel:
    """Load from (file name, content) pairs; used for files and for in-memory sets in tests."""
    total = sum(len(content) for _, content in sources)
    if total > limits.max_set_bytes:
        message = f"policy files too large together ({total:,} bytes; the limit is "
        message += f"{limits.max_set_bytes:,} bytes)"
        raise PolicyLoadError([PolicyIssue("<policy set>", None, "", message)])
    builder = _ModelBuilder(limits)
    for name, content in sources:
        builder.add_file(name, content)
    return builder.finish(revision_of(sources))


def revision_of(sources: list[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for name, content in sorted(sources):
        digest.update(Path(name).name.encode() + b"\0" + content + b"\0")
    return "sha256:" + digest.hexdigest()[:16]


def parse_duration(value: int | str) -> int:
    """Seconds from 3600 or '1h' / '30m' / '1h30m' / '2d'."""
    if isinstance(value, int):
        return value
    return sum(int(n) * _DURATION_UNITS[unit] for n, unit in _DURATION.findall(value))


# --------------------------------------------------------------------------- the builder


@dataclass(slots=True)
class _FileContext:
    name: str
    lines: Lines

    def location(self, path: PathKey) -> Location:
        return Location(self.name, self.lines.line(path))


class _ModelBuilder:
    def __init__(self, limits: PolicyLimits) -> None:
        self.limits = limits
        self.issues: list[PolicyIssue] = []
        self.groups: dict[str, ReviewGroup] = {}
        self.rules: list[Rule] = []
        self.rule_sites: dict[str, Location] = {}
        self.defaults: Defaults | None = None
        # Cross-references are checked once every file is in: (site, path, group name).
        # The place is resolved now so that a file's line map is freed with the file.
        self.group_refs: list[tuple[Location, PathKey, str]] = []
        # (site, path, budget name, the actions the rule can apply to), checked at the end.
        self.budget_refs: list[tuple[Location, PathKey, str, tuple[str, ...]]] = []
        self.budgets: dict[str, Budget] = {}
        self.files: list[str] = []
        # The declared priority order and where; `at_least` / `at_most` arguments are
        # checked against it at the end, since any file of the set may declare it.
        self.priorities: tuple[PriorityOrder, Location] | None = None
        self.priority_refs: list[tuple[Location, PathKey, str, Any]] = []

    def error(self, ctx: _FileContext, path: PathKey, message: str) -> None:
        self.issues.append(PolicyIssue(ctx.name, ctx.lines.line(path), format_path(path), message))

    # ----------------------------------------------------------------- per file

    def add_file(self, name: str, content: bytes) -> None:
        self.files.append(name)
        if len(content) > self.limits.yaml.max_file_bytes:
            message = too_big(len(content), self.limits.yaml.max_file_bytes)
            self.issues.append(PolicyIssue(name, None, "", message))
            return
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.issues.append(PolicyIssue(name, None, "", f"not UTF-8 text: {exc}"))
            return
        try:
            document = parse_document(text, self.limits.yaml)
        except YamlLimitError as exc:
            self.issues.append(PolicyIssue(name, exc.line, "", exc.message))
            return
        except yaml.YAMLError as exc:
            line, message = describe_syntax_error(exc, text)
            self.issues.append(PolicyIssue(name, line, "", message))
            return
        data, lines, problems = document.data, document.lines, document.problems
        ctx = _FileContext(name, lines)
        for problem in problems:
            self.issues.append(
                PolicyIssue(name, problem.line, format_path(problem.path), problem.message)
            )
        if data is None:
            return  # an empty file (only comments) contributes nothing
        non_finite = list(_non_finite_numbers(data, ())) if document.has_non_finite else []
        for path in non_finite:
            # `count: {gt: .nan}` would load and never match: a deny rule that fails open.
            self.error(ctx, path, "not a finite number (.nan and .inf never compare as meant)")
        if non_finite or not self._structure_ok(ctx, data):
            return
        if "priorities" in data:
            self._add_priorities(ctx, data["priorities"])
        for group_name, raw in (data.get("review_groups") or {}).items():
            self._add_group(ctx, group_name, raw)
        for budget_name, raw in (data.get("budgets") or {}).items():
            self._add_budget(ctx, budget_name, raw)
        rules = data.get("rules") or []
        shadow_file = bool(data.get("shadow", False))
        for index, raw in enumerate(rules):
            # Each raw rule is let go once modelled, so that the raw data of a big policy
            # set and its model are never both whole in memory.
            rules[index] = None
            self._add_rule(ctx, index, raw, shadow_file)
        if "defaults" in data:
            self._add_defaults(ctx, data["defaults"])

    def _structure_ok(self, ctx: _FileContext, data: object) -> bool:
        rules = data.get("rules") if isinstance(data, dict) else None
        big = isinstance(rules, list) and len(rules) >= COMPILED_CHECK_MIN_RULES
        if big and _fast_structure_check()(data):
            return True
        # A small file, or one the compiled check refused: jsonschema decides, and names
        # the problems.
        errors = list(_schema_validator().iter_errors(data))
        for error in errors:
            detail = most_specific(error)
            self.error(ctx, tuple(detail.absolute_path), friendly(detail))
        return not errors

    def _add_group(self, ctx: _FileContext, name: str, raw: Mapping[str, Any]) -> None:
        path: PathKey = ("review_groups", name)
        if name in self.groups:
            first = self.groups[name].location
            self.error(ctx, path, f"review group {name!r} is already defined at {first}")
            return
        timeout = parse_duration(raw.get("approval_timeout", "24h"))
        members = tuple(raw.get("members", ()))
        min_approvals = int(raw.get("min_approvals", 1))
        if members and min_approvals > len(members):
            self.error(
                ctx,
                (*path, "min_approvals"),
                f"needs {min_approvals} approvals but the group has {len(members)} member(s)",
            )
        cheqpoint = raw.get("cheqpoint") or {}
        self.groups[name] = ReviewGroup(
            name=name,
            description=raw["description"],
            members=members,
            min_approvals=min_approvals,
            approval_timeout_seconds=timeout,
            on_change=str(raw.get("on_change", "review")),
            cheqpoint=CheqpointRouting(
                connection_key_env=cheqpoint.get("connection_key_env"),
                action_prefix=cheqpoint.get("action_prefix", ""),
                min_risk_score=cheqpoint.get("min_risk_score"),
            ),
            location=ctx.location(path),
        )

    def _add_budget(self, ctx: _FileContext, name: str, raw: Mapping[str, Any]) -> None:
        path: PathKey = ("budgets", name)
        if name in self.budgets:
            first = self.budgets[name].location
            self.error(ctx, path, f"budget {name!r} is already defined at {first}")
            return
        actions: list[str] = []
        for i, action in enumerate(raw.get("actions", ())):
            spec = CATALOG.get(action)
            if spec is None:
                countable = [a for a in ACTION_NAMES if CATALOG[a].kind.value != "read"]
                close = difflib.get_close_matches(action, countable, n=1)
                known = (f"did you mean {close[0]!r}? " if close else "") + "known: "
                known += ", ".join(countable)
                self.error(ctx, (*path, "actions", i), f"unknown action {action!r} ({known})")
            elif spec.kind.value == "read":
                # A read runs before it is recorded, so it could not be counted exactly.
                self.error(
                    ctx,
                    (*path, "actions", i),
                    f"{action} is a read; budgets count writes and destructive actions",
                )
            else:
                actions.append(action)
        kinds = set(raw.get("kind", ()))
        actions += [a for a in ACTION_NAMES if CATALOG[a].kind.value in kinds]
        self.budgets[name] = Budget(
            name=name,
            description=raw["description"],
            actions=tuple(dict.fromkeys(actions)),
            limit=int(raw["limit"]),
            window_seconds=parse_duration(raw["window"]),
            per=tuple(raw.get("per", ("agent",))),
            counts=raw.get("counts", "issues"),
            location=ctx.location(path),
        )

    def _add_rule(
        self, ctx: _FileContext, index: int, raw: Mapping[str, Any], shadow_file: bool = False
    ) -> None:
        path: PathKey = ("rules", index)
        rule_id = raw["id"]
        location = ctx.location(path)
        if rule_id in self.rule_sites:
            self.error(
                ctx,
                (*path, "id"),
                f"duplicate rule id {rule_id!r} (first defined at {self.rule_sites[rule_id]})",
            )
            return
        self.rule_sites[rule_id] = location
        decision = Effect(raw["decision"])
        route_to = raw.get("route_to")
        if route_to is not None:
            if decision is not Effect.REQUIRE_APPROVAL:
                self.error(
                    ctx,
                    (*path, "route_to"),
                    f"route_to only applies to require_approval rules, not {decision.value}",
                )
            self.group_refs.append(
                (ctx.location((*path, "route_to")), (*path, "route_to"), route_to)
            )
        match = _ConditionParser(self, ctx).parse_rule_match(raw["match"], (*path, "match"))
        self.rules.append(
            Rule(
                id=rule_id,
                match=match,
                decision=decision,
                description=raw.get("description", ""),
                route_to=route_to,
                reason=raw.get("reason", ""),
                priority=int(raw.get("priority", 0)),
                location=location,
                index=index,
                shadow=shadow_file or bool(raw.get("shadow", False)),
            )
        )

    def _add_priorities(self, ctx: _FileContext, raw: list[str]) -> None:
        path: PathKey = ("priorities",)
        if self.priorities is not None:
            where = self.priorities[1]
            self.error(ctx, path, f"priorities are already declared at {where}")
            return
        try:
            order = PriorityOrder.of(raw)
        except PriorityOrderError as exc:
            self.error(ctx, path, str(exc))
            return
        self.priorities = (order, ctx.location(path))

    def _add_defaults(self, ctx: _FileContext, raw: Mapping[str, Any]) -> None:
        if self.defaults is not None:
            where = self.defaults.location
            self.error(ctx, ("defaults",), f"defaults are already set at {where}")
            return
        route_to = raw.get("route_to")
        if route_to is not None:
            route_path: PathKey = ("defaults", "route_to")
            self.group_refs.append((ctx.location(route_path), route_path, route_to))
        self.defaults = Defaults(
            write=Effect(raw.get("write", "deny")),
            destructive=Effect(raw.get("destructive", "deny")),
            route_to=route_to,
            reason=raw.get("reason", ""),
            location=ctx.location(("defaults",)),
        )

    # ----------------------------------------------------------------- whole set

    def finish(self, revision: str) -> PolicyModel:
        defaults = self.defaults or Defaults(reason="no rule matched and no defaults are set")
        priorities = self.priorities[0] if self.priorities else JIRA_PRIORITIES
        for site, path, operator, argument in self.priority_refs:
            try:
                OPERATORS[operator].prepare(argument, priorities)
            except ArgumentError as exc:
                source = "declared" if self.priorities else "Jira's default, none declared"
                message = f"{operator} {exc} [priorities {source}: {priorities.describe()}]"
                self.issues.append(PolicyIssue(site.file, site.line, format_path(path), message))
        known = ", ".join(sorted(self.groups)) or "none defined"
        for site, path, name in self.group_refs:
            if name not in self.groups:
                message = f"unknown review group {name!r} (known: {known})"
                self.issues.append(PolicyIssue(site.file, site.line, format_path(path), message))
        known_budgets = ", ".join(sorted(self.budgets)) or "none defined"
        for site, path, name, actions in self.budget_refs:
            budget = self.budgets.get(name)
            if budget is None:
                message = f"unknown budget {name!r} (known: {known_budgets})"
            elif not set(actions) & set(budget.actions):
                message = (
                    f"budget {name!r} counts none of the actions this rule applies to "
                    f"(it counts: {', '.join(budget.actions)}), so the condition never holds"
                )
            else:
                continue
            self.issues.append(PolicyIssue(site.file, site.line, format_path(path), message))
        needs_default_route = [r for r in self.rules if r.decision is Effect.REQUIRE_APPROVAL]
        for rule in needs_default_route:
            if rule.route_to is None and defaults.route_to is None:
                self.issues.append(
                    PolicyIssue(
                        rule.location.file,
                        rule.location.line,
                        f"rules[{rule.index}]",
                        f"rule {rule.id!r} requires approval but names no route_to, and "
                        "defaults.route_to is not set",
                    )
                )
        defaulted = [defaults.write, defaults.destructive]
        if Effect.REQUIRE_APPROVAL in defaulted and defaults.route_to is None:
            where = defaults.location
            self.issues.append(
                PolicyIssue(
                    where.file if where else "<defaults>",
                    where.line if where else None,
                    "defaults.route_to",
                    "defaults send unmatched actions to approval, so route_to must name a group",
                )
            )
        if self.issues:
            raise PolicyLoadError(self.issues)
        return PolicyModel(
            groups=dict(self.groups),
            rules=tuple(self.rules),
            defaults=defaults,
            revision=revision,
            files=tuple(self.files),
            budgets=dict(self.budgets),
            priorities=priorities,
            priorities_at=self.priorities[1] if self.priorities else None,
        )


# --------------------------------------------------------------------------- conditions


class _ConditionParser:
    """Turns a rule's `match` mapping into a condition tree, checking each field and operator
    against the catalog: which actions the rule can apply to decides which details exist."""

    def __init__(self, builder: _ModelBuilder, ctx: _FileContext) -> None:
        self.builder = builder
        self.ctx = ctx
        self.actions: tuple[str, ...] = ACTION_NAMES

    def parse_rule_match(self, raw: Mapping[str, Any], path: PathKey) -> AllOf:
        # The rule's top-level action/kind conditions narrow which details can exist.
        self.actions = _static_actions(raw)
        contradictory = not self.actions
        if contradictory:
            self.actions = ACTION_NAMES
        errors_before = len(self.builder.issues)
        match = self.parse_mapping(raw, path)
        # An unknown action name already has its own error; only report a true contradiction.
        if contradictory and len(self.builder.issues) == errors_before:
            self.builder.error(
                self.ctx, path, "the action and kind conditions together match no known action"
            )
        return match

    def parse_mapping(self, raw: Mapping[str, Any], path: PathKey) -> AllOf:
        conditions: list[Condition] = []
        for key, value in raw.items():
            child: PathKey = (*path, key)
            if key == "all":
                conditions.append(AllOf(self._parse_list(value, child), format_path(child)))
            elif key == "any":
                conditions.append(AnyOf(self._parse_list(value, child), format_path(child)))
            elif key == "not":
                conditions.append(Not(self.parse_mapping(value, child), format_path(child)))
            else:
                conditions.extend(self._parse_field(key, value, child))
        if not raw:
            self.builder.error(self.ctx, path, "an empty condition matches everything; be explicit")
        return AllOf(tuple(conditions), format_path(path))

    def _parse_list(self, raw: list[Any], path: PathKey) -> tuple[Condition, ...]:
        return tuple(self.parse_mapping(item, (*path, i)) for i, item in enumerate(raw))

    def _parse_field(self, field: str, value: Any, path: PathKey) -> list[Predicate]:
        if field == "over_budget":
            # The fact is the list of budgets this action would overrun (the engine computes
            # it from the usage the gateway counted); the condition names one of them.
            site = self.ctx.location(path)
            self.builder.budget_refs.append((site, path, value, self.actions))
            return [Predicate(field, "contains", value, format_path(path), site)]
        family, closed = self._field_type(field, path)
        if family is None:
            return []
        # The parser gives plain dicts and lists (an ABC check per condition is measurable
        # at 10,000 rules).
        written_as_mapping = isinstance(value, dict)
        if written_as_mapping:
            operations = list(value.items())
        elif isinstance(value, list):
            operations = [("in", value)]
        elif field == "action" and isinstance(value, str) and _is_glob(value):
            operations = [("glob", value)]
        else:
            operations = [("eq", value)]
        predicates = []
        for operator, argument in operations:
            op_path = (*path, operator) if written_as_mapping else path
            if field == "details.template" and operator in ("eq", "in", "ne", "not_in"):
                self._check_templates(argument, op_path)
            if self._operator_fits(field, family, closed, operator, argument, op_path):
                predicates.append(
                    Predicate(
                        field=field,
                        operator=operator,
                        argument=argument,
                        path=format_path(op_path),
                        location=self.ctx.location(op_path),
                    )
                )
        return predicates

    def _check_templates(self, argument: Any, path: PathKey) -> None:
        """A Jira REST proxy template (docs/proxy.md) the proxy can never produce — a literal
        id or key, a version number — is a rule that silently never matches: refused."""
        values = argument if isinstance(argument, list) else [argument]
        for value in values:
            if isinstance(value, str) and not is_template(value):
                self.builder.error(
                    self.ctx,
                    path,
                    f"{value!r} is not a path template the proxy produces (write ids as "
                    "{id}, {issueIdOrKey} or {projectIdOrKey} and the API version as "
                    "{version}, e.g. /rest/api/{version}/issue/{issueIdOrKey}/watchers; "
                    "under /rest/servicedeskapi as {serviceDeskId}, {queueId}, "
                    "{requestTypeId} or {issueIdOrKey})",
                )

    def _field_type(self, field: str, path: PathKey) -> tuple[str | None, tuple[Any, ...] | None]:
        if field in fact_types.TOP_LEVEL_FACTS:
            return fact_types.TOP_LEVEL_FACTS[field], fact_types.CLOSED_VALUES.get(field)
        details_path = field.removeprefix("details.")
        info = fact_types.details_field(details_path, self.actions)
        if info is None:
            scope = _describe_actions(self.actions)
            known = ", ".join(fact_types.known_details_fields(self.actions)) or "none"
            self.builder.error(
                self.ctx,
                path,
                f"unknown field {field!r} for {scope} (known details: {known})",
            )
            return None, None
        return info.family, info.enum

    def _operator_fits(
        self,
        field: str,
        family: str,
        closed: tuple[Any, ...] | None,
        operator: str,
        argument: Any,
        path: PathKey,
    ) -> bool:
        spec = OPERATORS.get(operator)
        if spec is None:
            self.builder.error(
                self.ctx, path, f"unknown operator {operator!r} (known: {', '.join(OPERATORS)})"
            )
            return False
        if family not in spec.applies_to and family != ANY:
            self.builder.error(
                self.ctx,
                path,
                f"operator {operator!r} does not apply to {field} (a {family}); "
                f"it applies to: {', '.join(sorted(spec.applies_to))}",
            )
            return False
        if operator in PRIORITY_OPERATORS:
            # Checked against the set's order once every file is in (`finish`).
            if not isinstance(argument, str):
                self.builder.error(self.ctx, path, f"{operator} expects a priority name")
                return False
            self.builder.priority_refs.append((self.ctx.location(path), path, operator, argument))
            return True
        try:
            spec.prepare(argument)
        except ArgumentError as exc:
            self.builder.error(self.ctx, path, f"{operator} {exc}")
            return False
        problem = _value_problem(field, family, closed, operator, argument)
        if problem:
            self.builder.error(self.ctx, path, problem)
            return False
        return True


def _value_problem(
    field: str, family: str, closed: tuple[Any, ...] | None, operator: str, argument: Any
) -> str | None:
    """A literal that can never equal the field's values is almost always a typo."""
    if operator == "glob" and field == "action":
        if not any(fnmatch.fnmatchcase(name, argument) for name in ACTION_NAMES):
            return f"pattern {argument!r} matches no known action"
        return None
    if operator not in ("eq", "ne", "in", "not_in"):
        return None
    values = argument if isinstance(argument, list) else [argument]
    # Priorities, issue types, statuses are the site's (catalog/site.py): `jiragate check
    # --site` checks them against a snapshot; without one any name may be the site's.
    allowed: tuple[Any, ...] | None = closed
    for value in values:
        if value is None:
            continue
        if allowed is not None and value not in allowed:
            possible = ", ".join(map(str, allowed))
            return f"{value!r} is not a possible value of {field} (possible: {possible})"
        if family == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"{field} is a number, but {value!r} is not"
        if family == "boolean" and not isinstance(value, bool):
            return f"{field} is true or false, but {value!r} is not"
        if family in ("string", PRIORITY) and not isinstance(value, str):
            return f"{field} is text, but {value!r} is not (quote it)"
    return None


def _is_glob(value: str) -> bool:
    return "*" in value or "?" in value or "[" in value


def _static_actions(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """The catalog actions a rule's top-level `action` and `kind` conditions admit (cached
    by how they are written: big sets repeat a few dozen of them)."""
    key = tuple(argument_key(raw[f]) if f in raw else None for f in ("action", "kind"))
    names = _STATIC_ACTIONS.get(key)
    if names is None:
        if len(_STATIC_ACTIONS) >= _STATIC_ACTIONS_MAX:
            _STATIC_ACTIONS.clear()
        names = _STATIC_ACTIONS[key] = _uncached_static_actions(raw)
    return names


_STATIC_ACTIONS: dict[tuple[Any, ...], tuple[str, ...]] = {}
_STATIC_ACTIONS_MAX = 4096


def _uncached_static_actions(raw: Mapping[str, Any]) -> tuple[str, ...]:
    names = list(ACTION_NAMES)
    for field in ("action", "kind"):
        if field not in raw:
            continue
        value = raw[field]
        names = [n for n in names if _admits(value, n if field == "action" else CATALOG[n].kind)]
    return tuple(names)


def _admits(value: Any, actual: str) -> bool:
    if isinstance(value, str):
        return fnmatch.fnmatchcase(actual, value) if _is_glob(value) else actual == value
    if isinstance(value, list):
        return actual in value
    if isinstance(value, Mapping):
        checks = {
            "eq": lambda a: actual == a,
            "ne": lambda a: actual != a,
            "in": lambda a: actual in a,
            "not_in": lambda a: actual not in a,
            "glob": lambda a: fnmatch.fnmatchcase(actual, a),
            # the same engine as at run time (RE2), never a backtracking one
            "matches": lambda a: compile_regex(a).search(actual) is not None,
        }
        try:
            return all(checks[op](arg) for op, arg in value.items() if op in checks)
        except (TypeError, ArgumentError):
            return True  # the operator check reports the bad argument
    return True


def _describe_actions(actions: tuple[str, ...]) -> str:
    if len(actions) == len(ACTION_NAMES):
        return "any action"
    if len(actions) <= 3:
        return ", ".join(actions)
    return f"{len(actions)} actions ({', '.join(actions[:3])}, …)"


def _non_finite_numbers(value: object, path: PathKey) -> Iterator[PathKey]:
    """Where `value` holds a NaN or an infinity (YAML's .nan, .inf), at any depth."""
    if isinstance(value, float) and not math.isfinite(value):
        yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _non_finite_numbers(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite_numbers(item, (*path, index))
