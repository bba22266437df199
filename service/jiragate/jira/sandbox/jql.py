"""A deliberately small JQL: what the sandbox understands it answers right, the rest is a 400.

Supported (case-insensitive keywords and field names):

    clause   := FIELD ("=" | "!=") VALUE
              | FIELD ("in" | "not in") "(" VALUE ("," VALUE)* ")"
              | FIELD "is" ["not"] ("EMPTY" | "null")
    query    := [expr] ["ORDER BY" FIELD [ASC|DESC] ("," FIELD [ASC|DESC])*]
    expr     := clause | "(" expr ")" | "NOT" expr | expr "AND" expr | expr "OR" expr

Fields: project, key (issuekey, id), parent, status, labels, sprint, assignee, priority,
issuetype (type). Values: bare words, numbers, "double" or 'single' quoted strings, and the
functions currentUser(), openSprints(), closedSprints(). Quoted strings take Jira's escapes
(\\" \\' \\\\ \\t \\n \\r \\<space> \\uXXXX); any other escape is an error, as in Jira.
A value that names no project, status, priority, issue type, user, sprint or issue is an error,
as in Jira ("The value 'X' does not exist for the field 'project'."). Like Jira, `!=` and
`not in` never match an issue whose field is empty.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from jiragate.jira.sandbox.state import (
    DC_PRIORITIES,
    PRIORITIES,
    STATUSES,
    Issue,
    SandboxState,
    User,
    find_issue_type,
    find_priority,
)


class JQLError(ValueError):
    """The query is not valid (or not supported here); the message is Jira-style."""


_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>!=|<=|>=|!~|=|~|<|>)
    | (?P<punct>[(),])
    | (?P<word>[^\s"'(),=!~<>]+)
    )""",
    re.VERBOSE,
)
_FIELD_ALIASES = {
    "project": "project",
    "key": "key",
    "issuekey": "key",
    "id": "key",
    "status": "status",
    "labels": "labels",
    "label": "labels",
    "sprint": "sprint",
    "assignee": "assignee",
    "priority": "priority",
    "issuetype": "issuetype",
    "type": "issuetype",
    "parent": "parent",
}
_ORDER_FIELDS = {
    "key",
    "issuekey",
    "id",
    "created",
    "updated",
    "priority",
    "status",
    "summary",
    "assignee",
    "issuetype",
    "type",
}
_FUNCTIONS = {"currentuser", "opensprints", "closedsprints"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # string | op | punct | word | end
    text: str
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Value:
    text: str
    function: str | None = None  # lower-case function name when the value is a call
    empty: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """A compiled query: `matches(issue)` and the ORDER BY keys."""

    matches: Callable[[Issue], bool]
    order: tuple[tuple[str, bool], ...]  # (field, descending)
    bounded: bool

    def run(self, issues: Iterable[Issue]) -> list[Issue]:
        found = [issue for issue in issues if self.matches(issue)]
        found.sort(key=lambda issue: issue.id)
        for name, descending in reversed(self.order):
            found.sort(key=functools.partial(_sort_key, field=name), reverse=descending)
        return found


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        found = _TOKEN.match(text, position)
        if not found:
            raise JQLError(f"Error in the JQL Query: unexpected character at position {position}.")
        position = found.end()
        kind = found.lastgroup or "word"
        raw = found.group(kind)
        if kind == "string":
            tokens.append(Token("string", _unescape(raw[1:-1], position), quoted=True))
        else:
            tokens.append(Token(kind, raw))
    tokens.append(Token("end", ""))
    return tokens


# Jira's escapes in quoted strings; any other backslash sequence is a parse error there.
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "'": "'", "\\": "\\", " ": " "}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)", re.DOTALL)


def _unescape(body: str, position: int) -> str:
    def decode(found: re.Match[str]) -> str:
        code = found.group(1)
        if code in _ESCAPES:
            return _ESCAPES[code]
        if len(code) == 5:
            return chr(int(code[1:], 16))
        raise JQLError(
            f"Error in the JQL Query: '\\{code}' is an illegal JQL escape sequence "
            f"(near position {position})."
        )

    return _ESCAPE.sub(decode, body)


