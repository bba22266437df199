"""jiragate.jql: the strict JQL parser that keeps a search inside its project.

What it must guarantee: anything it accepts is re-serialised so that the query sent to Jira
is `project = "KEY" AND (<the same condition>)` at the top level, whatever quotes, escapes,
parentheses or keywords the agent's text holds; anything else is refused with a position.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiragate import jql
from jiragate.errors import InvalidJQLError

# --------------------------------------------------------------------------- accepted


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("status = Done", 'status = "Done"'),
        ("Status=Done AND labels  !=  'a b'", 'status = "Done" AND labels != "a b"'),
        ("priority = 1", "priority = 1"),  # a bare integer stays a number
        ('priority = "1"', 'priority = "1"'),  # a quoted one stays a name
        ("a = 1 OR b = 2 AND c = 3", "a = 1 OR (b = 2 AND c = 3)"),  # precedence made plain
        ("(a = 1 OR b = 2) AND c = 3", "(a = 1 OR b = 2) AND c = 3"),
        ("((a = 1))", "a = 1"),
        ("NOT (a = 1 AND b = 2)", "NOT (a = 1 AND b = 2)"),
        ("not not a = 1", "NOT NOT a = 1"),
        ("status in (Done, 'In Review', EMPTY)", 'status IN ("Done", "In Review", EMPTY)'),
        ("status not in (Done)", 'status NOT IN ("Done")'),
        ("assignee is empty", "assignee IS EMPTY"),
        ("assignee is not null", "assignee IS NOT EMPTY"),
        ("assignee = currentuser()", "assignee = currentUser()"),
        ("sprint in openSprints()", "sprint IN openSprints()"),
        ("created >= startOfDay(-1d)", 'created >= startOfDay("-1d")'),
        ("assignee in membersOf('jira devs')", 'assignee IN membersOf("jira devs")'),
        ('summary ~ "order by"', 'summary ~ "order by"'),
        ("summary !~ crash", 'summary !~ "crash"'),
        ('"Story Points" > 3', '"Story Points" > 3'),
        ("cf[10016] <= 5", "cf[10016] <= 5"),
        ("labels = café", 'labels = "café"'),
        ("ORDER BY created desc, key", "ORDER BY created DESC, key"),
        ("status = Done order by key ASC", 'status = "Done" ORDER BY key ASC'),
        # escapes are decoded, and written back in one spelling
        (r'labels = "sec\u0072et"', 'labels = "secret"'),
        (r"labels = 'it\'s'", """labels = "it's\""""),
        (r'summary ~ "a\"b\\c"', r'summary ~ "a\"b\\c"'),
        (r'summary ~ "line\nbreak\ttab"', r'summary ~ "line\nbreak\ttab"'),
        (r'labels = "nul\u0000"', r'labels = "nul\u0000"'),
        # newlines and tabs between tokens are white space
        ("status = Done\n\tOR\r\npriority = Low", 'status = "Done" OR priority = "Low"'),
        ("  ", ""),
    ],
)
def test_accepted_jql_is_serialised_canonically(text: str, canonical: str) -> None:
    assert jql.canonical(text, None) == canonical
    assert jql.canonical(canonical, None) == canonical  # the canonical form is a fixed point


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("status = Done", 'project = "ENG" AND (status = "Done")'),
        ("a = 1 OR b = 2", 'project = "ENG" AND (a = 1 OR b = 2)'),
        ("project = eng OR labels = x", 'project = "ENG" AND (project = "ENG" OR labels = "x")'),
        ("project in (ENG, 'eng')", 'project = "ENG" AND (project IN ("ENG", "ENG"))'),
        ("project != ENG", 'project = "ENG" AND (project != "ENG")'),
        ("key in (eng-1, ENG-2)", 'project = "ENG" AND (key IN ("ENG-1", "ENG-2"))'),
        ("parent is EMPTY", 'project = "ENG" AND (parent IS EMPTY)'),
        ("issue in watchedIssues()", 'project = "ENG" AND (issue IN watchedIssues())'),
        (
            "fixVersion in unreleasedVersions(eng)",
            'project = "ENG" AND (fixversion IN unreleasedVersions("ENG"))',
        ),
        ("ORDER BY rank", 'project = "ENG" ORDER BY rank'),
        (
            'summary ~ "x\\") OR (project = OPS"',
            'project = "ENG" AND (summary ~ "x\\") OR (project = OPS")',
        ),
    ],
)
def test_the_query_sent_to_jira_is_restricted_at_the_top(text: str, sent: str) -> None:
    assert jql.for_jira(text, "ENG") == sent


