"""Loading: every stage's errors name file, line and path; cross-references are checked."""

from __future__ import annotations

import pytest

from jiragate.errors import PolicyLoadError
from jiragate.policy.engine import load_policies
from jiragate.policy.loader import load_model, parse_duration
from tests.policy.conftest import GROUPS


def _errors(write_policies, **files) -> list[str]:
    with pytest.raises(PolicyLoadError) as caught:
        load_policies(write_policies(**files))
    return [str(issue) for issue in caught.value.issues]


def test_the_default_policy_loads(default_policy_dir):
    policies = load_policies(default_policy_dir)
    assert {"engineering-leads", "project-managers"} <= set(policies.groups)
    assert policies.revision.startswith("sha256:")
    assert len(policies.model.files) >= 2


def test_unknown_review_group_names_file_line_path_and_the_known_groups(write_policies):
    errors = _errors(
        write_policies,
        groups=GROUPS,
        jira="""\
        rules:
          - id: ok
            match: {kind: read}
            decision: allow
          - id: bad-route
            match:
              action: jira_create_epic
            decision: require_approval
            route_to: pm
        """,
    )
    assert len(errors) == 1
    assert errors[0].endswith(
        "jira.yaml:9 rules[1].route_to: unknown review group 'pm' (known: leads, pms)"
    )


def test_yaml_syntax_errors_have_a_line(write_policies):
    (error,) = _errors(write_policies, broken="rules:\n  - id: x\n    match: {kind: read\n")
    assert "broken.yaml:" in error and "YAML syntax error" in error


def test_duplicate_yaml_keys_are_errors(write_policies):
    errors = _errors(
        write_policies,
        groups=GROUPS,
        r="""\
        rules:
          - id: a
            match: {kind: read}
            decision: allow
            decision: deny
        """,
    )
    assert any("r.yaml:5 rules[0].decision: duplicate key 'decision'" in e for e in errors)


def test_schema_errors_are_friendly(write_policies):
    errors = _errors(
        write_policies,
        groups=GROUPS,
        r="""\
        rules:
          - id: a
            match: {kind: read}
            decision: permit
          - id: b
            match: {kind: read}
            decision: allow
            colour: blue
        """,
    )
    assert any(
        "r.yaml:4 rules[0].decision: 'permit' is not one of: allow, deny" in e for e in errors
    )
    assert any("r.yaml:5 rules[1]: unknown key(s) 'colour'" in e for e in errors)


def test_defaults_may_not_allow(write_policies):
    errors = _errors(write_policies, groups=GROUPS, d="defaults:\n  write: allow\n")
    assert any("defaults.write: 'allow' is not one of: require_approval, deny" in e for e in errors)


def test_duplicate_rule_ids_across_files_are_errors(write_policies):
    rule = "rules:\n  - id: same\n    match: {kind: read}\n    decision: allow\n"
    errors = _errors(write_policies, groups=GROUPS, a=rule, b=rule)
    assert any(
        "b.yaml:2 rules[0].id: duplicate rule id 'same' (first defined at" in e for e in errors
    )


def test_unknown_action_and_unknown_details_field(write_policies):
    errors = _errors(
        write_policies,
        groups=GROUPS,
        r="""\
        rules:
          - id: typo-action
            match: {action: jira_create_tikets}
            decision: deny
          - id: typo-field
            match:
              action: jira_create_tickets
              details.prioritty: High
            decision: deny
        """,
    )
    assert any(
        "rules[0].match.action: 'jira_create_tikets' is not a possible value" in e for e in errors
    )
    assert any(
        "rules[1].match.details.prioritty: unknown field 'details.prioritty' for "
        "jira_create_tickets (known details: issueCount" in e
        for e in errors
    )


def test_operators_must_fit_the_field_type(write_policies):
    errors = _errors(
        write_policies,
        groups=GROUPS,
        r="""\
        rules:
          - id: gt-on-text
            match:
              action: jira_create_tickets
              details.projectKey: {gt: 3}
            decision: deny
          - id: at-least-on-count
            match:
              count: {at_least: High}
            decision: deny
          - id: priority-as-number
            match:
              details.priority: 1
            decision: deny
          - id: number-as-text
            match:
              count: "ten"
            decision: deny
        """,
    )
    joined = "\n".join(errors)
    assert (
        "details.projectKey.gt: operator 'gt' does not apply to details.projectKey (a string)"
        in joined
    )
    assert "count.at_least: operator 'at_least' does not apply to count (a number)" in joined
    # Priority names are the site's (P1, Urgent, ...): only `check --site` knows them.
    assert "details.priority is text, but 1 is not (quote it)" in joined
    assert "count is a number, but 'ten' is not" in joined