class _Parser:
    def __init__(self, text: str, state: SandboxState, current_user: User | None) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.state = state
        self.current_user = current_user

    # ---------------------------------------------------------------- token helpers

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return all(
            self.peek(i).kind == "word" and self.peek(i).text.lower() == word
            for i, word in enumerate(words)
        )

    def expect_punct(self, symbol: str) -> None:
        token = self.advance()
        if token.kind != "punct" or token.text != symbol:
            found = token.text or "the end of the query"
            raise JQLError(f"Error in the JQL Query: Expecting '{symbol}' but got '{found}'.")

    # ---------------------------------------------------------------- grammar

    def parse(self) -> Query:
        matches: Callable[[Issue], bool] = lambda issue: True  # noqa: E731
        bounded = False
        if not self.at_keyword("order", "by") and self.peek().kind != "end":
            matches = self.expression()
            bounded = True
        order: list[tuple[str, bool]] = []
        if self.at_keyword("order", "by"):
            self.index += 2
            order = self.order_by()
        if self.peek().kind != "end":
            raise JQLError(
                f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got "
                f"'{self.peek().text}'."
            )
        return Query(matches, tuple(order), bounded)

    def expression(self) -> Callable[[Issue], bool]:
        terms = [self.conjunction()]
        while self.at_keyword("or"):
            self.advance()
            terms.append(self.conjunction())
        if len(terms) == 1:
            return terms[0]
        return lambda issue: any(term(issue) for term in terms)

    def conjunction(self) -> Callable[[Issue], bool]:
        terms = [self.unary()]
        while self.at_keyword("and"):
            self.advance()
            terms.append(self.unary())
        if len(terms) == 1:
            return terms[0]
        return lambda issue: all(term(issue) for term in terms)

    def unary(self) -> Callable[[Issue], bool]:
        if self.at_keyword("not"):
            self.advance()
            inner = self.unary()
            return lambda issue: not inner(issue)
        if self.peek().kind == "punct" and self.peek().text == "(":
            self.advance()
            inner = self.expression()
            self.expect_punct(")")
            return inner
        return self.clause()

    def clause(self) -> Callable[[Issue], bool]:
        token = self.advance()
        if token.kind not in {"word", "string"}:
            found = token.text or "the end of the query"
            raise JQLError(f"Error in the JQL Query: Expecting a field name but got '{found}'.")
        field = _FIELD_ALIASES.get(token.text.lower())
        if field is None:
            raise JQLError(
                f"Field '{token.text}' does not exist or this sandbox does not support it "
                f"(supported: {', '.join(sorted(set(_FIELD_ALIASES.values())))})."
            )
        operator = self.operator(token.text)
        if operator in {"is", "is not"}:
            value = self.advance()
            if value.kind != "word" or value.text.lower() not in {"empty", "null"}:
                raise JQLError(
                    f"Error in the JQL Query: the operator '{operator}' expects EMPTY or null."
                )
            empty = lambda issue: _is_empty(issue, field)  # noqa: E731
            return empty if operator == "is" else (lambda issue: not empty(issue))
        values = self.value_list() if operator in {"in", "not in"} else [self.value()]
        wanted = [self.resolve(field, value) for value in values]
        accepts_empty = any(w is None for w in wanted)
        concrete = {item for w in wanted if w is not None for item in w}

        def matches(issue: Issue) -> bool:
            current = _values_of(issue, field)
            if not current:
                return accepts_empty if operator in {"=", "in"} else False
            hit = bool(current & concrete)
            return hit if operator in {"=", "in"} else not hit

        return matches

    def operator(self, field: str) -> str:
        token = self.advance()
        if token.kind == "op":
            if token.text in {"=", "!="}:
                return token.text
            raise JQLError(
                f"The operator '{token.text}' is not supported by the sandbox for field '{field}'."
            )
        if token.kind == "word":
            lowered = token.text.lower()
            if lowered == "in":
                return "in"
            if lowered == "not" and self.at_keyword("in"):
                self.advance()
                return "not in"
            if lowered == "is":
                if self.at_keyword("not"):
                    self.advance()
                    return "is not"
                return "is"
            if lowered in {"was", "changed"}:
                raise JQLError(f"The operator '{token.text}' is not supported by the sandbox.")
        found = token.text or "the end of the query"
        raise JQLError(f"Error in the JQL Query: Expecting operator but got '{found}'.")

    def value_list(self) -> list[Value]:
        if not (self.peek().kind == "punct" and self.peek().text == "("):
            value = self.value()  # `in` also takes a list function: sprint in openSprints()
            if value.function is None:
                raise JQLError(f"Error in the JQL Query: Expecting '(' but got '{value.text}'.")
            return [value]
        self.expect_punct("(")
        values = [self.value()]
        while self.peek().kind == "punct" and self.peek().text == ",":
            self.advance()
            values.append(self.value())
        self.expect_punct(")")
        return values

    def value(self) -> Value:
        token = self.advance()
        if token.kind == "string":
            return Value(token.text)
        if token.kind != "word":
            found = token.text or "the end of the query"
            raise JQLError(f"Error in the JQL Query: Expecting a value but got '{found}'.")
        if self.peek().kind == "punct" and self.peek().text == "(":
            name = token.text.lower()
            if name not in _FUNCTIONS:
                raise JQLError(f"Unable to find JQL function '{token.text}()'.")
            self.advance()
            self.expect_punct(")")
            return Value(token.text, function=name)
        if token.text.lower() in {"empty", "null"}:
            return Value(token.text, empty=True)
        return Value(token.text)

    # ---------------------------------------------------------------- values

    def resolve(self, field: str, value: Value) -> set[Any] | None:
        """The set of stored values this JQL value stands for (None = "empty")."""
        if value.empty:
            return None
        if value.function is not None:
            return self.resolve_function(field, value)
        text = value.text
        missing = JQLError(f"The value '{text}' does not exist for the field '{field}'.")
        lowered = text.lower()
        if field == "project":
            project = self.state.find_project(text) or next(
                (p for p in self.state.projects.values() if p.name.lower() == lowered), None
            )
            if project is None:
                raise missing
            return {project.key}
        if field in {"key", "parent"}:
            issue = self.state.find_issue(text)
            if issue is None:
                raise JQLError(f"An issue with key '{text}' does not exist for field '{field}'.")
            return {issue.key}
        if field == "status":
            status = next((s for s in STATUSES if lowered in {s.name.lower(), s.id}), None)
            if status is None:
                raise missing
            return {status.name}
        if field == "priority":
            found = find_priority(text, self.state.site.priorities)
            if found is None:
                raise missing
            return {found.name}
        if field == "issuetype":
            kind = find_issue_type(text, self.state.site.issue_types)
            if kind is None:
                raise missing
            return {kind.name}
        if field == "labels":
            return {text}
        if field == "assignee":
            user = self.state.users.get(text) or self.state.user_by_login(text)
            if user is None:
                raise missing
            return {user.account_id}
        if field == "sprint":
            sprint = next(
                (
                    s
                    for s in self.state.sprints.values()
                    if text == str(s.id) or lowered == s.name.lower()
                ),
                None,
            )
            if sprint is None:
                raise missing
            return {sprint.id}
        raise JQLError(f"Field '{field}' is not supported.")  # pragma: no cover - aliases guard

    def resolve_function(self, field: str, value: Value) -> set[Any]:
        if value.function == "currentuser" and field == "assignee":
            if self.current_user is None:
                raise JQLError("currentUser() needs an authenticated user that Jira knows.")
            return {self.current_user.account_id}
        if value.function in {"opensprints", "closedsprints"} and field == "sprint":
            states = {"active", "future"} if value.function == "opensprints" else {"closed"}
            return {s.id for s in self.state.sprints.values() if s.state in states}
        raise JQLError(f"The function '{value.text}()' is not supported for the field '{field}'.")

    def order_by(self) -> list[tuple[str, bool]]:
        order: list[tuple[str, bool]] = []
        while True:
            token = self.advance()
            name = token.text.lower()
            if token.kind not in {"word", "string"} or name not in _ORDER_FIELDS:
                raise JQLError(
                    f"Not able to sort using field '{token.text}' in the sandbox "
                    f"(sortable: {', '.join(sorted(_ORDER_FIELDS))})."
                )
            descending = False
            if self.at_keyword("asc") or self.at_keyword("desc"):
                descending = self.advance().text.lower() == "desc"
            order.append((_FIELD_ALIASES.get(name, name), descending))
            if self.peek().kind == "punct" and self.peek().text == ",":
                self.advance()
                continue
            return order