def test_a_search_without_a_project_key_is_sent_unrestricted_but_canonical() -> None:
    assert jql.for_jira("assignee = currentUser()", None) == "assignee = currentUser()"


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize(
    ("text", "position", "says"),
    [
        # the issue's reproducer: the agent closes the parenthesis
        ('status = "To Do") OR (project = OPS', 16, "expected AND, OR or ORDER BY"),
        ("status = Done OR project = OPS", 27, "restricted to project ENG"),
        ("status = Done OR project=OPS", 25, "restricted to project ENG"),
        ("project in (ENG, OPS)", 17, "restricted to project ENG"),
        ("project = Operations", 10, "by its key"),  # a project's name
        ("project = 10001", 10, "by its key"),  # a project's id
        ('"project" = OPS', 12, "restricted to project ENG"),
        ('" Project " = OPS', 14, "restricted to project ENG"),
        ("PROJECT = OPS", 10, "restricted to project ENG"),
        ("key = OPS-1", 6, "of project OPS"),
        ("issuekey = ops-1", 11, "of project OPS"),
        ("issue in (ENG-1, OPS-1)", 17, "of project OPS"),
        ("id = 10042", 5, "not an issue key"),
        ("parent = OPS-1", 9, "of project OPS"),
        ('"Epic Link" = OPS-1', 14, "of project OPS"),
        ("fixVersion in releasedVersions(OPS)", 31, "restricted to project ENG"),
        ("filter = 10000", 0, "saved filter"),
        ("savedFilter = 'Everything'", 0, "saved filter"),
        ("Request = 10000", 0, "saved filter"),
        ("issueFunction in (x)", 0, "saved filter"),
        ("issueFunction in linkedIssuesOf('project = OPS')", 17, "not supported by Jiragate"),
        ("issue in linkedIssues(OPS-1)", 9, "not supported by Jiragate"),
        ("status = Done || project = OPS", 14, "write AND or OR"),
        ("status = Done && labels = x", 14, "write AND or OR"),
        ("!(status = Done)", 0, "write NOT"),
        ("status = “To Do”", 13, "expected AND, OR or ORDER BY"),
        ('status = "To Do', 9, "never closed"),
        ('status = "To Do\\" OR project = OPS', 9, "never closed"),
        ('labels = "a\\qb"', 11, "unknown escape"),
        ('labels = "two\nlines"', 13, "raw control character"),
        ("status = Done -- ) OR (project = OPS", 14, "expected AND, OR or ORDER BY"),
        ("status = Done /* ) OR (project = OPS */", 14, "reserved character"),
        ("status = Done ORDER BY key) OR (project = OPS", 26, "',' or the end"),
        ("status = Done ORDER BY key, (project = OPS)", 28, "a field to sort by"),
        ("status = Done ORDER BY key project = OPS", 27, "',' or the end"),
        ("status was Done", 7, "history searches"),
        ("status changed", 7, "history searches"),
        ("status = Done AND", 17, "a field name"),
        ("status in ()", 11, "a value"),
        ("status in Done", 10, "'(' list or a function"),
        ("status = and", 9, "JQL keyword"),
        ("assignee is Bob", 12, "EMPTY or NULL"),
        ("summary ~ currentUser()", 10, "takes a text"),
        ("created > EMPTY", 10, "cannot compare"),
        ("membersOf() = x", 9, "expected an operator"),
        ("assignee in membersOf()", 12, "takes 1 argument"),
        ("assignee = currentUser(bob)", 11, "takes 0 argument"),
        ("labels = a\x00b", 10, "control character"),
        ("issue.property[x].y = 1", 14, "reserved character"),
        ("(" * 40 + "a = 1" + ")" * 40, 32, "nested deeper"),
        ("NOT " * 40 + "a = 1", 128, "nested deeper"),
    ],
)
def test_refused_jql_names_the_position(text: str, position: int, says: str) -> None:
    with pytest.raises(InvalidJQLError) as caught:
        jql.canonical(text, "ENG")
    assert caught.value.position == position, str(caught.value)
    assert says in caught.value.reason
    assert str(caught.value).startswith(f"JQL position {position}: ")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("project = ENG", "set details.projectKey"),
        ("key = ENG-1", "set details.projectKey to ENG"),
        ("fixVersion in releasedVersions(ENG)", "set details.projectKey"),
    ],
)
def test_without_a_project_key_naming_a_project_is_refused(text: str, says: str) -> None:
    with pytest.raises(InvalidJQLError, match=says):
        jql.canonical(text, None)


# --------------------------------------------------------------------------- properties

