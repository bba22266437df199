"""The sandbox's in-memory Jira: seed data, the model, and optional SQLite persistence.

Everything lives in plain dataclasses behind one re-entrant lock; routes mutate the state under
`state.lock` and call `state.save()` afterwards (a no-op unless a SQLite `path` was given).
Descriptions and comments are stored as ADF documents (the Cloud form); Data Center routes
convert plain text in and out.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jiragate.jira.sandbox.faults import Fault
from jiragate.jira.sandbox.panels import seed_panels
from jiragate.jira.sandbox.service_desk import seed_service_desk

STORY_POINTS_FIELD = "customfield_10016"
EPIC_LINK_FIELD = "customfield_10014"  # Data Center; deprecated in Cloud in favour of `parent`
SPRINT_FIELD = "customfield_10020"
EPIC_NAME_FIELD = "customfield_10011"  # required to create an Epic on the datacenter profile
STORY_ESTIMATE_FIELD = "customfield_10026"  # Cloud's team-managed "Story point estimate"
SEED_TIME = "2024-05-01T09:00:00.000+0000"
TEAM_FIELD = "customfield_10042"  # a plain text custom field, "Team"
IMPACT_FIELD = "customfield_10043"  # a plain number custom field, "Customer impact"
RANK_FIELD = "customfield_10019"  # Jira Software's default "Rank" (LexoRank) field


@dataclass(slots=True)
class User:
    account_id: str
    name: str  # the Data Center username
    display_name: str
    email: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class Status:
    id: str
    name: str
    category_id: int
    category_key: str  # new | indeterminate | done
    category_name: str


@dataclass(frozen=True, slots=True)
class Transition:
    id: str
    name: str
    from_status: str
    to_status: str


@dataclass(frozen=True, slots=True)
class IssueType:
    id: str
    name: str
    subtask: bool = False
    hierarchy_level: int = 0


@dataclass(frozen=True, slots=True)
class Priority:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Resolution:
    id: str
    name: str


@dataclass(slots=True)
class Project:
    id: int
    key: str
    name: str
    lead: str  # accountId; the "-1" (project default) assignee
    next_number: int = 1


@dataclass(slots=True)
class Sprint:
    id: int
    name: str
    state: str  # future | active | closed
    board_id: int
    goal: str = ""
    start_date: str | None = None
    end_date: str | None = None
    complete_date: str | None = None


@dataclass(slots=True)
class Board:
    id: int
    name: str
    project_key: str
    type: str = "scrum"


@dataclass(slots=True)
class Version:
    id: int
    project_id: int
    name: str
    description: str = ""
    released: bool = False
    archived: bool = False
    start_date: str | None = None
    release_date: str | None = None


@dataclass(slots=True)
class Component:
    """A project component: who is its lead and who gets its issues by default."""

    id: int
    project_key: str
    name: str
    description: str = ""
    lead: str | None = None  # accountId
    assignee_type: str = "PROJECT_DEFAULT"


@dataclass(slots=True)
class Comment:
    id: int
    author: str  # accountId
    body: dict[str, Any]  # ADF
    created: str
    properties: dict[str, Any] = field(default_factory=dict)  # comment entity properties


@dataclass(slots=True)
class Issue:
    id: int
    key: str
    project_key: str
    summary: str
    issue_type: str
    status: str
    priority: str
    reporter: str
    created: str
    updated: str
    labels: list[str] = field(default_factory=list)
    assignee: str | None = None
    description: dict[str, Any] | None = None  # ADF
    environment: dict[str, Any] | None = None  # ADF
    parent_key: str | None = None  # epic (Cloud hierarchy) or the parent of a subtask
    story_points: float | None = None
    sprint_id: int | None = None
    fix_versions: list[int] = field(default_factory=list)
    affects_versions: list[int] = field(default_factory=list)
    components: list[int] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    archived: bool = False
    creator: str = ""  # accountId of the account whose call created it ("" = the reporter)
    watchers: list[str] = field(default_factory=list)  # accountIds
    worklogs: list[dict[str, Any]] = field(
        default_factory=list
    )  # {id, author, timeSpentSeconds, started}
    links: list[dict[str, Any]] = field(default_factory=list)  # {id, type, inward|outward: key}
    #: {id, globalId, object: {url, title, summary?}}
    remote_links: list[dict[str, Any]] = field(default_factory=list)
    #: {id, filename, size, mimeType, author, created, content (base64)}
    attachments: list[dict[str, Any]] = field(default_factory=list)
    duedate: str | None = None  # YYYY-MM-DD
    #: Values of the plain custom fields (TEAM_FIELD, IMPACT_FIELD), by field id.
    custom_fields: dict[str, Any] = field(default_factory=dict)
    resolution: str | None = None  # a Resolution name; set on entering a done status
    epic_name: str | None = None  # Epic Name (customfield_10011)
    #: Changes as Jira's changelog shows them: {id, author, created, items: [{field, from…}]}
    history: list[dict[str, Any]] = field(default_factory=list)
    #: The development panel (dev-status): application type -> data type -> detail entry.
    development: dict[str, Any] = field(default_factory=dict)
    #: Jira Service Management: the request type of a customer request (None: not a request).
    request_type_id: int | None = None
    #: Customers added as request participants (accountIds).
    participants: list[str] = field(default_factory=list)


PROFILES = ("cloud", "datacenter")

LINK_TYPES: tuple[tuple[str, str, str, str], ...] = (
    ("10000", "Blocks", "is blocked by", "blocks"),
    ("10001", "Cloners", "is cloned by", "clones"),
    ("10002", "Duplicate", "is duplicated by", "duplicates"),
    ("10003", "Relates", "relates to", "relates to"),
)

STATUSES: tuple[Status, ...] = (
    Status("10000", "To Do", 2, "new", "To Do"),
    Status("3", "In Progress", 4, "indeterminate", "In Progress"),
    Status("10001", "In Review", 4, "indeterminate", "In Progress"),
    Status("10002", "Done", 3, "done", "Done"),
)
TRANSITIONS: tuple[Transition, ...] = (
    Transition("11", "Start Progress", "To Do", "In Progress"),
    Transition("21", "Submit for Review", "In Progress", "In Review"),
    Transition("31", "Done", "In Review", "Done"),
    Transition("41", "Reopen", "Done", "To Do"),
)
ISSUE_TYPES: tuple[IssueType, ...] = (
    IssueType("10001", "Bug"),
    IssueType("10002", "Task"),
    IssueType("10003", "Story"),
    IssueType("10000", "Epic", hierarchy_level=1),
    IssueType("10004", "Subtask", subtask=True, hierarchy_level=-1),
)
PRIORITIES: tuple[Priority, ...] = (
    Priority("1", "Highest"),
    Priority("2", "High"),
    Priority("3", "Medium"),
    Priority("4", "Low"),
    Priority("5", "Lowest"),
)

# The datacenter profile: an older, differently configured site (as many self-hosted ones are).
DC_ISSUE_TYPES: tuple[IssueType, ...] = (
    IssueType("10001", "Bug"),
    IssueType("10002", "Task"),
    IssueType("10003", "Story"),
    IssueType("10000", "Epic", hierarchy_level=1),
    IssueType("10005", "Sub-task", subtask=True, hierarchy_level=-1),
)
DC_PRIORITIES: tuple[Priority, ...] = (
    Priority("10100", "P1"),
    Priority("10101", "P2"),
    Priority("10102", "P3"),
    Priority("10103", "P4"),
)
DC_TRANSITIONS: tuple[Transition, ...] = (
    *TRANSITIONS,
    Transition("51", "Stop Progress", "In Progress", "To Do"),
    Transition("61", "Close", "To Do", "Done"),
    Transition("71", "Back to In Progress", "In Review", "In Progress"),
)
#: Transitions whose screen asks for a resolution (required), on the datacenter profile.
DC_RESOLUTION_SCREENS = frozenset({"31", "61"})
RESOLUTIONS: tuple[Resolution, ...] = (
    Resolution("10000", "Done"),
    Resolution("10001", "Won't Do"),
    Resolution("10002", "Duplicate"),
)
_SEED_PRIORITY_ON_DC = {"Highest": "P1", "High": "P2", "Medium": "P3", "Low": "P4", "Lowest": "P4"}


@dataclass(frozen=True, slots=True)
class SiteProfile:
    """What differs between the two emulated sites."""

    name: str
    issue_types: tuple[IssueType, ...]
    priorities: tuple[Priority, ...]
    transitions: tuple[Transition, ...]
    resolution_screens: frozenset[str]
    epic_name_required: bool
    #: Project -> the story point fields on its screens: Cloud's OPS is team-managed (only
    #: "Story point estimate"); Data Center's OPS has both, so picking one needs a setting.
    story_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)


SITE_PROFILES = {
    "cloud": SiteProfile(
        "cloud",
        ISSUE_TYPES,
        PRIORITIES,
        TRANSITIONS,
        frozenset(),
        False,
        {"ENG": (STORY_POINTS_FIELD,), "OPS": (STORY_ESTIMATE_FIELD,)},
    ),
    "datacenter": SiteProfile(
        "datacenter",
        DC_ISSUE_TYPES,
        DC_PRIORITIES,
        DC_TRANSITIONS,
        DC_RESOLUTION_SCREENS,
        True,
        {"ENG": (STORY_POINTS_FIELD,), "OPS": (STORY_POINTS_FIELD, STORY_ESTIMATE_FIELD)},
    ),
}


def adf_text(text: str) -> dict[str, Any]:
    """Plain text as a minimal ADF document (one paragraph per line)."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def adf_to_text(document: object) -> str:
    """The text of an ADF document, paragraphs joined by newlines (what DC would show)."""
    if not isinstance(document, dict):
        return ""
    if document.get("type") == "text":
        return str(document.get("text", ""))
    parts = [adf_to_text(child) for child in document.get("content", []) or []]
    separator = "\n" if document.get("type") == "doc" else ""
    return separator.join(parts)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "000+0000"


