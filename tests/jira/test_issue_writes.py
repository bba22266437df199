"""The issue-level writes (issue 12) through the adapter, over real HTTP, on both sandbox
profiles: the cloud flavour against the cloud-profile site, the datacenter flavour against
the datacenter-profile site. Every request is checked against Atlassian's spec (`scenario`).

Each action has its happy path and its safe retry here; tests/hostile/test_issue_write_scope.py
has the attacks on their project scope.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from jiragate.errors import InvalidDetailsError, JiraTransportError
from jiragate.jira.adf import adf_to_text
from jiragate.jira.config import JiraConfig
from jiragate.jira.operations import JiraAdapter
from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from jiragate.jira.sandbox.state import Comment, adf_text, now_iso
from tests.helpers.servers import serve_app
from tests.jira.test_adapter_sandbox import (
    API_TOKEN,
    EMAIL,
    FLAVOURS,
    PAT,
    Run,
    Site,
    arm,
    scenario,
)

ALICE = "5b10a2844c20165700ede21a"
BOB = "5b10a2844c20165700ede21b"
parametrize_flavour = pytest.mark.parametrize("flavour", FLAVOURS)


@pytest.fixture(scope="module")
def _sites() -> Iterator[dict[str, Site]]:
    states = {flavour: SandboxState(profile=flavour) for flavour in FLAVOURS}
    with (
        serve_app(create_sandbox_app(states["cloud"])) as cloud,
        serve_app(create_sandbox_app(states["datacenter"])) as datacenter,
    ):
        yield {
            "cloud": Site(cloud, states["cloud"]),
            "datacenter": Site(datacenter, states["datacenter"]),
        }


@pytest.fixture
def site(_sites: dict[str, Site], flavour: str) -> Site:
    """The sandbox of `flavour`'s own profile, reset, accepting only our credentials."""
    chosen = _sites[flavour]
    chosen.state.reset()
    chosen.state.basic_auth = (EMAIL, API_TOKEN)
    chosen.state.bearer_token = PAT
    return chosen


def user_of(flavour: str) -> str:
    return BOB if flavour == "cloud" else "bob"


def add_comment(state: SandboxState, key: str, text: str) -> str:
    with state.lock:
        comment = Comment(state.next_comment(), ALICE, adf_text(text), now_iso())
        state.issues[key].comments.append(comment)
    return str(comment.id)


# --------------------------------------------------------------------------- comments


@parametrize_flavour
def test_a_comment_is_edited_and_deleted(site: Site, flavour: str) -> None:
    first = add_comment(site.state, "ENG-2", "typo")
    second = add_comment(site.state, "ENG-2", "obsolete")

    async def body(run: Run) -> None:
        edited = await run.execute(
            "jira_edit_comment", {"issueKey": "ENG-2", "commentId": first, "body": "fixed now"}
        )
        assert (edited.outcome, edited.updated) == ("succeeded", ["ENG-2"])
        deleted = await run.execute(
            "jira_delete_comment", {"issueKey": "ENG-2", "commentId": second}
        )
        assert deleted.outcome == "succeeded"
        # A resent delete (the first answer lost) finds nothing to check and fails: the
        # comment is gone, and no other comment is touched.
        again = await run.execute("jira_delete_comment", {"issueKey": "ENG-2", "commentId": second})
        assert again.outcome == "failed"

    scenario(site, flavour, body)
    comments = site.state.issues["ENG-2"].comments
    assert [(str(c.id), adf_to_text(c.body)) for c in comments] == [(first, "fixed now")]


# --------------------------------------------------------------------------- worklogs


@parametrize_flavour
def test_a_worklog_is_logged_once_changed_and_deleted(site: Site, flavour: str) -> None:
    details = {
        "issueKey": "ENG-3",
        "timeSpent": "1h 30m",
        "started": "2026-12-01T09:30:00.000+0000",
        "comment": "pairing on Apple Pay",
    }

    async def body(run: Run) -> None:
        logged = await run.execute("jira_add_worklog", details, action_id="wl1")
        assert logged.outcome == "succeeded"
        ident = logged.data["worklogId"]
        # Run again (a retry of the same action): the marker finds it, nothing is added.
        again = await run.execute("jira_add_worklog", details, action_id="wl1")
        assert again.data == {"worklogId": ident, "recovered": True}
        changed = await run.execute(
            "jira_update_worklog", {"issueKey": "ENG-3", "worklogId": ident, "timeSpent": "2h"}
        )
        assert changed.outcome == "succeeded"
        assert site.state.issues["ENG-3"].worklogs[0]["timeSpentSeconds"] == 7200
        deleted = await run.execute(
            "jira_delete_worklog", {"issueKey": "ENG-3", "worklogId": ident}
        )
        assert deleted.outcome == "succeeded"

    run = scenario(site, flavour, body)
    assert site.state.issues["ENG-3"].worklogs == []
    assert len(run.sent("POST", "/issue/ENG-3/worklog")) == 1