_LITERALS = st.builds(
    jql.Literal, st.text(alphabet=string.printable + "é“”\u2028\x00", max_size=12)
) | st.builds(lambda n: jql.Literal(str(n), number=True), st.integers(-5, 10**6))
_FUNCTIONS = st.sampled_from(
    [
        jql.Function("currentUser"),
        jql.Function("openSprints"),
        jql.Function("startOfDay", (jql.Literal("-1d"),)),
        jql.Function("membersOf", (jql.Literal('dev"s'),)),
    ]
)
_FIELDS = st.sampled_from(
    [
        jql.Field("status"),
        jql.Field("labels"),
        jql.Field("cf[10016]"),
        jql.Field("Story Points", quoted=True),
        jql.Field("and", quoted=True),
        jql.Field('we"ird) OR (x', quoted=True),
    ]
)


@st.composite
def clauses(draw: st.DrawFn) -> jql.Clause:
    name = draw(_FIELDS)
    operator = draw(st.sampled_from(["=", "!=", "<", ">=", "~", "!~", "IN", "NOT IN", "IS"]))
    if operator == "IS":
        return jql.Clause(name, operator, (jql.Empty(),))
    if operator in {"~", "!~"}:
        return jql.Clause(name, operator, (draw(_LITERALS),))
    if operator in {"IN", "NOT IN"}:
        values = draw(st.lists(_LITERALS | _FUNCTIONS | st.just(jql.Empty()), min_size=1))
        return jql.Clause(name, operator, tuple(values), listed=True)
    return jql.Clause(name, operator, (draw(_LITERALS | _FUNCTIONS),))


def _normal(terms: list[jql.Expression], kind: type[jql.And] | type[jql.Or]) -> jql.Expression:
    # The parser flattens `a AND b AND c` into one node: build trees the same way.
    return kind(tuple(terms)) if len(terms) > 1 else terms[0]


expressions = st.recursive(
    clauses(),
    lambda inner: st.one_of(
        st.builds(jql.Not, inner),
        st.lists(inner, min_size=2, max_size=3).map(lambda t: _normal(t, jql.And)),
        st.lists(inner, min_size=2, max_size=3).map(lambda t: _normal(t, jql.Or)),
    ),
    max_leaves=8,
)
orders = st.lists(
    st.builds(jql.SortKey, _FIELDS, st.sampled_from([None, "ASC", "DESC"])), max_size=2
).map(tuple)
queries = st.builds(jql.Query, st.none() | expressions, orders)


@settings(max_examples=200, deadline=None)
@given(queries)
def test_a_serialised_tree_parses_back_to_the_same_tree(query: jql.Query) -> None:
    text = jql.serialise(query)
    assert jql.parse(text) == query, text


@settings(max_examples=200, deadline=None)
@given(queries)
def test_the_restriction_is_always_the_top_level_conjunct(query: jql.Query) -> None:
    """Whatever the condition holds, Jira reads `project = "ENG" AND (condition)`."""
    sent = jql.parse(jql.restricted(query, "ENG"))
    restriction = jql.Clause(jql.Field("project"), "=", (jql.Literal("ENG"),))
    expected = restriction if query.where is None else jql.And((restriction, query.where))
    assert sent == jql.Query(expected, query.order)


_ATTACK = st.sampled_from(
    [
        "status = Done",
        ") OR (",
        " OR project = OPS",
        "project = OPS",
        'labels = "',
        "'",
        '\\"',
        "ORDER BY key",
        "key = OPS-1",
        "filter = 1",
        "NOT ",
        "(",
        ")",
        ",",
        "“",
        "\n",
        "\u2028",
        "in (ENG, OPS)",
        " AND ",
        "\\u0022",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ATTACK, max_size=8).map("".join) | st.text(max_size=60))
def test_any_text_is_either_refused_cleanly_or_provably_inside_the_project(text: str) -> None:
    try:
        sent = jql.for_jira(text, "ENG")
    except InvalidJQLError as exc:
        assert 0 <= exc.position <= len(text)
        return
    tree = jql.parse(sent)
    assert tree.where is not None
    restriction = jql.Clause(jql.Field("project"), "=", (jql.Literal("ENG"),))
    assert tree.where == restriction or (
        isinstance(tree.where, jql.And) and tree.where.terms[0] == restriction
    )
    # No clause anywhere in what is sent names another project or another project's issue.
    for clause in jql.clauses(tree.where):
        if clause.field.folded in jql.PROJECT_FIELDS:
            assert all(getattr(value, "text", "ENG") == "ENG" for value in clause.operands)
        if clause.field.folded in jql.ISSUE_FIELDS:
            for value in clause.operands:
                if isinstance(value, jql.Literal):
                    assert value.text.startswith("ENG-")
    assert jql.canonical(jql.canonical(text, "ENG"), "ENG") == jql.canonical(text, "ENG")
