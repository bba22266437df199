"""pycontribs `jira` against the sandbox. argv: base URL, "cloud" | "server", a run tag.

Prints one JSON line: call name -> "ok" or the error. Writes are checked by the test in the
sandbox's state; reads check their answers here."""

from __future__ import annotations

import sys

from common import call, check, report

from jira import JIRA

url, mode, tag = sys.argv[1], sys.argv[2], sys.argv[3]
cloud = mode == "cloud"
if cloud:
    jira = JIRA(server=url, basic_auth=("alice@example.com", "api-token"))
else:
    jira = JIRA(server=url, token_auth="personal-access-token")
BOB = "5b10a2844c20165700ede21b" if cloud else "bob"

call("myself", lambda: check(jira.myself()["displayName"] == "Alice Adams", "myself"))
call("server_info", lambda: check("version" in jira.server_info(), "no version"))
call("projects", lambda: check({"ENG", "OPS"} <= {p.key for p in jira.projects()}, "projects"))
call("project", lambda: check(jira.project("ENG").key == "ENG", "project"))
call("project_versions", lambda: check(len(jira.project_versions("ENG")) >= 2, "versions"))
call("priorities", lambda: check(len(jira.priorities()) >= 3, "priorities"))
call("issue_types", lambda: check(len(jira.issue_types()) >= 3, "issue types"))
call("statuses", lambda: check(len(jira.statuses()) >= 3, "statuses"))
call("fields", lambda: check(len(jira.fields()) > 5, "fields"))
call("issue", lambda: check(jira.issue("ENG-2").fields.summary != "", "issue"))
call(
    "issue_expand_names",
    lambda: check(
        jira.issue("ENG-2", expand="names").raw["names"]["summary"] == "Summary", "names"
    ),
)
call(
    "search_issues",
    lambda: check(len(jira.search_issues("project = ENG", maxResults=5)) == 5, "search"),
)
call("transitions", lambda: check(len(jira.transitions("ENG-2")) >= 1, "transitions"))
call("comments", lambda: jira.comments("ENG-2"))
call("boards", lambda: check(len(jira.boards(projectKeyOrID="ENG")) == 1, "boards"))
call("sprints", lambda: check(len(jira.sprints(1)) == 3, "sprints"))
call(
    "search_users",
    lambda: check(
        len(jira.search_users(query="bob") if cloud else jira.search_users(user="bob")) == 1,
        "users",
    ),
)
call("issue_link_types", lambda: check(len(jira.issue_link_types()) >= 1, "link types"))
call("watchers", lambda: jira.watchers("ENG-2"))
call("worklogs", lambda: jira.worklogs("ENG-2"))

created = call(
    "create_issue",
    lambda: jira.create_issue(
        project="ENG",
        summary=f"created by pycontribs {tag}",
        issuetype={"name": "Task"},
        description="from a real client",
        labels=[tag],
    ),
)
if created is not None:
    key = created.key
    call("add_comment", lambda: jira.add_comment(key, f"comment {tag}"))
    call("update_issue", lambda: created.update(summary=f"updated by pycontribs {tag}"))
    call("transition_issue", lambda: jira.transition_issue(key, "11"))
    call("assign_issue", lambda: jira.assign_issue(key, BOB))
    call("add_to_sprint", lambda: jira.add_issues_to_sprint(102, [key]))
    call("add_worklog", lambda: jira.add_worklog(key, timeSpent="1h 30m"))
    call("add_watcher", lambda: jira.add_watcher(key, BOB))
    call("create_issue_link", lambda: jira.create_issue_link("Blocks", key, "ENG-2"))
report()
