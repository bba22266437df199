"""Which catalog action does what each Jira tool of sooperset/mcp-atlassian (0.23.1) does.

A team replacing mcp-atlassian with Jiragate's MCP server (jiragate/mcp/: one tool per
catalog action) looks a tool up here to find the action its assistant now calls. The names
on the right are catalog actions, including the ones the issue-12 catalog work adds in
parallel (catalog/issue_actions.py, catalog/agile_actions.py); tests/clients/
test_mcp_atlassian_mapping.py starts mcp-atlassian, lists its Jira tools and checks every one
is declared here (or in `UNPLANNED`, with why) and maps to a registered action of the same
kind — a tool mcp-atlassian marks read-only maps to a read, any other to a write, so a
write never hides behind an auto-allowed read.

Only what the tool does decides the action, not its parameters: `jira_get_project_issues`
is a JQL search of one project (`jira_search` with `projectKey`), `jira_update_issue` is
`jira_update_fields`, singular tools map to the batch actions (`jira_transition_issue` ->
`jira_transition_issues` with one key).
"""

from __future__ import annotations

from types import MappingProxyType

#: mcp-atlassian tool -> the catalog action that does it.
MCP_ATLASSIAN_TOOLS: MappingProxyType[str, str] = MappingProxyType(
    {
        # reads: issues and search
        "jira_get_issue": "jira_get_issue",
        "jira_search": "jira_search",
        "jira_get_project_issues": "jira_search",
        "jira_get_issue_dates": "jira_get_issue",  # created/updated/due/resolved are fields
        "jira_get_transitions": "jira_get_transitions",
        "jira_batch_get_changelogs": "jira_get_changelogs",
        "jira_get_worklog": "jira_get_worklogs",
        "jira_get_issue_watchers": "jira_get_watchers",
        "jira_download_attachments": "jira_get_attachments",  # see PARTIAL
        "jira_get_issue_images": "jira_get_attachments",  # see PARTIAL
        "jira_get_project_epic_hierarchy": "jira_search",  # parent = EPIC-1 inside the project
        # reads: projects, boards, sprints
        "jira_get_all_projects": "jira_list_projects",
        "jira_search_projects": "jira_search_projects",
        "jira_get_project_versions": "jira_list_versions",
        "jira_get_project_components": "jira_list_components",
        "jira_get_agile_boards": "jira_list_boards",
        "jira_get_board_issues": "jira_get_board_issues",
        "jira_get_sprints_from_board": "jira_list_sprints",
        "jira_get_sprint_issues": "jira_get_sprint_issues",
        # reads: metadata and users
        "jira_search_fields": "jira_list_fields",
        "jira_get_field_options": "jira_get_field_options",
        "jira_get_project_issue_types": "jira_get_create_meta",
        "jira_get_create_fields": "jira_get_create_meta",
        "jira_get_project_fields": "jira_get_create_meta",
        "jira_get_link_types": "jira_list_link_types",
        "jira_get_user_profile": "jira_search_users",
        "jira_search_assignable_users": "jira_get_assignable_users",
        # writes: issues
        "jira_create_issue": "jira_create_ticket",
        "jira_batch_create_issues": "jira_create_tickets",
        "jira_update_issue": "jira_update_fields",
        "jira_assign_issue": "jira_assign_issues",
        "jira_transition_issue": "jira_transition_issues",
        "jira_move_issue": "jira_move_issue",
        "jira_delete_issue": "jira_delete_issues",
        "jira_add_comment": "jira_add_comment",
        "jira_edit_comment": "jira_edit_comment",
        "jira_add_worklog": "jira_add_worklog",
        "jira_add_watcher": "jira_add_watcher",
        "jira_remove_watcher": "jira_remove_watcher",
        "jira_create_issue_link": "jira_create_issue_link",
        "jira_remove_issue_link": "jira_remove_issue_link",
        "jira_create_remote_issue_link": "jira_create_remote_link",
        "jira_link_to_epic": "jira_link_to_epic",
        # writes: sprints and versions
        "jira_create_sprint": "jira_create_sprint",
        "jira_update_sprint": "jira_update_sprint",
        "jira_add_issues_to_sprint": "jira_move_to_sprint",
        "jira_move_issues_to_backlog": "jira_move_to_backlog",
        "jira_create_version": "jira_create_release",
        "jira_batch_create_versions": "jira_create_releases",
        "jira_update_version": "jira_update_release",
        # beside an issue's fields: forms, the development panel, cross-project links
        "jira_get_issue_proforma_forms": "jira_get_forms",  # see PARTIAL
        "jira_get_proforma_form_details": "jira_get_form",  # see PARTIAL
        "jira_update_proforma_form_answers": "jira_update_form_answers",  # see PARTIAL
        "jira_get_issue_development_info": "jira_get_development_info",
        "jira_get_issues_development_info": "jira_get_development_info",
        "jira_get_cross_project_dependencies": "jira_get_cross_project_links",
        # Jira Service Management (catalog/jsm_actions.py)
        "jira_get_service_desk_for_project": "jira_get_service_desk",
        "jira_get_service_desk_queues": "jira_list_queues",
        "jira_get_queue_issues": "jira_get_queue_issues",
        "jira_get_request_types": "jira_list_request_types",
        "jira_get_request_type_fields": "jira_get_request_type_fields",
        "jira_create_customer_request": "jira_create_customer_request",
        "jira_get_issue_sla": "jira_get_issue_sla",  # see PARTIAL
    }
)

#: Tools mapped to an action that does part of what they do, and what is missing.
PARTIAL: MappingProxyType[str, str] = MappingProxyType(
    {
        "jira_download_attachments": "the attachments' metadata only, not their content",
        "jira_get_issue_images": "the attachments' metadata only, not the images",
        "jira_get_user_profile": "a user found by name or e-mail text, not by a bare id",
        # Jiragate reads forms from the site (ProForma's issue properties); the Cloud Forms
        # REST API is on api.atlassian.com, which it never calls (jira/handlers/forms.py).
        "jira_get_issue_proforma_forms": "forms kept in issue properties, not the Forms service",
        "jira_get_proforma_form_details": "forms kept in issue properties, not the Forms service",
        "jira_update_proforma_form_answers": (
            "open forms only; questions linked to a Jira field are refused"
        ),
        # mcp-atlassian's tool computes metrics from the changelog (cycle and lead time, time
        # in status: mcp_atlassian/jira/sla.py); Jiragate reads the SLAs JSM itself records
        # (GET /rest/servicedeskapi/request/{key}/sla), and the changelog with
        # jira_get_changelogs. On Data Center that endpoint is experimental and absent from
        # older JSM versions and from sites without JSM: the action then fails naming it.
        "jira_get_issue_sla": (
            "JSM's recorded SLAs (goals, cycles, breaches), not metrics computed from the "
            "changelog; on Data Center only where JSM serves its experimental SLA endpoint"
        ),
    }
)

#: mcp-atlassian Jira tools no catalog action does, nor is planned to, and why: none since
#: the Jira Service Management actions (issue 12). A tool added here is a gap to plan
#: deliberately, not an oversight; the mapping test names them.
UNPLANNED: MappingProxyType[str, str] = MappingProxyType({})