@parametrize_flavour
def test_a_lost_worklog_answer_is_unknown_and_the_retry_finds_it(site: Site, flavour: str) -> None:
    arm(
        site.state,
        match={"method": "POST", "path": "/rest/api/*/issue/ENG-4/worklog"},
        fault={"kind": "status", "status": 504},
    )
    arm(
        site.state,
        match={"method": "POST", "path": "/rest/api/*/issue/ENG-4/worklog"},
        fault={"kind": "drop", "when": "after"},
    )
    details = {"issueKey": "ENG-4", "timeSpent": "45m"}

    async def body(run: Run) -> None:
        # 504: Jira may or may not have logged it: unknown, never failed.
        with pytest.raises(JiraTransportError) as first:
            await run.execute("jira_add_worklog", details, action_id="wl2")
        assert first.value.outcome_unknown
        # The retry: dropped after Jira logged it; the recovery read finds it by its marker.
        retried = await run.execute("jira_add_worklog", details, action_id="wl2")
        assert retried.outcome == "succeeded"
        ident = site.state.issues["ENG-4"].worklogs[0]["id"]
        assert retried.data == {"worklogId": str(ident)}
        found = await run.execute("jira_add_worklog", details, action_id="wl2")
        assert found.data == {"worklogId": str(ident), "recovered": True}

    scenario(site, flavour, body)
    assert [w["timeSpentSeconds"] for w in site.state.issues["ENG-4"].worklogs] == [2700]


# --------------------------------------------------------------------------- watchers


@parametrize_flavour
def test_a_watcher_is_added_and_removed(site: Site, flavour: str) -> None:
    who = {"issueKey": "ENG-5", "user": user_of(flavour)}

    async def body(run: Run) -> None:
        assert (await run.execute("jira_add_watcher", who)).outcome == "succeeded"
        assert BOB in site.state.issues["ENG-5"].watchers
        assert (await run.execute("jira_add_watcher", who)).outcome == "succeeded"
        assert site.state.issues["ENG-5"].watchers.count(BOB) == 1
        assert (await run.execute("jira_remove_watcher", who)).outcome == "succeeded"

    run = scenario(site, flavour, body)
    assert BOB not in site.state.issues["ENG-5"].watchers
    query = run.sent("DELETE", "/issue/ENG-5/watchers")[0][2]
    assert query == ({"accountId": BOB} if flavour == "cloud" else {"username": "bob"})


# --------------------------------------------------------------------------- links


@parametrize_flavour
def test_an_issue_link_is_created_once_by_type_name_and_removed(site: Site, flavour: str) -> None:
    link = {"issueKey": "ENG-2", "linkType": "blocks", "otherIssueKey": "ENG-3"}

    async def body(run: Run) -> None:
        made = await run.execute("jira_create_issue_link", link)
        assert (made.outcome, made.updated) == ("succeeded", ["ENG-2", "ENG-3"])
        assert made.data == {"linkType": "Blocks", "outward": "blocks"}
        assert (await run.execute("jira_create_issue_link", link)).outcome == "succeeded"
        [(ident, outward)] = [
            (str(x["id"]), x["outwardIssue"])
            for x in site.state.issues["ENG-2"].links
            if "outwardIssue" in x
        ]
        assert outward == "ENG-3"  # ENG-2 blocks ENG-3
        wrong = await run.execute("jira_create_issue_link", {**link, "linkType": "Blockz"})
        assert wrong.outcome == "failed"
        assert "did you mean Blocks" in wrong.failures[0].reason
        assert "Relates" in wrong.failures[0].reason  # the site's types are listed
        removed = await run.execute(
            "jira_remove_issue_link", {"issueKey": "ENG-3", "linkId": ident}
        )
        assert removed.outcome == "succeeded"

    scenario(site, flavour, body)
    assert site.state.issues["ENG-2"].links == site.state.issues["ENG-3"].links == []


