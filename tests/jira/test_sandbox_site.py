"""The site-wide and per-issue endpoints real clients use, over real HTTP, in both flavours;
every response (and every accepted request) is contract-checked against Atlassian's spec by
the `jira_http` fixture (see conftest), and the leniencies Jira has are kept."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiragate.jira.sandbox import SandboxState, create_sandbox_app
from tests.helpers.servers import serve_app

BOB = "5b10a2844c20165700ede21b"
VERSIONS = ("2", "3")


@pytest.mark.parametrize("v", VERSIONS)
def test_site_reads_answer_in_jiras_shape(jira_http: httpx.Client, v: str) -> None:
    info = jira_http.get(f"/rest/api/{v}/serverInfo").json()
    assert info["deploymentType"] == "Cloud"
    projects = jira_http.get(f"/rest/api/{v}/project").json()
    assert [p["key"] for p in projects] == ["ENG", "OPS"]
    page = jira_http.get(f"/rest/api/{v}/project/search", params={"query": "ops"}).json()
    assert [p["key"] for p in page["values"]] == ["OPS"] and page["total"] == 1
    assert len(jira_http.get(f"/rest/api/{v}/priority").json()) == 5
    assert {t["name"] for t in jira_http.get(f"/rest/api/{v}/issuetype").json()} >= {"Epic"}
    assert "Done" in {s["name"] for s in jira_http.get(f"/rest/api/{v}/status").json()}
    users = jira_http.get(f"/rest/api/{v}/user/search", params={"query": "bob"}).json()
    assert [u["accountId"] for u in users] == [BOB]
    types = jira_http.get(f"/rest/api/{v}/issueLinkType").json()["issueLinkTypes"]
    assert "Blocks" in {t["name"] for t in types}


def test_user_search_needs_a_query(jira_http: httpx.Client) -> None:
    answer = jira_http.get("/rest/api/3/user/search")
    assert answer.status_code == 400
    assert "query" in answer.json()["errorMessages"][0]


def test_boards_have_a_location_and_filter_by_project(jira_http: httpx.Client) -> None:
    eng = jira_http.get("/rest/agile/1.0/board", params={"projectKeyOrId": "ENG"}).json()
    assert [b["id"] for b in eng["values"]] == [1] and eng["total"] == 1
    by_id = jira_http.get("/rest/agile/1.0/board", params={"projectKeyOrId": "10001"}).json()
    assert [b["location"]["projectKey"] for b in by_id["values"]] == ["OPS"]
    assert jira_http.get("/rest/agile/1.0/board").json()["total"] == 2
    board = jira_http.get("/rest/agile/1.0/board/2").json()
    assert board["location"]["projectKey"] == "OPS"
    assert jira_http.get("/rest/agile/1.0/sprint/201").json()["originBoardId"] == 2
    unknown = jira_http.get("/rest/agile/1.0/board", params={"projectKeyOrId": "NOPE"})
    assert unknown.status_code == 400 and "NOPE" in unknown.json()["errorMessages"][0]
    assert jira_http.get("/rest/agile/1.0/board/99").status_code == 404


@pytest.mark.parametrize("v", VERSIONS)
def test_watchers_worklogs_and_links_are_stored(
    jira_http: httpx.Client, sandbox: tuple[str, SandboxState], v: str
) -> None:
    _, state = sandbox
    base = f"/rest/api/{v}/issue/ENG-3"
    assert jira_http.post(f"{base}/watchers", json=BOB).status_code == 204
    watchers = jira_http.get(f"{base}/watchers").json()
    assert [w["accountId"] for w in watchers["watchers"]] == [BOB]
    logged = jira_http.post(f"{base}/worklog", json={"timeSpent": "1h 30m"})
    assert logged.status_code == 201 and logged.json()["timeSpentSeconds"] == 5400
    assert jira_http.get(f"{base}/worklog").json()["total"] == 1
    linked = jira_http.post(
        f"/rest/api/{v}/issueLink",
        json={
            "type": {"name": "Blocks"},
            "inwardIssue": {"key": "ENG-3"},
            "outwardIssue": {"key": "ENG-2"},
        },
    )
    assert linked.status_code == 201
    with state.lock:
        assert state.issues["ENG-3"].links[0]["outwardIssue"] == "ENG-2"
        assert state.issues["ENG-2"].links[0]["inwardIssue"] == "ENG-3"


def test_a_worklog_without_time_is_refused_and_not_stored(
    jira_http: httpx.Client, sandbox: tuple[str, SandboxState]
) -> None:
    answer = jira_http.post("/rest/api/3/issue/ENG-3/worklog", json={"timeSpent": "soon"})
    assert answer.status_code == 400 and "timeLogged" in answer.json()["errors"]
    with sandbox[1].lock:
        assert sandbox[1].issues["ENG-3"].worklogs == []


def test_expand_names_and_schema_describe_the_fields(jira_http: httpx.Client) -> None:
    answer = jira_http.get(
        "/rest/api/3/issue/ENG-2", params={"expand": "names,schema,renderedFields"}
    ).json()
    assert answer["names"]["summary"] == "Summary"
    assert answer["names"]["customfield_10016"] == "Story Points"
    assert answer["schema"]["summary"]["type"] == "string"
    assert answer["renderedFields"]["description"] == "<p>Payment form loses card on back.</p>"
    changelog = jira_http.get("/rest/api/3/issue/ENG-2", params={"expand": "changelog"}).json()
    assert changelog["changelog"]["histories"] == []


@pytest.fixture
def lenient_http(sandbox: tuple[str, SandboxState]) -> Iterator[httpx.Client]:
    """A client without the contract hooks: what Jira accepts beyond its spec is sent here."""
    with httpx.Client(base_url=sandbox[0], auth=("alice@example.com", "t"), timeout=10) as c:
        yield c


def test_jira_leniencies(lenient_http: httpx.Client, sandbox: tuple[str, SandboxState]) -> None:
    _, state = sandbox
    jira_http = lenient_http
    # A numeric transition id, as pycontribs sends it.
    moved = jira_http.post("/rest/api/2/issue/ENG-2/transitions", json={"transition": {"id": 11}})
    assert moved.status_code == 204
    with state.lock:
        assert state.issues["ENG-2"].status == "In Progress"
    # `validateQuery=True`, a Python client's spelling of a boolean.
    found = jira_http.get(
        "/rest/api/2/search", params={"jql": "project = ENG", "validateQuery": "True"}
    )
    assert found.status_code == 200, found.text
    # `deleteSubtasks=False` (ENG-5's sub-tasks block it, as in Jira) and `=True`.
    kept = jira_http.delete("/rest/api/2/issue/ENG-5", params={"deleteSubtasks": "False"})
    assert kept.status_code == 400, kept.text
    gone = jira_http.delete("/rest/api/2/issue/ENG-5", params={"deleteSubtasks": "True"})
    assert gone.status_code == 204, gone.text
    with state.lock:
        assert {"ENG-5", "ENG-11", "ENG-12"}.isdisjoint(state.issues)
    # `/rest/api/latest` is v2.
    assert jira_http.get("/rest/api/latest/issue/ENG-2").json()["key"] == "ENG-2"
    # Cloud serves the enhanced search on v2.
    page = jira_http.get(
        "/rest/api/2/search/jql", params={"jql": "project = OPS", "fields": "summary"}
    ).json()
    assert [i["key"] for i in page["issues"]] == ["OPS-1", "OPS-2"]


def test_a_transition_id_that_is_not_a_number_or_string_is_still_refused(
    lenient_http: httpx.Client,
) -> None:
    answer = lenient_http.post(
        "/rest/api/2/issue/ENG-2/transitions", json={"transition": {"id": [11]}}
    )
    assert answer.status_code == 400


@pytest.fixture(scope="module")
def datacenter() -> Iterator[tuple[str, SandboxState]]:
    state = SandboxState(profile="datacenter")
    with serve_app(create_sandbox_app(state)) as url:
        yield url, state


def test_the_datacenter_profile_is_a_server_without_v3(
    datacenter: tuple[str, SandboxState],
) -> None:
    url, _ = datacenter
    with httpx.Client(base_url=url, headers={"Authorization": "Bearer pat"}) as client:
        assert client.get("/rest/api/2/serverInfo").json()["deploymentType"] == "Server"
        assert client.get("/rest/api/3/issue/ENG-2").status_code == 404
        assert client.get("/rest/api/2/search/jql", params={"jql": "x"}).status_code == 404
        assert client.get("/rest/api/2/issue/ENG-2").status_code == 200


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="cloud or datacenter"):
        SandboxState(profile="server")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=12))
def test_any_worklog_time_is_a_201_or_a_400(jira_http: httpx.Client, text: str) -> None:
    answer = jira_http.post("/rest/api/3/issue/ENG-4/worklog", json={"timeSpent": text})
    assert answer.status_code in (201, 400), answer.text


def _dc(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": "Bearer pat"}, timeout=10)


def test_the_datacenter_profile_has_its_own_configuration(
    datacenter: tuple[str, SandboxState],
) -> None:
    url, state = datacenter
    state.reset()
    with _dc(url) as client:
        priorities = [p["name"] for p in client.get("/rest/api/2/priority").json()]
        assert priorities == ["P1", "P2", "P3", "P4"]
        types = {t["name"] for t in client.get("/rest/api/2/issuetype").json()}
        assert "Sub-task" in types and "Subtask" not in types
        shown = client.get("/rest/api/2/issue/ENG-2").json()["fields"]
        assert shown["priority"]["name"] == "P1"
        assert shown["assignee"]["name"] == "bob"  # Data Center users have usernames
        fields = {f["name"] for f in client.get("/rest/api/2/field").json()}
        assert {"Epic Name", "Resolution", "Story Points"} <= fields
        # A priority of the other site is refused, and nothing is created.
        before = len(state.issues)
        wrong = client.post(
            "/rest/api/2/issue",
            json={
                "fields": {
                    "project": {"key": "ENG"},
                    "summary": "s",
                    "issuetype": {"name": "Bug"},
                    "priority": {"name": "Highest"},
                }
            },
        )
        assert wrong.status_code == 400 and "priority" in wrong.json()["errors"]
        assert len(state.issues) == before


def test_an_epic_needs_an_epic_name_on_datacenter(datacenter: tuple[str, SandboxState]) -> None:
    url, state = datacenter
    state.reset()
    epic = {"project": {"key": "ENG"}, "summary": "Payments", "issuetype": {"name": "Epic"}}
    with _dc(url) as client:
        before = len(state.issues)
        refused = client.post("/rest/api/2/issue", json={"fields": epic})
        assert refused.status_code == 400
        assert refused.json()["errors"] == {"customfield_10011": "Epic Name is required."}
        assert len(state.issues) == before
        made = client.post(
            "/rest/api/2/issue", json={"fields": {**epic, "customfield_10011": "PAY"}}
        )
        assert made.status_code == 201, made.text
        shown = client.get(f"/rest/api/2/issue/{made.json()['key']}").json()["fields"]
        assert shown["customfield_10011"] == "PAY"


def test_a_resolution_screen_requires_a_resolution_on_datacenter(
    datacenter: tuple[str, SandboxState],
) -> None:
    url, state = datacenter
    state.reset()
    with _dc(url) as client:
        listed = client.get(
            "/rest/api/2/issue/ENG-2/transitions", params={"expand": "transitions.fields"}
        ).json()["transitions"]
        assert {t["id"] for t in listed} == {"11", "61"}  # more than one way out of To Do
        close = next(t for t in listed if t["id"] == "61")
        assert close["hasScreen"] and close["fields"]["resolution"]["required"] is True
        refused = client.post(
            "/rest/api/2/issue/ENG-2/transitions", json={"transition": {"id": "61"}}
        )
        assert refused.status_code == 400 and "resolution" in refused.json()["errors"]
        with state.lock:
            assert state.issues["ENG-2"].status == "To Do"
        done = client.post(
            "/rest/api/2/issue/ENG-2/transitions",
            json={"transition": {"id": "61"}, "fields": {"resolution": {"name": "Won't Do"}}},
        )
        assert done.status_code == 204, done.text
        shown = client.get("/rest/api/2/issue/ENG-2").json()["fields"]
        assert shown["status"]["name"] == "Done"
        assert shown["resolution"]["name"] == "Won't Do" and shown["resolutiondate"]


def test_cloud_resolves_on_done_and_shows_many_fields(jira_http: httpx.Client) -> None:
    shown = jira_http.get("/rest/api/3/issue/ENG-4").json()["fields"]
    assert shown["resolution"] is None
    assert len(shown) >= 40
    assert (
        jira_http.post(
            "/rest/api/3/issue/ENG-4/transitions", json={"transition": {"id": "31"}}
        ).status_code
        == 204
    )
    assert jira_http.get("/rest/api/3/issue/ENG-4").json()["fields"]["resolution"]["name"] == "Done"
    assert (
        jira_http.post(
            "/rest/api/3/issue/ENG-4/transitions", json={"transition": {"id": "41"}}
        ).status_code
        == 204
    )
    assert jira_http.get("/rest/api/3/issue/ENG-4").json()["fields"]["resolution"] is None


def test_create_meta_and_the_project_picker(
    jira_http: httpx.Client, lenient_http: httpx.Client
) -> None:
    meta = jira_http.get("/rest/api/3/issue/createmeta/ENG/issuetypes").json()
    assert meta["total"] == 5 and "Epic" in {t["name"] for t in meta["issueTypes"]}
    missing = jira_http.get("/rest/api/3/issue/createmeta/NOPE/issuetypes")
    assert missing.status_code == 400 and "NOPE" in missing.json()["errorMessages"][0]
    # The picker is Data Center's (not in the Cloud spec the contract hooks check).
    picked = lenient_http.get("/rest/api/2/projects/picker", params={"query": "eng"}).json()
    assert [p["key"] for p in picked["projects"]] == ["ENG"] and picked["total"] == 1


def test_bulk_changelogs_page_by_token_and_only_on_cloud(
    jira_http: httpx.Client, datacenter: tuple[str, SandboxState]
) -> None:
    """`POST /changelog/bulkfetch` (what mcp-atlassian's batch changelogs call on Cloud):
    checked against Atlassian's schema by the contract hook; pages by `nextPageToken`."""
    for target in ("In Progress", "In Review"):  # two changes on ENG-2
        moves = jira_http.get("/rest/api/3/issue/ENG-2/transitions").json()["transitions"]
        (move,) = [t for t in moves if t["to"]["name"] == target]
        jira_http.post(
            "/rest/api/3/issue/ENG-2/transitions", json={"transition": {"id": move["id"]}}
        )
    first = jira_http.post(
        "/rest/api/3/changelog/bulkfetch",
        json={"issueIdsOrKeys": ["ENG-2", "NOPE-1"], "maxResults": 1},
    )
    assert first.status_code == 200, first.text
    (log,) = first.json()["issueChangeLogs"]
    assert len(log["changeHistories"]) == 1
    token = first.json()["nextPageToken"]
    rest = jira_http.post(
        "/rest/api/3/changelog/bulkfetch",
        json={"issueIdsOrKeys": ["ENG-2"], "maxResults": 10, "nextPageToken": token},
    ).json()
    assert "nextPageToken" not in rest
    assert [len(x["changeHistories"]) for x in rest["issueChangeLogs"]] == [1]
    for bad in ({"issueIdsOrKeys": []}, {"issueIdsOrKeys": ["ENG-2"], "expand": "x"}):
        assert jira_http.post("/rest/api/3/changelog/bulkfetch", json=bad).status_code == 400
    url, _ = datacenter
    with _dc(url) as dc:
        answer = dc.post("/rest/api/2/changelog/bulkfetch", json={"issueIdsOrKeys": ["ENG-2"]})
        assert answer.status_code == 404


@pytest.mark.parametrize("v", VERSIONS)
def test_the_paged_version_list_filters_sorts_and_pages(jira_http: httpx.Client, v: str) -> None:
    """`GET /project/{key}/version` (contract-checked as `PageBeanVersion`)."""
    path = f"/rest/api/{v}/project/ENG/version"
    page = jira_http.get(path, params={"orderBy": "-name"}).json()
    assert [x["name"] for x in page["values"]] == ["1.1", "1.0"] and page["isLast"]
    released = jira_http.get(path, params={"status": "released"}).json()
    assert [x["name"] for x in released["values"]] == ["1.0"]
    found = jira_http.get(path, params={"query": "CHECK", "maxResults": 1}).json()
    assert [x["name"] for x in found["values"]] == ["1.1"] and found["total"] == 1
    assert jira_http.get(path, params={"status": "gone"}).json()["values"] == []
    assert jira_http.get(f"/rest/api/{v}/project/NOPE/version").status_code == 404


def test_the_paged_component_list_is_clouds(
    jira_http: httpx.Client, datacenter: tuple[str, SandboxState]
) -> None:
    """`GET /project/{key}/component` (Cloud's `PageBeanComponentWithIssueCount`); Data
    Center has only the plain `/components` list."""
    page = jira_http.get("/rest/api/3/project/ENG/component", params={"maxResults": 1}).json()
    assert [c["name"] for c in page["values"]] == ["Accounts"] and page["total"] == 2
    found = jira_http.get("/rest/api/3/project/ENG/component", params={"query": "cart"}).json()
    assert [(c["name"], c["issueCount"]) for c in found["values"]] == [("Checkout", 2)]
    with _dc(datacenter[0]) as dc:
        assert dc.get("/rest/api/2/project/ENG/component").status_code == 404


@pytest.mark.parametrize("v", VERSIONS)
def test_the_deprecated_create_meta_lists_types_and_their_fields(
    jira_http: httpx.Client, v: str
) -> None:
    """`GET /issue/createmeta?projectKeys=` (`IssueCreateMetadata`): keys repeated or
    comma-separated, types by name, fields only with `expand=projects.issuetypes.fields`."""
    path = f"/rest/api/{v}/issue/createmeta"
    both = jira_http.get(path, params={"projectKeys": "ENG,OPS"}).json()["projects"]
    assert [p["key"] for p in both] == ["ENG", "OPS"]
    assert "fields" not in both[0]["issuetypes"][0]
    query = {"projectKeys": "ENG", "issuetypeNames": "Bug", "expand": "projects.issuetypes.fields"}
    (project,) = jira_http.get(path, params=query).json()["projects"]
    (bug,) = project["issuetypes"]
    assert bug["name"] == "Bug" and bug["fields"]["summary"]["required"] is True
    assert jira_http.get(path, params={"projectKeys": "NOPE"}).json() == {"projects": []}
