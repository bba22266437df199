"""Jira Service Management seed data: service desks, their queues and request types (with
fields), and which seed issues are customer requests (docs/jira-sandbox.md).

- **Service desks**: OPS is desk 1 ("Operations help"); ENG is desk 2 ("Engineering
  support"), a second desk so the scope attacks have another desk's ids to try. (On a real
  site a desk is a service project; the sandbox keeps ENG's platform answers as they were.)
- **Queues** hold a JQL, which JSM always restricts to the desk's project (Atlassian's
  `Queue.getJql()`: "constructed by appending project = <parent project key>"); the sandbox
  evaluates it with its own JQL engine.
- **Request types** (JSM's `RequestTypeDTO`) with their fields (`RequestTypeFieldDTO`): the
  field ids a `POST /request` may set, which are required, and their valid values.
- **Requests**: OPS-1 and OPS-2 are requests (of types 11 and 12); an issue raised through
  `POST /request` records its request type (`Issue.request_type_id`) and who raised it.
- **SLAs** are derived from the issue, not stored: "Time to first response" (4 h) stops at the
  first comment, "Time to resolution" (24 h) when the issue is done; elapsed and remaining
  time are measured from `created` to that stop, or to now.

`SandboxState.site_wide_ids` (the switch tests of the adapter's own checks turn on) makes the
sandbox resolve queue and request-type ids on any desk and run queue JQL without the project
restriction — a server that does not scope them, which Jira never is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jiragate.jira.sandbox.state import SandboxState


@dataclass(frozen=True, slots=True)
class ServiceDesk:
    id: int
    project_key: str
    name: str


@dataclass(frozen=True, slots=True)
class Queue:
    id: int
    desk_id: int
    name: str
    jql: str
    fields: tuple[str, ...] = ("issuetype", "key", "summary", "reporter", "status", "created")


@dataclass(frozen=True, slots=True)
class RequestField:
    field_id: str
    name: str
    required: bool
    #: Jira's schema of the field (`jiraSchema`): type and system or custom id.
    schema: dict[str, Any]
    valid_values: tuple[tuple[str, str], ...] = ()  # (value, label)
    description: str = ""


@dataclass(frozen=True, slots=True)
class RequestType:
    id: int
    desk_id: int
    name: str
    description: str
    issue_type: str
    fields: tuple[RequestField, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class SlaGoal:
    id: int
    name: str
    goal_hours: int
    #: What stops the clock: "comment" (the first comment) or "done" (a done status).
    stops_at: str


SUMMARY = RequestField("summary", "Summary", True, {"type": "string", "system": "summary"})
DESCRIPTION = RequestField(
    "description", "Description", False, {"type": "string", "system": "description"}
)
PRIORITY = RequestField(
    "priority",
    "Priority",
    False,
    {"type": "priority", "system": "priority"},
    description="One of the site's priorities (the route lists them as valid values).",
)
IMPACT = RequestField(
    "customfield_10043",
    "Customer impact",
    True,
    {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"},
    description="How many customers are affected.",
)

SERVICE_DESKS: tuple[ServiceDesk, ...] = (
    ServiceDesk(1, "OPS", "Operations help"),
    ServiceDesk(2, "ENG", "Engineering support"),
)
QUEUES: tuple[Queue, ...] = (
    Queue(1, 1, "All open", "status != Done ORDER BY created DESC"),
    Queue(2, 1, "Unassigned", "assignee is EMPTY AND status != Done"),
    Queue(3, 1, "Incidents", "issuetype = Bug AND status != Done"),
    Queue(4, 2, "Engineering open", "status != Done ORDER BY key ASC"),
)
REQUEST_TYPES: tuple[RequestType, ...] = (
    RequestType(
        11,
        1,
        "Get IT help",
        "Ask the operations team for help.",
        "Task",
        (SUMMARY, DESCRIPTION, PRIORITY),
    ),
    RequestType(
        12,
        1,
        "Report an incident",
        "Something is broken for customers.",
        "Bug",
        (SUMMARY, DESCRIPTION, IMPACT),
    ),
    RequestType(
        21,
        2,
        "Ask engineering",
        "A question for the engineering team.",
        "Task",
        (SUMMARY, DESCRIPTION),
    ),
)
SLA_GOALS: tuple[SlaGoal, ...] = (
    SlaGoal(1, "Time to first response", 4, "comment"),
    SlaGoal(2, "Time to resolution", 24, "done"),
)
#: Seed issues that are customer requests: key -> request type id.
SEED_REQUESTS: dict[str, int] = {"OPS-1": 11, "OPS-2": 12}


def seed_service_desk(state: SandboxState) -> None:
    for key, request_type in SEED_REQUESTS.items():
        state.issues[key].request_type_id = request_type


def desk(ident: str) -> ServiceDesk | None:
    return next((d for d in SERVICE_DESKS if str(d.id) == ident), None)


def desk_of_project(project_key: str) -> ServiceDesk | None:
    return next((d for d in SERVICE_DESKS if d.project_key == project_key), None)


def queue(state: SandboxState, found: ServiceDesk, ident: str) -> Queue | None:
    return next(
        (
            q
            for q in QUEUES
            if str(q.id) == ident and (q.desk_id == found.id or state.site_wide_ids)
        ),
        None,
    )


def request_type(state: SandboxState, desk_id: int | None, ident: str) -> RequestType | None:
    """A request type by id; on `desk_id`'s desk only unless ids are site-wide (None: any)."""
    return next(
        (
            t
            for t in REQUEST_TYPES
            if str(t.id) == ident and (desk_id in (None, t.desk_id) or state.site_wide_ids)
        ),
        None,
    )