def _values_of(issue: Issue, field: str) -> set[Any]:
    if field == "project":
        return {issue.project_key}
    if field == "key":
        return {issue.key}
    if field == "parent":
        return {issue.parent_key} if issue.parent_key else set()
    if field == "status":
        return {issue.status}
    if field == "priority":
        return {issue.priority}
    if field == "issuetype":
        return {issue.issue_type}
    if field == "labels":
        return set(issue.labels)
    if field == "assignee":
        return {issue.assignee} if issue.assignee else set()
    if field == "sprint":
        return {issue.sprint_id} if issue.sprint_id is not None else set()
    return set()  # pragma: no cover


def _is_empty(issue: Issue, field: str) -> bool:
    return not _values_of(issue, field)


_PRIORITY_RANK = {
    **{p.name: len(PRIORITIES) - i for i, p in enumerate(PRIORITIES)},
    **{p.name: len(DC_PRIORITIES) - i for i, p in enumerate(DC_PRIORITIES)},
}
_STATUS_RANK = {s.name: i for i, s in enumerate(STATUSES)}


def _sort_key(issue: Issue, field: str) -> tuple[Any, ...]:
    if field in {"key", "id"}:
        project, _, number = issue.key.partition("-")
        return (project, int(number))
    if field == "priority":
        return (_PRIORITY_RANK.get(issue.priority, 0),)
    if field == "status":
        return (_STATUS_RANK.get(issue.status, 0),)
    if field == "created":
        return (issue.created, issue.id)
    if field == "updated":
        return (issue.updated, issue.id)
    if field == "summary":
        return (issue.summary.lower(),)
    if field == "assignee":
        return (issue.assignee or "",)
    return (issue.issue_type,)


def compile_jql(text: str, state: SandboxState, current_user: User | None = None) -> Query:
    """Parse and resolve `text` against the state, or raise `JQLError`."""
    with state.lock:
        return _Parser(text, state, current_user).parse()
