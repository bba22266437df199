"""GET /v1/actions for a reviewer in several groups: one query, full pages, stable cursors."""

from __future__ import annotations

import pytest

from tests.api.support import DB_KINDS, copy_policies, edit_group, envelope, service_on


@pytest.mark.parametrize("kind", DB_KINDS)
def test_a_reviewer_in_two_groups_pages_through_both(request, tmp_path, kind):
    policy_dir = copy_policies(tmp_path)
    edit_group(policy_dir, "project-managers", members=["pm-carol", "pm-dave", "lead-alice"])
    with service_on(request, kind, tmp_path, policy_dir=policy_dir) as service:
        ids = set()
        for n in range(3):  # engineering leads
            ids.add(
                service.agent.post(
                    "/v1/actions",
                    json=envelope(
                        "jira_transition_issues", issueKeys=[f"ENG-{n + 1}"], targetStatus="Done"
                    ),
                ).json()["id"]
            )
            # project managers
            ids.add(
                service.agent.post(
                    "/v1/actions",
                    json=envelope("jira_create_epic", projectKey="ENG", summary=f"Epic {n}"),
                ).json()["id"]
            )
        # an agent-only read (no group) must not appear
        service.agent.post("/v1/actions", json=envelope("jira_get_issue", issueKey="ENG-1"))

        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = service.client("lead-alice").get("/v1/actions", params=params).json()
            assert len(page["items"]) == 2 or page["next_cursor"] is None
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(ids)
        only_pm = service.client("pm-carol").get("/v1/actions").json()["items"]
        assert {item["review_group"] for item in only_pm} == {"project-managers"}
        assert len(only_pm) == 3
