"""Attachments by id are scoped by the issue Jiragate saw them on (gateway/attachments.py,
docs/proxy.md "Attachments"): Jira's attachment metadata names no issue and its ids are
sequential, so an agent allowed to read only ENG could otherwise fetch or delete any
project's attachment by guessing numbers.

Over real HTTP: a Jiragate (uvicorn) in front of the Jira sandbox, on SQLite and PostgreSQL.
The attachments are uploaded to ENG-3 and OPS-1 straight to the sandbox, as a person would
in Jira; the bot (log-triage-bot) may read ENG and never OPS, the IDE assistant reads all.
The sandbox is Cloud's: a download is a redirect to its media store, which the clients here
follow (tests/proxy/test_attachment_redirects.py tests the redirect itself).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from jiragate.store.attachments import SeenAttachment
from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.service import JIRA_EMAIL, JIRA_TOKEN, Service
from tests.proxy.support import service_with_policy
from tests.proxy.test_read_rows import client

POLICY = """\
review_groups:
  engineering-leads: {description: Leads, members: [lead-alice]}
rules:
  - id: bot-stays-out-of-ops
    match: {agent: log-triage-bot, project: OPS}
    decision: deny
    reason: The triage bot works in ENG only.
  - id: reads
    match: {kind: read}
    decision: allow
  - id: writes-in-eng
    match: {kind: write, project: ENG}
    decision: allow