@parametrize_flavour
def test_a_remote_link_is_created_once_and_removed(site: Site, flavour: str) -> None:
    link = {"issueKey": "ENG-6", "url": "https://ci.example.com/run/7", "title": "CI run 7"}

    async def body(run: Run) -> None:
        made = await run.execute("jira_create_remote_link", link, action_id="rl1")
        assert made.outcome == "succeeded"
        assert made.data is not None and made.data["globalId"] == "jiragate:rl1"
        # The same action again (a retry) updates the link its globalId names.
        again = await run.execute(
            "jira_create_remote_link", {**link, "summary": "flaky"}, action_id="rl1"
        )
        assert again.data == made.data
        [stored] = site.state.issues["ENG-6"].remote_links
        assert stored["object"]["summary"] == "flaky"
        gone = await run.execute(
            "jira_remove_remote_link", {"issueKey": "ENG-6", "linkId": made.data["remoteLinkId"]}
        )
        assert gone.outcome == "succeeded"

    scenario(site, flavour, body)
    assert site.state.issues["ENG-6"].remote_links == []


# --------------------------------------------------------------------------- epics


@parametrize_flavour
def test_issues_are_linked_to_an_epic_and_unlinked(site: Site, flavour: str) -> None:
    async def body(run: Run) -> None:
        linked = await run.execute(
            "jira_link_to_epic", {"epicKey": "ENG-1", "issueKeys": ["ENG-6", "ENG-8"]}
        )
        assert (linked.outcome, linked.updated) == ("succeeded", ["ENG-6", "ENG-8"])
        assert site.state.issues["ENG-6"].parent_key == "ENG-1"
        unlinked = await run.execute(
            "jira_unlink_from_epic", {"epicKey": "ENG-1", "issueKeys": ["ENG-2", "ENG-6"]}
        )
        assert unlinked.outcome == "succeeded"
        # ENG-7 is under no epic: it is refused, ENG-3 still unlinked (partial).
        partial = await run.execute(
            "jira_unlink_from_epic", {"epicKey": "ENG-1", "issueKeys": ["ENG-7", "ENG-3"]}
        )
        assert (partial.outcome, partial.updated) == ("partial", ["ENG-3"])
        assert "ENG-7 is not under epic ENG-1 (its epic is none)" in partial.failures[0].reason
        not_epic = await run.execute(
            "jira_link_to_epic", {"epicKey": "ENG-4", "issueKeys": ["ENG-6"]}
        )
        assert not_epic.outcome == "failed" and "not an epic" in not_epic.failures[0].reason

    run = scenario(site, flavour, body)
    issues = site.state.issues
    assert [issues[k].parent_key for k in ("ENG-2", "ENG-3", "ENG-6", "ENG-8")] == [
        None,
        None,
        None,
        "ENG-1",
    ]
    if flavour == "cloud":
        assert run.sent("PUT", "/issue/ENG-6")
        assert not run.sent("POST", "/epic/ENG-1/issue")
    else:  # Data Center moves them with the Agile API
        assert run.sent("POST", "/rest/agile/1.0/epic/ENG-1/issue")[0][3] == {
            "issues": ["ENG-6", "ENG-8"]
        }
        assert run.sent("POST", "/rest/agile/1.0/epic/none/issue")
        assert not run.sent("PUT", "/issue/ENG-6")


# --------------------------------------------------------------------------- attachments

FILE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@parametrize_flavour
def test_an_attachment_is_uploaded_once_and_deleted(site: Site, flavour: str) -> None:
    details = {
        "issueKey": "ENG-9",
        "filename": "screen shot.png",
        "content": base64.b64encode(FILE).decode(),
        "mediaType": "image/png",
    }

    async def body(run: Run) -> None:
        uploaded = await run.execute("jira_add_attachment", details, action_id="at1")
        assert uploaded.outcome == "succeeded"
        assert uploaded.data is not None and uploaded.data["size"] == len(FILE)
        again = await run.execute("jira_add_attachment", details, action_id="at1")
        assert again.data == {"attachmentId": uploaded.data["attachmentId"], "recovered": True}
        [stored] = site.state.issues["ENG-9"].attachments
        assert base64.b64decode(stored["content"]) == FILE
        assert (stored["filename"], stored["mimeType"]) == ("screen shot.png", "image/png")
        gone = await run.execute(
            "jira_delete_attachment",
            {"issueKey": "ENG-9", "attachmentId": uploaded.data["attachmentId"]},
        )
        assert gone.outcome == "succeeded"

    scenario(site, flavour, body)
    assert site.state.issues["ENG-9"].attachments == []
    uploads = [r for r in site.state.logged() if r.path.endswith("/attachments")]
    assert len(uploads) == 1 and uploads[0].status == 200


def _adapter(site: Site, flavour: str, **overrides: Any) -> JiraAdapter:
    credentials: dict[str, Any] = (
        {"email": EMAIL, "api_token": API_TOKEN}
        if flavour == "cloud"
        else {"personal_access_token": PAT}
    )
    return JiraAdapter(JiraConfig(base_url=site.url, flavour=flavour, **credentials, **overrides))  # type: ignore[arg-type]


