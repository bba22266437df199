"""A strict JQL parser, so a search can be proven to stay inside its project.

`jira_search` restricts an agent's JQL to `details.projectKey` (the `project` fact policies
see). Gluing the agent's text into `project = ENG AND (...)` is not a restriction: the text
can close the parenthesis (`x) OR (project = OPS`), hide an ORDER BY, or name other projects.
So the gate parses the JQL into a tree, refuses what it cannot parse or prove, and sends a
query *serialised from the tree*:

    project = "ENG" AND (<the agent's condition, re-serialised>) ORDER BY <its sort keys>

Every value is re-emitted as a double-quoted string with JQL's own escapes (integers stay
bare, EMPTY/NULL stay keywords), so nothing inside a value can be read by Jira as syntax.

The accepted subset (keywords and field names are case-insensitive):

    query    := [or] [ORDER BY sort ("," sort)*]
    or       := and (OR and)*
    and      := unary (AND unary)*
    unary    := NOT unary | "(" or ")" | clause
    clause   := field ("=" | "!=" | "<" | "<=" | ">" | ">=") value
              | field ("~" | "!~") literal
              | field (IN | NOT IN) ("(" value ("," value)* ")" | function)
              | field IS [NOT] (EMPTY | NULL)
    value    := literal | EMPTY | NULL | function
    literal  := "double" or 'single' quoted string | bare word | integer
    function := name "(" [literal ("," literal)*] ")"      (the FUNCTIONS table only)
    field    := bare word | quoted name | cf[12345]
    sort     := field [ASC | DESC]

Quoted strings take Jira's escapes (\\" \\' \\\\ \\t \\n \\r \\<space> \\uXXXX) and may not
hold raw control characters; bare words may not hold Jira's reserved characters. Refused,
with the position: history operators (WAS, CHANGED), `&&`/`||`/`!`, saved-filter and
ScriptRunner clauses (`filter`, `savedFilter`, `searchRequest`, `request`, `issueFunction`:
they run JQL the gate cannot see), functions outside the table, nesting deeper than
`MAX_DEPTH`, and any clause naming another project: a `project` clause may only name the
action's project by key, issue clauses (`key`, `issue`, `issuekey`, `id`, `parent`,
`"Epic Link"`, `"Parent Link"`) only that project's issue keys, version functions only
that project. Without a projectKey, a JQL that names any project or issue is refused: the
agent must say which project the search is about.

Pure: no I/O, no imports beyond the error tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache

from jiragate.errors import InvalidJQLError

MAX_DEPTH = 32

_WHITESPACE = frozenset(" \t\n\r\f")
# Jira's reserved characters end a bare word; outside a quoted string they are refused.
_RESERVED = frozenset("+,;?*%^$#@[]{}<>=~!()|&/\\")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "'": "'", "\\": "\\", " ": " "}
_KEYWORDS = frozenset(
    {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "was", "changed"}
)
_NUMBER = re.compile(r"-?[0-9]+")
_CUSTOM_FIELD = re.compile(r"cf\[([0-9]+)\]", re.IGNORECASE)
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_ISSUE_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_]*)-([0-9]+)")

PROJECT_FIELDS = frozenset({"project"})
ISSUE_FIELDS = frozenset({"key", "issuekey", "issue", "id", "parent", "epic link", "parent link"})
REFUSED_FIELDS = frozenset({"filter", "savedfilter", "searchrequest", "request", "issuefunction"})


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str  # Jira's spelling
    max_args: int = 0
    min_args: int = 0
    project_args: bool = False  # the arguments name projects


FUNCTIONS = {
    spec.name.lower(): spec
    for spec in (
        FunctionSpec("currentUser"),
        FunctionSpec("currentLogin"),
        FunctionSpec("lastLogin"),
        FunctionSpec("membersOf", min_args=1, max_args=1),
        FunctionSpec("openSprints"),
        FunctionSpec("closedSprints"),
        FunctionSpec("futureSprints"),
        FunctionSpec("now"),
        *(
            FunctionSpec(f"{edge}Of{unit}", max_args=1)
            for edge in ("start", "end")
            for unit in ("Day", "Week", "Month", "Year")
        ),
        FunctionSpec("releasedVersions", max_args=1, project_args=True),
        FunctionSpec("unreleasedVersions", max_args=1, project_args=True),
        FunctionSpec("latestReleasedVersion", max_args=1, project_args=True),
        FunctionSpec("earliestUnreleasedVersion", max_args=1, project_args=True),
        FunctionSpec("issueHistory"),
        FunctionSpec("watchedIssues"),
        FunctionSpec("votedIssues"),
    )
}


# --------------------------------------------------------------------------- the tree
# Positions are where a node starts in the agent's text; they are left out of equality so
# a re-serialised query parses back to an equal tree.


@dataclass(frozen=True, slots=True)
class Literal:
    text: str
    number: bool = False  # a bare integer: Jira reads it as a number, not a name
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Empty:
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    args: tuple[Literal, ...] = ()
    position: int = field(default=0, compare=False)


Operand = Literal | Empty | Function


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # bare names lower-cased; cf[N]; a quoted name as written
    quoted: bool = False
    position: int = field(default=0, compare=False)

    @property
    def folded(self) -> str:
        """The name as Jira matches it: case and runs of white space do not count."""
        return " ".join(self.name.split()).casefold()


@dataclass(frozen=True, slots=True)
class Clause:
    field: Field
    operator: str  # upper-case: = != ~ !~ < <= > >= IN NOT IN IS IS NOT
    operands: tuple[Operand, ...]  # one, except for an IN list
    listed: bool = False  # the operands were written as a "(...)" list


@dataclass(frozen=True, slots=True)
class Not:
    inner: Expression


@dataclass(frozen=True, slots=True)
class And:
    terms: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Or:
    terms: tuple[Expression, ...]


Expression = Clause | Not | And | Or


@dataclass(frozen=True, slots=True)
class SortKey:
    field: Field
    direction: str | None = None  # ASC | DESC


@dataclass(frozen=True, slots=True)
class Query:
    where: Expression | None
    order: tuple[SortKey, ...] = ()


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # word | string | op | ( | ) | , | end
    text: str
    position: int

    @property
    def keyword(self) -> str | None:
        lowered = self.text.lower()
        return lowered if self.kind == "word" and lowered in _KEYWORDS else None

    def shown(self) -> str:
        return repr(self.text) if self.kind != "end" else "the end of the query"


def _fail(reason: str, position: int) -> InvalidJQLError:
    return InvalidJQLError(reason, position)


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or char in "\u2028\u2029"


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in _WHITESPACE:
            index += 1
        elif char in "\"'":
            token, index = _string(text, index)
            tokens.append(token)
        elif char in "(),":
            tokens.append(Token(char, char, index))
            index += 1
        elif char in "=<>!~":
            token, index = _operator(text, index)
            tokens.append(token)
        elif char in "&|":
            raise _fail(f"{char!r} is not JQL Jiragate accepts; write AND or OR", index)
        elif char in _RESERVED:
            raise _fail(f"the reserved character {char!r} must be inside a quoted string", index)
        elif _is_control(char):
            raise _fail(f"unexpected control character U+{ord(char):04X}", index)
        else:
            token, index = _word(text, index)
            tokens.append(token)
    tokens.append(Token("end", "", len(text)))
    return tokens


def _string(text: str, start: int) -> tuple[Token, int]:
    quote = text[start]
    out: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == quote:
            return Token("string", "".join(out), start), index + 1
        if char == "\\":
            decoded, index = _escape(text, index)
            out.append(decoded)
            continue
        if _is_control(char):
            raise _fail(
                f"raw control character U+{ord(char):04X} in a quoted string "
                "(write \\n, \\t, \\r or \\uXXXX)",
                index,
            )
        out.append(char)
        index += 1
    raise _fail(f"the string opened here with {quote} is never closed", start)


def _escape(text: str, index: int) -> tuple[str, int]:
    following = text[index + 1 : index + 2]
    if following in _ESCAPES:
        return _ESCAPES[following], index + 2
    if following == "u":
        digits = text[index + 2 : index + 6]
        if re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
            return chr(int(digits, 16)), index + 6
    raise _fail(
        "unknown escape in a quoted string (JQL knows \\\" \\' \\\\ \\t \\n \\r \\<space> "
        "and \\uXXXX)",
        index,
    )


def _operator(text: str, start: int) -> tuple[Token, int]:
    pair = text[start : start + 2]
    if pair in {"!=", "!~", "<=", ">="}:
        return Token("op", pair, start), start + 2
    char = text[start]
    if char == "!":
        raise _fail("'!' is not JQL Jiragate accepts; write NOT", start)
    return Token("op", char, start), start + 1


def _word(text: str, start: int) -> tuple[Token, int]:
    custom = _CUSTOM_FIELD.match(text, start)
    if custom:
        return Token("word", f"cf[{custom.group(1)}]", start), custom.end()
    index = start
    while index < len(text):
        char = text[index]
        if char in _WHITESPACE or char in _RESERVED or char in "\"'" or _is_control(char):
            break
        index += 1
    return Token("word", text[start:index], start), index


# --------------------------------------------------------------------------- the parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def at(self, *keywords: str) -> bool:
        return all(self.peek(i).keyword == word for i, word in enumerate(keywords))

    def at_punct(self, symbol: str) -> bool:
        return self.peek().kind == symbol

    def expect(self, symbol: str) -> Token:
        token = self.advance()
        if token.kind != symbol:
            raise _fail(f"expected {symbol!r} but got {token.shown()}", token.position)
        return token

    def nested(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _fail(f"nested deeper than {MAX_DEPTH} levels", position)

    # ------------------------------------------------------------------ grammar

    def query(self) -> Query:
        where = None
        if not self.at("order", "by") and self.peek().kind != "end":
            where = self.disjunction()
        order: tuple[SortKey, ...] = ()
        if self.at("order", "by"):
            self.index += 2
            order = self.sort_keys()
        end = self.peek()
        if end.kind != "end":
            wanted = "',' or the end of the query" if order else "AND, OR or ORDER BY"
            raise _fail(f"expected {wanted} but got {end.shown()}", end.position)
        return Query(where, order)

    def disjunction(self) -> Expression:
        terms = [self.conjunction()]
        while self.at("or"):
            self.advance()
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def conjunction(self) -> Expression:
        terms = [self.unary()]
        while self.at("and"):
            self.advance()
            terms.append(self.unary())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def unary(self) -> Expression:
        token = self.peek()
        if self.at("not"):
            self.advance()
            self.nested(token.position)
            inner = self.unary()
            self.depth -= 1
            return Not(inner)
        if self.at_punct("("):
            self.advance()
            self.nested(token.position)
            inner = self.disjunction()
            self.expect(")")
            self.depth -= 1
            return inner
        return self.clause()

    def field(self, what: str) -> Field:
        token = self.advance()
        if token.kind == "string":
            if not token.text.strip():
                raise _fail(f"expected {what} but got an empty name", token.position)
            return Field(token.text, quoted=True, position=token.position)
        if token.kind != "word" or token.keyword is not None:
            raise _fail(f"expected {what} but got {token.shown()}", token.position)
        return Field(token.text.lower(), position=token.position)

    def clause(self) -> Clause:
        name = self.field("a field name")
        operator = self.operator()
        if operator in {"IS", "IS NOT"}:
            token = self.advance()
            if token.keyword not in {"empty", "null"}:
                raise _fail(f"{operator} takes EMPTY or NULL, not {token.shown()}", token.position)
            return Clause(name, operator, (Empty(token.position),))
        if operator in {"IN", "NOT IN"}:
            if not self.at_punct("("):
                start = self.peek()
                value = self.operand()
                if not isinstance(value, Function):
                    raise _fail(
                        f"{operator} takes a '(' list or a function, not {start.shown()}",
                        start.position,
                    )
                return Clause(name, operator, (value,))
            self.advance()
            values = [self.operand()]
            while self.at_punct(","):
                self.advance()
                values.append(self.operand())
            self.expect(")")
            return Clause(name, operator, tuple(values), listed=True)
        start = self.peek()
        value = self.operand()
        if operator in {"~", "!~"} and not isinstance(value, Literal):
            raise _fail(f"{operator} takes a text, not {start.shown()}", start.position)
        if operator in {"<", "<=", ">", ">="} and isinstance(value, Empty):
            raise _fail(f"{operator} cannot compare with EMPTY", start.position)
        return Clause(name, operator, (value,))

    def operator(self) -> str:
        token = self.advance()
        if token.kind == "op":
            return token.text
        keyword = token.keyword
        if keyword == "in":
            return "IN"
        if keyword == "not" and self.at("in"):
            self.advance()
            return "NOT IN"
        if keyword == "is":
            if self.at("not"):
                self.advance()
                return "IS NOT"
            return "IS"
        if keyword in {"was", "changed"}:
            raise _fail(
                f"history searches ({token.text.upper()}) are not supported by Jiragate",
                token.position,
            )
        raise _fail(f"expected an operator but got {token.shown()}", token.position)

    def operand(self) -> Operand:
        token = self.advance()
        if token.kind == "string":
            return Literal(token.text, position=token.position)
        if token.kind != "word":
            raise _fail(f"expected a value but got {token.shown()}", token.position)
        if self.at_punct("("):
            return self.function(token)
        if token.keyword in {"empty", "null"}:
            return Empty(token.position)
        if token.keyword is not None:
            raise _fail(
                f"{token.text!r} is a JQL keyword; quote it to search for the word",
                token.position,
            )
        return Literal(token.text, bool(_NUMBER.fullmatch(token.text)), token.position)

    def function(self, token: Token) -> Function:
        spec = FUNCTIONS.get(token.text.lower())
        if spec is None:
            known = ", ".join(f"{s.name}()" for s in FUNCTIONS.values())
            raise _fail(
                f"the function {token.text}() is not supported by Jiragate (supported: {known})",
                token.position,
            )
        self.expect("(")
        args: list[Literal] = []
        if not self.at_punct(")"):
            args.append(self.argument())
            while self.at_punct(","):
                self.advance()
                args.append(self.argument())
        self.expect(")")
        if not spec.min_args <= len(args) <= spec.max_args:
            wanted = (
                str(spec.max_args)
                if spec.min_args == spec.max_args
                else f"{spec.min_args} to {spec.max_args}"
            )
            raise _fail(
                f"{spec.name}() takes {wanted} argument(s), not {len(args)}", token.position
            )
        return Function(spec.name, tuple(args), token.position)

    def argument(self) -> Literal:
        token = self.advance()
        if token.kind == "string":
            return Literal(token.text, position=token.position)
        if token.kind != "word" or token.keyword is not None:
            raise _fail(f"expected a function argument but got {token.shown()}", token.position)
        return Literal(token.text, bool(_NUMBER.fullmatch(token.text)), token.position)

    def sort_keys(self) -> tuple[SortKey, ...]:
        keys = []
        while True:
            name = self.field("a field to sort by")
            direction = None
            if self.peek().kind == "word" and self.peek().text.lower() in {"asc", "desc"}:
                direction = self.advance().text.upper()
            keys.append(SortKey(name, direction))
            if not self.at_punct(","):
                return tuple(keys)
            self.advance()


def parse(text: str) -> Query:
    """The tree of `text`, or InvalidJQLError naming the position of the first problem."""
    return _Parser(text).query()


# --------------------------------------------------------------------------- the project


def scope(query: Query, project_key: str | None) -> Query:
    """`query` if nothing in it names a project other than `project_key` (with project and
    issue keys upper-cased), else InvalidJQLError at the clause that does."""
    if query.where is None:
        return query
    return replace(query, where=_scoped(query.where, project_key))


def _scoped(node: Expression, project_key: str | None) -> Expression:
    if isinstance(node, Clause):
        return _scoped_clause(node, project_key)
    if isinstance(node, Not):
        return Not(_scoped(node.inner, project_key))
    terms = tuple(_scoped(term, project_key) for term in node.terms)
    return And(terms) if isinstance(node, And) else Or(terms)


def _scoped_clause(clause: Clause, project_key: str | None) -> Clause:
    name = clause.field.folded
    if name in REFUSED_FIELDS:
        raise _fail(
            f"{clause.field.name!r} clauses run JQL Jiragate cannot see (a saved filter or a "
            "script); write the conditions out instead",
            clause.field.position,
        )
    operands = tuple(_scoped_operand(clause, value, project_key) for value in clause.operands)
    return replace(clause, operands=operands)


def _scoped_operand(clause: Clause, value: Operand, project_key: str | None) -> Operand:
    name = clause.field.folded
    if isinstance(value, Function):
        if FUNCTIONS[value.name.lower()].project_args:
            args = tuple(_project_literal(arg, project_key, value.name) for arg in value.args)
            return replace(value, args=args)
        if name in PROJECT_FIELDS:
            raise _fail(
                f"{value.name}() cannot name a project here; name the project by its key",
                value.position,
            )
        return value
    if isinstance(value, Empty):
        return value
    if name in PROJECT_FIELDS:
        return _project_literal(value, project_key, clause.field.name)
    if name in ISSUE_FIELDS:
        return _issue_literal(value, project_key, clause.field.name)
    return value


def _project_literal(value: Literal, project_key: str | None, where: str) -> Literal:
    if project_key is None:
        raise _fail(
            f"{where} names the project {value.text!r}: set details.projectKey to the project "
            "the search is about (a search across projects names none)",
            value.position,
        )
    if value.number or value.text.casefold() != project_key.casefold():
        raise _fail(
            f"{where} names {value.text!r}, but this search is restricted to project "
            f"{project_key}: name only {project_key}, by its key",
            value.position,
        )
    return replace(value, text=project_key)


def _issue_literal(value: Literal, project_key: str | None, where: str) -> Literal:
    found = _ISSUE_KEY.fullmatch(value.text)
    if found is None or value.number:
        raise _fail(
            f"{where} value {value.text!r} is not an issue key: name issues by key (ENG-1) "
            "so Jiragate can see their project",
            value.position,
        )
    project = found.group(1).upper()
    if project_key is None:
        raise _fail(
            f"{where} names {value.text!r} of project {project}: set details.projectKey to "
            f"{project}",
            value.position,
        )
    if project != project_key:
        raise _fail(
            f"{where} names {value.text!r} of project {project}, but this search is "
            f"restricted to project {project_key}",
            value.position,
        )
    return replace(value, text=value.text.upper())


# --------------------------------------------------------------------------- serialising


def quote(text: str) -> str:
    """`text` as a double-quoted JQL string that Jira reads back as exactly `text`."""
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif _is_control(char):
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _field(name: Field) -> str:
    simple = _IDENTIFIER.fullmatch(name.name) or _CUSTOM_FIELD.fullmatch(name.name)
    if not name.quoted and simple and name.name not in _KEYWORDS:
        return name.name
    return quote(name.name)


def _literal(value: Literal) -> str:
    return value.text if value.number else quote(value.text)


def _operand(value: Operand) -> str:
    if isinstance(value, Empty):
        return "EMPTY"
    if isinstance(value, Function):
        return f"{value.name}({', '.join(_literal(arg) for arg in value.args)})"
    return _literal(value)


def _expression(node: Expression) -> str:
    if isinstance(node, Clause):
        operands = ", ".join(_operand(value) for value in node.operands)
        if node.listed:
            operands = f"({operands})"
        return f"{_field(node.field)} {node.operator} {operands}"
    if isinstance(node, Not):
        return f"NOT {_grouped(node.inner)}"
    joiner = " AND " if isinstance(node, And) else " OR "
    return joiner.join(_grouped(term) for term in node.terms)


def _grouped(node: Expression) -> str:
    text = _expression(node)
    return f"({text})" if isinstance(node, And | Or) else text


def _order(order: tuple[SortKey, ...]) -> str:
    keys = (_field(key.field) + (f" {key.direction}" if key.direction else "") for key in order)
    return " ORDER BY " + ", ".join(keys) if order else ""


def serialise(query: Query) -> str:
    """The canonical text of `query`: what policies see as `details.jql`."""
    where = _expression(query.where) if query.where is not None else ""
    return (where + _order(query.order)).strip()


def restricted(query: Query, project_key: str) -> str:
    """The JQL sent to Jira: `project = "KEY" AND (<where>) ORDER BY ...`."""
    text = f"project = {quote(project_key)}"
    if query.where is not None:
        text += f" AND ({_expression(query.where)})"
    return text + _order(query.order)


@lru_cache(maxsize=512)
def canonical(text: str, project_key: str | None) -> str:
    """`text` parsed, checked against `project_key` and serialised; InvalidJQLError if not."""
    return serialise(scope(parse(text), project_key))


def for_jira(text: str, project_key: str | None) -> str:
    """The query to send for a search of `text` about `project_key` (None: every project)."""
    query = scope(parse(text), project_key)
    return restricted(query, project_key) if project_key else serialise(query)


def clauses(node: Expression | None) -> Iterator[Clause]:
    """Every clause of an expression, left to right."""
    if node is None:
        return
    if isinstance(node, Clause):
        yield node
    elif isinstance(node, Not):
        yield from clauses(node.inner)
    else:
        for term in node.terms:
            yield from clauses(term)