"""

ENG_BYTES = b"ENG build log\x00\xff\x10 binary tail " + os.urandom(64)
OPS_BYTES = b"OPS incident secrets " + os.urandom(64)


def upload(service: Service, issue: str, name: str, data: bytes) -> str:
    """An attachment put on `issue` in Jira itself (not through Jiragate): its id."""
    with httpx.Client(base_url=service.sandbox_url, timeout=30) as direct:
        answer = direct.post(
            f"/rest/api/3/issue/{issue}/attachments",
            files={"file": (name, data, "application/octet-stream")},
            auth=(JIRA_EMAIL, JIRA_TOKEN),
            headers={"X-Atlassian-Token": "no-check"},
        )
    answer.raise_for_status()
    return str(answer.json()[0]["id"])


def reached(service: Service, since: int) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in list(service.sandbox.logged())[since:]]


def mark(service: Service) -> int:
    return len(list(service.sandbox.logged()))


@pytest.fixture
def strict(db_url: str, tmp_path: Path) -> Iterator[Service]:  # noqa: F811
    with service_with_policy(db_url, tmp_path, POLICY) as running:
        running.eng = upload(running, "ENG-3", "build.log", ENG_BYTES)  # type: ignore[attr-defined]
        running.ops = upload(running, "OPS-1", "incident.txt", OPS_BYTES)  # type: ignore[attr-defined]
        yield running


def test_a_guessed_id_is_refused_before_anyone_read_its_issue(strict: Service) -> None:
    ops = strict.ops  # type: ignore[attr-defined]
    with client(strict) as jira:
        for path in (
            f"/rest/api/3/attachment/content/{ops}",
            f"/rest/api/2/attachment/{ops}",
            f"/rest/api/3/attachment/thumbnail/{ops}",
            f"/rest/api/3/attachment/{ops}/expand/human",
        ):
            since = mark(strict)
            refused = jira.get(path)
            assert refused.status_code == 400, (path, refused.text)
            message = refused.json()["errorMessages"][0]
            assert f"Jiragate does not know which issue attachment {ops} belongs to" in message
            version = path.split("/")[3]  # the agent's own API version
            assert f"GET /rest/api/{version}/issue/{{key}}?fields=attachment" in message
            assert reached(strict, since) == [], path  # nothing asked of Jira, nothing sent


def test_the_agent_reads_its_issue_then_downloads_its_attachment(strict: Service) -> None:
    eng = strict.eng  # type: ignore[attr-defined]
    with client(strict) as jira:
        issue = jira.get("/rest/api/3/issue/ENG-3", params={"fields": "attachment"})
        assert issue.status_code == 200, issue.text
        listed = issue.json()["fields"]["attachment"]
        assert [a["id"] for a in listed] == [eng]
        assert listed[0]["content"].startswith(strict.url)  # relinked to Jiragate
        content = jira.get(listed[0]["content"].removeprefix(strict.url), follow_redirects=True)
        assert content.status_code == 200, content.text
        assert content.content == ENG_BYTES  # the file's bytes, untouched
        meta = jira.get(f"/rest/api/2/attachment/{eng}")
        assert meta.status_code == 200 and meta.json()["filename"] == "build.log"
    recorded = strict.agent.get("/v1/actions", params={"action": "jira_rest_read"}).json()
    scoped = {i["details"]["path"]: i["details"].get("projectKey") for i in recorded["items"]}
    assert scoped[f"/rest/api/3/attachment/content/{eng}"] == "ENG", scoped


def test_a_search_teaches_the_owner_too(strict: Service) -> None:
    eng = strict.eng  # type: ignore[attr-defined]
    with client(strict) as jira:
        found = jira.post(
            "/rest/api/3/search/jql",
            json={"jql": "project = ENG ORDER BY key", "fields": ["attachment"], "maxResults": 50},
        )
        assert found.status_code == 200, found.text
        content = jira.get(f"/rest/api/3/attachment/content/{eng}", follow_redirects=True)
        assert content.status_code == 200, content.text
        assert content.content == ENG_BYTES


def test_a_known_ops_attachment_is_denied_by_the_rule(strict: Service) -> None:
    ops = strict.ops  # type: ignore[attr-defined]
    with client(strict, "ide-assistant") as privileged:  # may read OPS: teaches Jiragate
        assert privileged.get("/rest/api/3/issue/OPS-1").status_code == 200
        allowed = privileged.get(f"/rest/api/3/attachment/content/{ops}", follow_redirects=True)
        assert allowed.status_code == 200 and allowed.content == OPS_BYTES
    with client(strict) as jira:
        since = mark(strict)
        denied = jira.get(f"/rest/api/3/attachment/content/{ops}")
        assert denied.status_code == 400, denied.text
        assert "bot-stays-out-of-ops" in denied.json()["errorMessages"][0]
        # Jira was asked whether OPS-1 still holds it; the attachment itself never fetched.
        assert ("GET", f"/rest/api/3/attachment/content/{ops}") not in reached(strict, since)
        # The bot reading OPS-1 itself is denied, so it cannot teach Jiragate either.
        assert jira.get("/rest/api/3/issue/OPS-1").status_code == 400


def test_a_claimed_project_is_refused_on_v1_actions(strict: Service) -> None:
    ops = strict.ops  # type: ignore[attr-defined]
    with client(strict, "ide-assistant") as privileged:
        assert privileged.get("/rest/api/3/issue/OPS-1").status_code == 200
    path = f"/rest/api/3/attachment/content/{ops}"
    details = {
        "method": "GET",
        "path": path,
        "template": "/rest/api/{version}/attachment/content/{id}",
        "query": {},
    }
    envelope = {"action": "jira_rest_read", "summary": "download", "details": details}
    claimed = {**envelope, "details": {**details, "projectKey": "ENG"}}
    refused = strict.agent.post("/v1/actions", json=claimed)
    assert refused.status_code == 422, refused.text
    assert f"attachment {ops} is in project 'OPS', not 'ENG'" in refused.json()["message"]
    denied = strict.agent.post("/v1/actions", json=envelope)
    assert denied.status_code == 403, denied.text
    assert denied.json()["rule"] == "bot-stays-out-of-ops"


def test_delete_of_an_unknown_or_foreign_attachment_deletes_nothing(strict: Service) -> None:
    eng, ops = strict.eng, strict.ops  # type: ignore[attr-defined]
    with client(strict) as jira:
        since = mark(strict)
        unknown = jira.delete(f"/rest/api/3/attachment/{ops}")
        assert unknown.status_code == 400, unknown.text
        assert "does not know which issue" in unknown.json()["errorMessages"][0]
        assert reached(strict, since) == []
    with client(strict, "ide-assistant") as privileged:
        assert privileged.get("/rest/api/3/issue/OPS-1").status_code == 200
    with client(strict) as jira:
        denied = jira.delete(f"/rest/api/3/attachment/{ops}")
        assert denied.status_code == 400, denied.text
        assert "bot-stays-out-of-ops" in denied.json()["errorMessages"][0]
        assert [a["id"] for a in strict.sandbox.issues["OPS-1"].attachments] == [ops]
        # Its own project's attachment, once seen, it may delete.
        assert jira.get("/rest/api/3/issue/ENG-3").status_code == 200
        deleted = jira.delete(f"/rest/api/3/attachment/{eng}")
        assert deleted.status_code == 204, deleted.text
        assert strict.sandbox.issues["ENG-3"].attachments == []
        # Gone from its issue: Jiragate no longer places it, and says why.
        again = jira.get(f"/rest/api/3/attachment/{eng}")
        assert again.status_code == 400, again.text
        assert "Jira no longer lists it on ENG-3" in again.json()["errorMessages"][0]


def test_a_spelling_naming_another_project_too_is_refused(strict: Service) -> None:
    ops = strict.ops  # type: ignore[attr-defined]
    with client(strict, "ide-assistant") as privileged:
        assert privileged.get("/rest/api/3/issue/OPS-1").status_code == 200
    with client(strict) as jira:
        since = mark(strict)
        spans = jira.get(f"/rest/api/3/attachment/{ops}/expand/ENG-3")
        assert spans.status_code == 400, spans.text
        assert "spans projects" in spans.json()["errorMessages"][0]
        assert ("GET", f"/rest/api/3/attachment/{ops}/expand/ENG-3") not in reached(strict, since)


def test_an_agent_written_body_teaches_nothing(strict: Service) -> None:
    """An issue property is JSON the agent writes: shaped like an issue listing OPS's
    attachment, read back (as a property, and inside its issue with ?properties=), it is
    not Jira's attachment list and teaches Jiragate nothing."""
    ops = strict.ops  # type: ignore[attr-defined]
    forged = {"id": "10003", "key": "ENG-3", "fields": {"attachment": [{"id": ops}]}}
    with client(strict) as jira:
        put = jira.put("/rest/api/3/issue/ENG-3/properties/forged", json=forged)
        assert put.status_code in (200, 201), put.text
        assert jira.get("/rest/api/3/issue/ENG-3/properties/forged").status_code == 200
        with_it = jira.get("/rest/api/3/issue/ENG-3", params={"properties": "forged"})
        assert with_it.status_code == 200, with_it.text
        refused = jira.get(f"/rest/api/3/attachment/content/{ops}")
        assert refused.status_code == 400, refused.text
        assert "does not know which issue" in refused.json()["errorMessages"][0]