def test_route_to_on_a_non_approval_rule_and_missing_routes(write_policies):
    errors = _errors(
        write_policies,
        groups=GROUPS,
        r="""\
        rules:
          - id: deny-with-route
            match: {action: jira_delete_issues}
            decision: deny
            route_to: leads
          - id: approval-without-route
            match: {action: jira_create_epic}
            decision: require_approval
        """,
    )
    joined = "\n".join(errors)
    assert "route_to only applies to require_approval rules, not deny" in joined
    assert "rule 'approval-without-route' requires approval but names no route_to" in joined


def test_every_error_is_reported_not_just_the_first(write_policies):
    errors = _errors(
        write_policies,
        groups=GROUPS,
        a="rules:\n  - id: a\n    match: {action: nope}\n    decision: deny\n",
        b="rules:\n  - id: b\n    match: {kind: read}\n    decision: maybe\n",
    )
    assert len(errors) == 2


def test_an_empty_directory_and_a_missing_path(tmp_path):
    with pytest.raises(PolicyLoadError, match=r"no \*\.yaml policy files"):
        load_policies(tmp_path)
    with pytest.raises(PolicyLoadError, match="no such policy file or directory"):
        load_policies(tmp_path / "missing")


def test_min_approvals_cannot_exceed_members(write_policies):
    errors = _errors(
        write_policies,
        g="""\
        review_groups:
          solo:
            description: One person
            members: [alice]
            min_approvals: 2
        """,
    )
    assert any(
        "min_approvals: needs 2 approvals but the group has 1 member(s)" in e for e in errors
    )


def test_revision_depends_on_content_not_on_directory(write_policies, tmp_path):
    rule = "rules:\n  - id: r\n    match: {kind: read}\n    decision: allow\n"
    first = load_policies(write_policies(groups=GROUPS, r=rule)).revision
    again = load_policies(write_policies(groups=GROUPS, r=rule)).revision
    changed = load_policies(write_policies(groups=GROUPS, r=rule + "    priority: 1\n")).revision
    assert first == again != changed


@pytest.mark.parametrize(
    ("text", "seconds"), [(90, 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("1d", 86400)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("literal", [".nan", ".inf", "-.inf", ".NaN"])
def test_a_non_finite_literal_is_refused_not_a_rule_that_never_matches(tmp_path, literal):
    """A deny rule `count: {gt: .nan}` would load and never match: fail open, silently."""
    (tmp_path / "rules.yaml").write_text(
        "rules:\n"
        "  - id: deny-huge-deletes\n"
        "    match:\n"
        "      action: jira_delete_issues\n"
        f"      count: {{gt: {literal}}}\n"
        "    decision: deny\n"
        "    reason: too many\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyLoadError) as caught:
        load_model(tmp_path)
    [issue] = caught.value.issues
    assert (issue.line, issue.path) == (5, "rules[0].match.count.gt")
    assert "not a finite number" in issue.message


def test_a_template_with_a_literal_service_desk_id_is_refused_naming_its_placeholders(
    write_policies,
):
    (error,) = _errors(
        write_policies,
        groups=GROUPS,
        jsm="""\
        rules:
          - id: desk-customers
            match:
              action: jira_rest_read
              details.template: /rest/servicedeskapi/servicedesk/1/customer
            decision: allow
        """,
    )
    assert "jsm.yaml:5 rules[0].match.details.template" in error
    assert "is not a path template the proxy produces" in error
    assert "{serviceDeskId}" in error
    load_policies(
        write_policies(
            groups=GROUPS,
            jsm="""\
            rules:
              - id: desk-customers
                match:
                  action: jira_rest_read
                  details.template: /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer
                decision: allow
            """,
        )
    )


def test_rules_on_attachment_templates_load(write_policies):
    """A rule may name the attachment routes the proxy scopes (docs/proxy.md, Attachments);
    a literal attachment id is refused like any other literal id."""
    load_policies(
        write_policies(
            groups=GROUPS,
            attachments="""\
            rules:
              - id: no-downloads
                match:
                  action: jira_rest_read
                  details.template:
                    in:
                      - /rest/api/{version}/attachment/content/{id}
                      - /rest/api/{version}/attachment/thumbnail/{id}
                      - /rest/api/{version}/attachment/{id}/expand/raw
                      - /rest/api/{version}/attachment/{id}
                      - /rest/api/{version}/attachment/meta
                decision: deny
                reason: Agents read attachments' metadata only.
            """,
        )
    )
    (error,) = _errors(
        write_policies,
        groups=GROUPS,
        attachments="""\
        rules:
          - id: one-file
            match:
              action: jira_rest_read
              details.template: /rest/api/{version}/attachment/content/10042
            decision: deny
            reason: Not this one.
        """,
    )
    assert "is not a path template the proxy produces" in error