@parametrize_flavour
def test_an_oversized_or_broken_file_is_refused_before_anything_is_sent(
    site: Site, flavour: str
) -> None:
    import asyncio

    adapter = _adapter(site, flavour, max_attachment_bytes=len(FILE) - 1)
    content = base64.b64encode(FILE).decode()
    details = {"issueKey": "ENG-9", "filename": "big.bin", "content": content}
    with pytest.raises(InvalidDetailsError) as too_big:
        adapter.check_details("jira_add_attachment", details)
    assert too_big.value.violations[0].pointer == "/content"
    assert f"{len(FILE)} bytes, more than the {len(FILE) - 1}" in str(too_big.value)
    with pytest.raises(InvalidDetailsError, match="not valid base64"):
        adapter.check_details("jira_add_attachment", {**details, "content": "QUJDR"})

    async def run() -> None:
        try:
            await adapter.execute("jira_add_attachment", details, action_id="big", summary="s")
        finally:
            await adapter.aclose()

    with pytest.raises(InvalidDetailsError):
        asyncio.run(run())
    assert list(site.state.logged()) == []  # nothing reached Jira


def test_the_sandbox_refuses_an_upload_without_the_xsrf_header(_sites: dict[str, Site]) -> None:
    import httpx

    site = _sites["cloud"]
    site.state.reset()
    site.state.basic_auth = None
    with httpx.Client(base_url=site.url, auth=(EMAIL, API_TOKEN)) as http:
        files = {"file": ("a.txt", b"abc", "text/plain")}
        refused = http.post("/rest/api/3/issue/ENG-1/attachments", files=files)
        assert refused.status_code == 403 and "XSRF" in refused.text
        headers = {"X-Atlassian-Token": "no-check"}
        taken = http.post("/rest/api/3/issue/ENG-1/attachments", files=files, headers=headers)
        assert taken.status_code == 200 and taken.json()[0]["size"] == 3


# --------------------------------------------------------------------------- field edits


@parametrize_flavour
def test_field_edits_set_components_versions_people_parent_and_custom_fields(
    site: Site, flavour: str
) -> None:
    details = {
        "issueKeys": ["ENG-6", "ENG-10"],
        "fields": {
            "components": ["Checkout", "Accounts"],
            "fixVersions": ["1.1"],
            "duedate": "2026-12-24",
            "assignee": user_of(flavour),
            "reporter": user_of(flavour),
            "parent": "ENG-1",
        },
        "addLabels": ["triage"],
        "customFields": {"customfield_10042": "Checkout", "customer IMPACT": 3},
    }

    async def body(run: Run) -> None:
        edited = await run.execute("jira_update_fields", details)
        assert (edited.outcome, edited.updated) == ("succeeded", ["ENG-6", "ENG-10"])
        cleared = await run.execute(
            "jira_update_fields",
            {"issueKeys": ["ENG-10"], "fields": {"components": [], "assignee": None}},
        )
        assert cleared.outcome == "succeeded"

    run = scenario(site, flavour, body)
    six, ten = site.state.issues["ENG-6"], site.state.issues["ENG-10"]
    assert six.components == [10200, 10201] and ten.components == []
    assert six.fix_versions == [10101] and six.duedate == "2026-12-24"
    assert (six.assignee, six.reporter, ten.assignee) == (BOB, BOB, None)
    assert six.parent_key == "ENG-1" and "triage" in six.labels
    assert six.custom_fields == {"customfield_10042": "Checkout", "customfield_10043": 3}
    assert len(run.sent("GET", "/field")) == 1  # names resolved once per action


@parametrize_flavour
def test_a_custom_field_name_that_does_not_resolve_fails_naming_close_matches(
    site: Site, flavour: str
) -> None:
    async def body(run: Run) -> None:
        typo = await run.execute(
            "jira_update_fields", {"issueKeys": ["ENG-6"], "customFields": {"Teem": "x"}}
        )
        assert typo.outcome == "failed"
        assert "no custom field named 'Teem' on this site; close matches: Team" in (
            typo.failures[0].reason
        )
        system = await run.execute(
            "jira_update_fields", {"issueKeys": ["ENG-6"], "customFields": {"Priority": "Highest"}}
        )
        assert "it is a system field" in system.failures[0].reason
        unknown = await run.execute(
            "jira_update_fields", {"issueKeys": ["ENG-6"], "customFields": {"customfield_99": 1}}
        )
        assert "no custom field customfield_99" in unknown.failures[0].reason

    run = scenario(site, flavour, body)
    assert run.sent("PUT", "/issue/ENG-6") == []
