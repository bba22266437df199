"""What every Jira handler shares: the call it runs, the registry it joins, per-issue loops.

A handler is `async def handler(jira: JiraAdapter, call: ActionCall) -> None`, registered with
`@handles("<catalog action>")`. Registration goes jira -> catalog: `handles` refuses a name
the catalog does not know, and `missing_handlers()` names catalog actions nobody handles
(the adapter refuses to start with any; tests/jira/test_handlers.py checks both ways).
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jiragate import catalog
from jiragate.errors import JiraError, JiraTransportError
from jiragate.jira.results import ExecutionResult

if TYPE_CHECKING:
    from jiragate.jira.operations import JiraAdapter

#: When the running action was recorded: what it created in Jira cannot be older. A context
#: variable, not an attribute, because one adapter runs many actions concurrently.
NOT_BEFORE: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "jiragate_not_before", default=None
)


@dataclass(frozen=True, slots=True)
class ActionCall:
    """One (validated, approved) action being run: what the handler needs besides the adapter."""

    action: str
    details: Mapping[str, Any]
    result: ExecutionResult
    #: The gateway's id for the action: it becomes the duplicate-protection markers.
    action_id: str
    #: The envelope's summary (bulk creation titles count-only tickets after it).
    summary: str
    #: An earlier attempt of this action may have reached Jira (its outcome was unknown):
    #: what it did may already be done, e.g. a DELETE now answers 404.
    resumed: bool = False


Handler = Callable[["JiraAdapter", ActionCall], Awaitable[None]]

HANDLERS: dict[str, Handler] = {}


def handles(action: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the Jira handler of catalog action `action`."""

    def register(handler: Handler) -> Handler:
        add_handler(action, handler)
        return handler

    return register


def add_handler(action: str, handler: Handler) -> None:
    catalog.get_spec(action)  # an action the catalog does not know is refused, by name
    if action in HANDLERS:
        raise ValueError(f"{action} has two Jira handlers")
    HANDLERS[action] = handler


@contextmanager
def registered(action: str, handler: Handler) -> Iterator[Handler]:
    """The handler table with `handler` in it for the duration (tests trying an action)."""
    add_handler(action, handler)
    try:
        yield handler
    finally:
        del HANDLERS[action]


def missing_handlers() -> list[str]:
    """Catalog actions without a Jira handler (none, or the adapter will not start)."""
    return [name for name in catalog.CATALOG if name not in HANDLERS]


def handler_for(action: str) -> Handler:
    return HANDLERS[catalog.get_spec(action).name]


async def each(
    keys: Sequence[str],
    result: ExecutionResult,
    work: Callable[[str], Awaitable[bool]],
) -> None:
    """Run `work` per key; a refusal of one issue is recorded and the batch carries on.
    No usable answer is not a refusal: it ends the whole attempt as unknown."""
    for key in keys:
        try:
            if await work(key):
                result.touch(key)
        except JiraTransportError:
            raise
        except JiraError as exc:
            result.fail(exc, key=key)


def edited_fields(
    jira: JiraAdapter, source: Mapping[str, Any], plain: Sequence[str]
) -> dict[str, Any]:
    """The Jira `fields` of an edit, only for what `source` sets: `plain` names as given,
    `description` as the flavour's rich text, `priority` by name."""
    fields = {name: source[name] for name in plain if name in source}
    if "description" in source:
        fields["description"] = jira.rich_text(source["description"])
    if "priority" in source:
        fields["priority"] = {"name": source["priority"]}
    return fields
