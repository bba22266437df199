"""atlassian-python-api (`atlassian.Jira`) against the sandbox. argv: base URL,
"cloud" | "server", a run tag. Prints one JSON line: call name -> "ok" or the error."""

from __future__ import annotations

import sys

from atlassian import Jira
from common import call, check, report

url, mode, tag = sys.argv[1], sys.argv[2], sys.argv[3]
cloud = mode == "cloud"
if cloud:
    jira = Jira(url=url, username="alice@example.com", password="api-token", cloud=True)
else:
    jira = Jira(url=url, token="personal-access-token", cloud=False)
BOB = {"accountId": "5b10a2844c20165700ede21b"} if cloud else {"name": "bob"}

call("myself", lambda: check(jira.myself()["displayName"] == "Alice Adams", "myself"))
call("projects", lambda: check({"ENG", "OPS"} <= {p["key"] for p in jira.projects()}, "list"))
call("project", lambda: check(jira.project("ENG")["key"] == "ENG", "project"))
call("versions", lambda: check(len(jira.get_project_versions("ENG")) >= 2, "versions"))
call("priorities", lambda: check(len(jira.get_all_priorities()) >= 3, "priorities"))
call("issue_types", lambda: check(len(jira.get_issue_types()) >= 3, "issue types"))
call("statuses", lambda: check(len(jira.get_all_statuses()) >= 3, "statuses"))
call("fields", lambda: check(len(jira.get_all_fields()) > 5, "fields"))
call("issue", lambda: check(jira.issue("ENG-2")["key"] == "ENG-2", "issue"))
call(
    "jql",
    lambda: check(len(jira.jql("project = ENG", limit=5)["issues"]) == 5, "jql"),
)
call(
    "transitions",
    lambda: check(len(jira.get_issue_transitions("ENG-2")) >= 1, "transitions"),
)
call("comments", lambda: check("comments" in jira.issue_get_comments("ENG-2"), "comments"))
call(
    "boards",
    lambda: check(len(jira.get_all_agile_boards(project_key="ENG")["values"]) == 1, "boards"),
)
call("board", lambda: check(jira.get_agile_board(1)["location"]["projectKey"] == "ENG", "board"))
call(
    "sprints",
    lambda: check(len(jira.get_all_sprints_from_board(1)["values"]) == 3, "sprints"),
)
call("sprint", lambda: check(jira.get_sprint(102)["originBoardId"] == 1, "sprint"))
call("link_types", lambda: check(len(jira.get_issue_link_types()) >= 1, "link types"))
call("watchers", lambda: jira.issue_get_watchers("ENG-2"))
call("worklogs", lambda: jira.issue_get_worklog("ENG-2"))

created = call(
    "create_issue",
    lambda: jira.create_issue(
        fields={
            "project": {"key": "ENG"},
            "summary": f"created by atlassian {tag}",
            "issuetype": {"name": "Task"},
            "labels": [tag],
        }
    ),
)
if created is not None:
    key = created["key"]
    call("add_comment", lambda: jira.issue_add_comment(key, f"comment {tag}"))
    call(
        "update_issue",
        lambda: jira.update_issue_field(key, {"summary": f"updated by atlassian {tag}"}),
    )
    call("transition", lambda: jira.set_issue_status_by_transition_id(key, 11))
    call(
        "assign",
        lambda: jira.assign_issue(key, BOB.get("accountId") if cloud else BOB["name"]),
    )
    call("add_to_sprint", lambda: jira.add_issues_to_sprint(102, [key]))
    call("add_worklog", lambda: jira.issue_worklog(key, "2024-05-02T09:00:00.000+0000", 3600))
report()