def test_a_wrong_row_refuses_and_never_widens(strict: Service) -> None:
    """Defence in depth: a row naming the wrong issue (however it got there) is checked
    with Jira before it scopes anything: ENG-3 does not list OPS's attachment, so the
    download is refused, the row dropped, and the file never fetched."""
    ops = strict.ops  # type: ignore[attr-defined]
    wrong = SeenAttachment(ops, "10003", "ENG-3", "ENG")
    strict.gateway._store.learn_attachments([wrong])  # as if poisoned
    with client(strict) as jira:
        since = mark(strict)
        refused = jira.get(f"/rest/api/3/attachment/content/{ops}")
        assert refused.status_code == 400, refused.text
        assert "Jira no longer lists it on ENG-3" in refused.json()["errorMessages"][0]
        assert ("GET", f"/rest/api/3/attachment/content/{ops}") not in reached(strict, since)
    assert strict.gateway._store.attachment_owner(ops) is None


def test_a_catalog_read_of_the_attachments_teaches_the_owner(strict: Service) -> None:
    """jira_get_attachments (on /v1/actions, as the MCP tools send it) lists the issue's
    attachments: Jiragate learns them as from the proxy's issue reads."""
    eng = strict.eng  # type: ignore[attr-defined]
    listed = strict.agent.post(
        "/v1/actions",
        json={
            "action": "jira_get_attachments",
            "summary": "the build log",
            "details": {"issueKey": "ENG-3"},
        },
    )
    assert listed.status_code in (200, 201), listed.text
    assert [a["id"] for a in listed.json()["result"]["data"]["attachments"]] == [eng]
    with client(strict) as jira:
        content = jira.get(f"/rest/api/3/attachment/content/{eng}", follow_redirects=True)
        assert content.status_code == 200, content.text
        assert content.content == ENG_BYTES


def test_reads_and_downloads_that_change_no_owner_write_no_row(strict: Service) -> None:
    """Every download confirms its owner with Jira and every issue read lists it again:
    with the owner unchanged, its row is not rewritten (its `seen_at` stays that of the
    first sighting); a changed owner is."""
    eng = strict.eng  # type: ignore[attr-defined]
    engine = strict.gateway._store.engine
    query = sa.text("SELECT seen_at FROM attachment_owners WHERE attachment_id = :a")

    def seen_at() -> object:
        with engine.connect() as connection:
            return connection.execute(query, {"a": eng}).scalar_one()

    with client(strict) as jira:
        assert jira.get("/rest/api/3/issue/ENG-3").status_code == 200
        first = seen_at()
        for _ in range(2):
            content = jira.get(f"/rest/api/3/attachment/content/{eng}", follow_redirects=True)
            assert content.status_code == 200 and content.content == ENG_BYTES
        assert jira.get("/rest/api/3/issue/ENG-3").status_code == 200
        assert seen_at() == first
        # A stale row (another issue id, same project) is corrected by the next sighting.
        strict.gateway._store.learn_attachments([SeenAttachment(eng, "ENG-3", "ENG-3", "ENG")])
        assert jira.get("/rest/api/3/issue/ENG-3").status_code == 200
    assert strict.gateway._store.attachment_owner(eng) == SeenAttachment(
        eng, "10003", "ENG-3", "ENG"
    )
    assert seen_at() != first