@dataclass(slots=True)
class LoggedRequest:
    method: str
    path: str
    query: str
    body: Any
    auth: str | None  # "basic" | "bearer" | None — never the credentials themselves
    status: int | None = None
    fault: str | None = None


class SandboxState:
    """The whole emulated Jira. Safe to share between the server thread and a test."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        basic_auth: tuple[str, str] | None = None,
        bearer_token: str | None = None,
        base_url: str = "",
        profile: str = "cloud",
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown sandbox profile {profile!r}; use {' or '.join(PROFILES)}")
        #: "cloud" (deploymentType Cloud, v3 and v2) or "datacenter" (v2 only as on a Server /
        #: Data Center site); `serverInfo` answers with it and real clients switch on it.
        self.profile = profile
        self.site = SITE_PROFILES[profile]
        # Expected credentials; None accepts any non-empty value of that scheme.
        self.basic_auth = basic_auth
        self.bearer_token = bearer_token
        # Used in `self` links; the app fills it from the request when left empty.
        self.base_url = base_url
        #: Cloud's media store, where the cloud profile redirects attachment downloads
        #: (sandbox/media.py): empty is the site's origin under its other loopback name.
        self.media_url = ""
        #: Signs the media store's download tokens; made anew with each state.
        self.media_secret = secrets.token_bytes(32)
        #: How long a download URL (its token) is valid, in seconds.
        self.media_token_seconds = 120
        #: Resolve comment, worklog and remote-link ids site-wide, ignoring the issue in the
        #: path (a server that does not scope them): tests of the adapter's own ownership
        #: check turn it on; the default answers 404 for another issue's id, as Jira does.
        self.site_wide_ids = False
        self.path = Path(path) if path is not None else None
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.request_log: list[LoggedRequest] = []
        self._seed()
        if self.path is not None and not self._load():
            self.save()

    # ------------------------------------------------------------------ seed

    def _seed(self) -> None:
        self.users: dict[str, User] = {
            user.account_id: user
            for user in (
                User("5b10a2844c20165700ede21a", "alice", "Alice Adams", "alice@example.com"),
                User("5b10a2844c20165700ede21b", "bob", "Bob Brown", "bob@example.com"),
                User("5b10a2844c20165700ede21c", "carol", "Carol Chen", "carol@example.com"),
                User("5b10a2844c20165700ede21d", "dave", "Dave Diaz", "dave@example.com"),
            )
        }
        alice, bob, carol, dave = list(self.users)
        self.projects: dict[str, Project] = {
            "ENG": Project(10000, "ENG", "Engineering", lead=alice),
            "OPS": Project(10001, "OPS", "Operations", lead=carol),
        }
        # Every board has a location (its project): Jira answers `GET /board?projectKeyOrId=`
        # and the adapter checks a sprint's board is in the action's project.
        self.boards: dict[int, Board] = {
            1: Board(1, "ENG board", "ENG"),
            2: Board(2, "OPS board", "OPS"),
        }
        self.sprints: dict[int, Sprint] = {
            101: Sprint(
                101,
                "sprint_41",
                "closed",
                1,
                "Ship login",
                "2024-04-01T09:00:00.000Z",
                "2024-04-14T17:00:00.000Z",
                "2024-04-14T17:30:00.000Z",
            ),
            102: Sprint(
                102,
                "sprint_42",
                "active",
                1,
                "Checkout revamp",
                "2024-04-15T09:00:00.000Z",
                "2024-04-28T17:00:00.000Z",
            ),
            103: Sprint(103, "sprint_43", "future", 1, "Hardening"),
            201: Sprint(
                201,
                "ops_sprint_7",
                "active",
                2,
                "Certificate rotation",
                "2024-04-15T09:00:00.000Z",
                "2024-04-28T17:00:00.000Z",
            ),
        }
        self.versions: dict[int, Version] = {
            10100: Version(10100, 10000, "1.0", "First release", True, False, None, "2024-03-01"),
            10101: Version(10101, 10000, "1.1", "Checkout", False, False, "2024-04-15", None),
        }
        self.components: dict[int, Component] = {
            10200: Component(10200, "ENG", "Checkout", "Cart and payment", lead=alice),
            10201: Component(10201, "ENG", "Accounts", assignee_type="COMPONENT_LEAD", lead=bob),
            10202: Component(10202, "OPS", "Databases", lead=carol),
        }
        #: Jira Software's global "parallel sprints" switch: off, a scrum board has at most
        #: one active sprint (OPS's board and ENG's each have one in the seed).
        self.parallel_sprints = False
        self.issues: dict[str, Issue] = {}
        #: Every issue key in rank order (the Rank field, one global order as in Jira).
        self.ranking: list[str] = []
        self.next_issue_id = 10001
        self.next_sprint_id = 301
        self.next_component_id = 10203
        self.next_version_id = 10102
        self.next_comment_id = 20001
        self.next_misc_id = 30001  # worklogs and issue links
        seed = [
            # (summary, type, status, priority, assignee, sprint, labels, points, parent)
            ("Checkout revamp", "Epic", "In Progress", "High", alice, None, [], None, None),
            (
                "Payment form loses card on back",
                "Bug",
                "To Do",
                "Highest",
                bob,
                102,
                ["checkout"],
                3,
                "ENG-1",
            ),
            ("Add Apple Pay", "Story", "In Progress", "High", carol, 102, ["checkout"], 5, "ENG-1"),
            (
                "Refactor cart service",
                "Task",
                "In Review",
                "Medium",
                bob,
                102,
                ["tech-debt"],
                8,
                "ENG-1",
            ),
            ("Address autocomplete", "Story", "In Progress", "Medium", dave, 102, [], 5, "ENG-1"),
            ("Flaky checkout e2e test", "Bug", "To Do", "Low", None, 102, ["flaky", "ci"], 2, None),
            ("Update privacy policy link", "Task", "Done", "Lowest", alice, 101, [], 1, None),
            ("Login rate limiting", "Story", "Done", "High", carol, 101, ["security"], 3, None),
            ("Dark mode for settings", "Story", "To Do", "Low", None, 103, ["ui"], None, None),
            ("Crash on empty basket", "Bug", "To Do", "High", dave, None, ["checkout"], None, None),
            ("Design card form states", "Subtask", "Done", "Medium", carol, 102, [], None, "ENG-5"),
            ("Wire autocomplete API", "Subtask", "To Do", "Medium", dave, 102, [], None, "ENG-5"),
        ]
        for summary, kind, status, priority, assignee, sprint, labels, points, parent in seed:
            issue = self.new_issue("ENG", summary, kind, priority, reporter=alice, at=SEED_TIME)
            issue.status = status
            issue.assignee = assignee
            issue.sprint_id = sprint
            issue.labels = list(labels)
            issue.story_points = float(points) if points is not None else None
            issue.parent_key = parent
            issue.description = adf_text(f"{summary}.")
            if status == "Done":
                issue.resolution = "Done"
            if self.profile == "datacenter":
                issue.priority = _SEED_PRIORITY_ON_DC[priority]
                issue.issue_type = "Sub-task" if kind == "Subtask" else kind
                if kind == "Epic":
                    issue.epic_name = summary
        self.issues["ENG-4"].fix_versions = [10101]
        self.issues["ENG-4"].components = [10200]
        self.issues["ENG-3"].components = [10200]
        self.issues["ENG-7"].fix_versions = [10100]
        for summary, kind, priority in (
            ("Rotate TLS certificates", "Task", "High"),
            ("Disk alert on db-2", "Bug", "Medium"),
        ):
            issue = self.new_issue("OPS", summary, kind, priority, reporter=carol, at=SEED_TIME)
            issue.assignee = carol
            if self.profile == "datacenter":
                issue.priority = _SEED_PRIORITY_ON_DC[priority]
        seed_panels(self)  # forms, development information, a cross-project link
        #: Old key -> new key of every issue moved to another project: Jira keeps answering
        #: the old key with the moved issue (routes_bulk.py).
        self.moved_keys: dict[str, str] = {}
        #: Bulk move tasks by id (routes_bulk.py); `bulk_polls_to_finish` is how many reads
        #: of a task see it running before it completes (None: it never finishes).
        self.bulk_tasks: dict[str, dict[str, Any]] = {}
        self.bulk_polls_to_finish: int | None = 1
        seed_service_desk(self)  # OPS-1 and OPS-2 are customer requests
        #: Data Center serves the SLA endpoint (experimental); False answers 404 as a site
        #: without it does (an older Jira Service Management, or none).
        self.jsm_sla = True
        #: The JSM operations ("queue", "sla") that answer 412 without
        #: `X-ExperimentalApi: opt-in` (routes_servicedesk.py): the SLA resource on Data
        #: Center; add "queue" to emulate an older JSD, whose queue API was experimental.
        self.jsm_experimental: set[str] = {"sla"} if self.profile == "datacenter" else set()

    def reset(self) -> None:
        """Back to the seed data; faults and the request log are cleared too."""
        with self.lock:
            self.faults.clear()
            self.request_log.clear()
            self._seed()
            self.save()

    # ------------------------------------------------------------------ lookups

    def new_issue(
        self,
        project_key: str,
        summary: str,
        issue_type: str,
        priority: str,
        *,
        reporter: str,
        creator: str | None = None,
        at: str | None = None,
    ) -> Issue:
        with self.lock:
            project = self.projects[project_key]
            key = f"{project.key}-{project.next_number}"
            project.next_number += 1
            stamp = at or now_iso()
            issue = Issue(
                id=self.next_issue_id,
                key=key,
                project_key=project.key,
                summary=summary,
                issue_type=issue_type,
                status=STATUSES[0].name,
                priority=priority,
                reporter=reporter,
                created=stamp,
                updated=stamp,
                creator=creator if creator is not None else reporter,
            )
            self.next_issue_id += 1
            self.issues[key] = issue
            self.ranking.append(key)
            return issue

    def find_issue(self, id_or_key: str) -> Issue | None:
        with self.lock:
            wanted_key = id_or_key.upper()
            # A moved issue answers to its old keys too (each move may add one).
            while wanted_key in self.moved_keys:
                wanted_key = self.moved_keys[wanted_key]
            found = self.issues.get(wanted_key)
            if found is not None:
                return found
            if id_or_key.isdigit():
                wanted = int(id_or_key)
                return next((i for i in self.issues.values() if i.id == wanted), None)
            return None

    def components_of(self, project_key: str) -> list[Component]:
        """The project's components, oldest first (hold the lock)."""
        return [c for c in self.components.values() if c.project_key == project_key]

    def versions_of(self, project_id: int) -> list[Version]:
        """The project's versions, oldest first (hold the lock)."""
        return [v for v in self.versions.values() if v.project_id == project_id]

    def find_project(self, id_or_key: object) -> Project | None:
        text = str(id_or_key)
        if text.upper() in self.projects:
            return self.projects[text.upper()]
        return next((p for p in self.projects.values() if str(p.id) == text), None)

    def find_user(self, *, account_id: str | None = None, name: str | None = None) -> User | None:
        if account_id is not None:
            return self.users.get(account_id)
        if name is not None:
            lowered = name.lower()
            return next((u for u in self.users.values() if u.name == lowered), None)
        return None

    def user_by_login(self, login: str) -> User | None:
        """The user behind Basic-auth login (an email) or a DC username."""
        lowered = login.lower()
        return next((u for u in self.users.values() if lowered in {u.email.lower(), u.name}), None)

    def account_for_login(self, login: str) -> User:
        """The account a Basic login acts as. In Jira every API token belongs to an account,
        so a login the seed data does not know (the gateway's service account) becomes one,
        with a stable accountId derived from the email."""
        with self.lock:
            known = self.user_by_login(login)
            if known is not None:
                return known
            email = login.strip().lower()
            account_id = "5b10" + hashlib.sha256(email.encode()).hexdigest()[:20]
            user = User(account_id, email.partition("@")[0] or email, email, email)
            self.users[account_id] = user
            return user

    def subtasks_of(self, key: str) -> list[Issue]:
        return [
            issue
            for issue in self.issues.values()
            if issue.parent_key == key and issue_type(issue.issue_type).subtask
        ]

    def children_of(self, key: str) -> list[Issue]:
        return [issue for issue in self.issues.values() if issue.parent_key == key]

    def next_misc(self) -> int:
        with self.lock:
            self.next_misc_id += 1
            return self.next_misc_id - 1

    def next_comment(self) -> int:
        with self.lock:
            self.next_comment_id += 1
            return self.next_comment_id - 1

    # ------------------------------------------------------------------ faults

    def add_fault(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
            return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def take_fault(self, method: str, path: str, *, kinds: set[str]) -> Fault | None:
        """The first armed fault of one of `kinds` matching this call; uses up one of its times."""
        with self.lock:
            for fault in self.faults:
                if fault.kind in kinds and fault.matches(method, path):
                    fault.use()
                    if fault.exhausted:
                        self.faults.remove(fault)
                    return fault
            return None

    # ------------------------------------------------------------------ inspection

    def snapshot(self) -> dict[str, Any]:
        """Everything that persists (no faults, no request log)."""
        with self.lock:
            return {
                "users": [asdict(u) for u in self.users.values()],
                "projects": [asdict(p) for p in self.projects.values()],
                "boards": [asdict(b) for b in self.boards.values()],
                "sprints": [asdict(s) for s in self.sprints.values()],
                "versions": [asdict(v) for v in self.versions.values()],
                "components": [asdict(c) for c in self.components.values()],
                "issues": [asdict(i) for i in self.issues.values()],
                "ranking": list(self.ranking),
                "parallel_sprints": self.parallel_sprints,
                "moved_keys": dict(self.moved_keys),
                "bulk_tasks": {k: dict(v) for k, v in self.bulk_tasks.items()},
                "counters": {
                    "issue": self.next_issue_id,
                    "version": self.next_version_id,
                    "comment": self.next_comment_id,
                    "misc": self.next_misc_id,
                    "sprint": self.next_sprint_id,
                    "component": self.next_component_id,
                },
            }

    def restore(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.users = {u["account_id"]: User(**u) for u in data["users"]}
            self.projects = {p["key"]: Project(**p) for p in data["projects"]}
            self.boards = {b["id"]: Board(**b) for b in data["boards"]}
            self.sprints = {s["id"]: Sprint(**s) for s in data["sprints"]}
            self.versions = {v["id"]: Version(**v) for v in data["versions"]}
            self.components = {c["id"]: Component(**c) for c in data.get("components", [])}
            self.issues = {}
            for raw in data["issues"]:
                comments = [Comment(**c) for c in raw.pop("comments", [])]
                self.issues[raw["key"]] = Issue(**raw, comments=comments)
            self.ranking = list(data.get("ranking") or self.issues)
            self.parallel_sprints = bool(data.get("parallel_sprints", False))
            self.moved_keys = dict(data.get("moved_keys") or {})
            self.bulk_tasks = {k: dict(v) for k, v in (data.get("bulk_tasks") or {}).items()}
            counters = data["counters"]
            self.next_issue_id = counters["issue"]
            self.next_version_id = counters["version"]
            self.next_comment_id = counters["comment"]
            self.next_misc_id = counters.get("misc", 30001)
            self.next_sprint_id = counters.get("sprint", 301)
            self.next_component_id = counters.get("component", 10203)

    def log(self, entry: LoggedRequest) -> None:
        with self.lock:
            self.request_log.append(entry)

    def logged(self) -> Iterator[LoggedRequest]:
        with self.lock:
            yield from list(self.request_log)

    # ------------------------------------------------------------------ persistence

    def save(self) -> None:
        """Write the snapshot to SQLite when the state was created with a `path`."""
        if self.path is None:
            return
        with self.lock:
            data = json.dumps(self.snapshot())
            with closing(sqlite3.connect(self.path)) as db, db:
                db.execute(
                    "CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY, data TEXT)"
                )
                db.execute("INSERT OR REPLACE INTO snapshot (id, data) VALUES (1, ?)", (data,))

    def _load(self) -> bool:
        assert self.path is not None
        if not self.path.exists():
            return False
        with closing(sqlite3.connect(self.path)) as db:
            db.execute("CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY, data TEXT)")
            row = db.execute("SELECT data FROM snapshot WHERE id = 1").fetchone()
        if row is None:
            return False
        self.restore(json.loads(row[0]))
        return True


def status(name: str) -> Status:
    return next(s for s in STATUSES if s.name == name)


_ALL_ISSUE_TYPES = (*ISSUE_TYPES, *DC_ISSUE_TYPES)
_ALL_PRIORITIES = (*PRIORITIES, *DC_PRIORITIES)


def issue_type(name: str) -> IssueType:
    """A stored issue's type (of either profile: names do not clash)."""
    return next(t for t in _ALL_ISSUE_TYPES if t.name == name)


def find_issue_type(
    name_or_id: object, types: tuple[IssueType, ...] = ISSUE_TYPES
) -> IssueType | None:
    """The site's issue type named or numbered `name_or_id` (None: the site has none)."""
    text = str(name_or_id).lower()
    return next((t for t in types if text in {t.name.lower(), t.id}), None)


def find_priority(
    name_or_id: object, priorities: tuple[Priority, ...] = PRIORITIES
) -> Priority | None:
    text = str(name_or_id).lower()
    return next((p for p in priorities if text in {p.name.lower(), p.id}), None)


def priority(name: str) -> Priority:
    return next(p for p in _ALL_PRIORITIES if p.name == name)


def find_resolution(name_or_id: object) -> Resolution | None:
    text = str(name_or_id).lower()
    return next((r for r in RESOLUTIONS if text in {r.name.lower(), r.id}), None)
