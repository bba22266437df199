"""YAML with line numbers: parse a document and remember where every value was written.

PyYAML's `safe_load` forgets positions and silently keeps the last of two duplicate keys;
both would make policy errors hard to find. Here the document is built straight from the
parser's event stream, duplicate keys are reported, and a `Lines` map answers "which line
holds rules[3].route_to".

*Why events and not `yaml.compose`:* a composed node tree keeps a node and two marks for
every scalar, about five times the size of the data itself; for a 10,000-rule set that tree
was most of the service's peak memory. Events are consumed one at a time and dropped, so
only the data and the line map are ever held. The values are the ones `yaml.safe_load`
gives: scalars are resolved and constructed by PyYAML's own Resolver and SafeConstructor,
anchors and aliases share one object, and `<<` merge keys follow SafeLoader's rules.

*Why limits:* an alias costs a few bytes of text but stands for the whole node it names, so
416 bytes of nested aliases (a "billion laughs") describe a billion nodes, and every later
stage (line map, JSON Schema, model) walks them all. The builder counts as it goes, the way
the later stages will see the document: a node counts once, an alias the full size of what
it names, and a line recorded for an enclosing anchor or merge once more per anchor. It stops
with a `YamlLimitError` (a line and the limit) the moment a `YamlLimits` bound is crossed,
before the expansion is allocated. `read_limited` checks a file's size before reading it.
"""

from __future__ import annotations

import math
import os
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from jiragate.errors import YamlLimitError

PathKey = tuple[str | int, ...]

# libyaml's parser, when PyYAML was built with it, is several times faster on big policy
# sets and gives the same events and line marks; the pure-Python one is the fallback.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"  # the YAML 1.1 `=` key, which SafeLoader reads as text


MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """Bounds on one YAML document; each is well above what a real policy set needs (the
    10,000-rule benchmark set is one 1.9 MB file of about 110,000 nodes, 6 levels deep)."""

    #: Largest file, in bytes; checked before the file is read.
    max_file_bytes: int = 4 * MiB
    #: Most aliases (`*name`) in one document.
    max_aliases: int = 1_000
    #: Most nodes once aliases are expanded (see the module docstring for how they count).
    max_nodes: int = 500_000
    #: Deepest nesting of mappings and sequences, aliases expanded.
    max_depth: int = 64
    #: Longest scalar (key or value), in characters.
    max_scalar_chars: int = 64 * 1024


DEFAULT_LIMITS: YamlLimits = YamlLimits()


def read_limited(path: Path, max_bytes: int) -> bytes:
    """A file's bytes, refused (YamlLimitError) when larger than `max_bytes`: the size is
    checked before reading, and at most one byte more is read, so neither a huge file nor
    one that grows while it is read is ever held whole. OSError passes through."""
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > max_bytes:
            raise YamlLimitError(None, too_big(size, max_bytes))
        content = handle.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise YamlLimitError(None, too_big(None, max_bytes))
    return content


def too_big(size: int | None, max_bytes: int) -> str:
    actual = f"{size:,} bytes" if size is not None else "it grew while being read"
    return f"file too large ({actual}; the limit is {max_bytes:,} bytes)"


@dataclass(slots=True)
class Lines:
    """1-based line numbers by path; a path not recorded falls back to its nearest parent."""

    by_path: dict[PathKey, int] = field(default_factory=dict)

    def line(self, path: Sequence[str | int]) -> int | None:
        key = tuple(path)
        while True:
            if key in self.by_path:
                return self.by_path[key]
            if not key:
                return None
            key = key[:-1]


def format_path(path: Sequence[str | int]) -> str:
    """`("rules", 3, "route_to")` -> `rules[3].route_to`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True, slots=True)
class YamlProblem:
    line: int | None
    path: PathKey
    message: str


def parse(text: str, limits: YamlLimits = DEFAULT_LIMITS) -> tuple[Any, Lines, list[YamlProblem]]:
    """Parse one YAML document. Raises yaml.YAMLError on syntax errors (with a mark) and
    YamlLimitError when the document crosses one of `limits`."""
    document = parse_document(text, limits)
    return document.data, document.lines, document.problems


@dataclass(frozen=True, slots=True)
class Document:
    data: Any
    lines: Lines
    problems: list[YamlProblem]
    #: Whether a NaN or an infinity was constructed anywhere (`.nan`, `.inf`, `1e999`): the
    #: policy loader then looks for where, and otherwise skips that walk of the document.
    has_non_finite: bool


def parse_document(text: str, limits: YamlLimits = DEFAULT_LIMITS) -> Document:
    """`parse`, with what the builder noticed on the way."""
    loader = _Loader(text)
    try:
        builder = _Builder(loader, limits)
        data, lines, problems = builder.build()
        return Document(data, lines, problems, builder.non_finite)
    finally:
        loader.dispose()


# --------------------------------------------------------------------------- the builder

# What a mapping does with the value that follows the key it has just read.
_KEEP = 0  # store it under the key
_DROP = 1  # read and forget it (its key was a duplicate or not text)
_MERGE = 2  # merge it: the key was `<<`
_AS_KEY = 3  # the value *is* a key (a mapping or sequence used as one: an error)
# The resolved-tag cache: scalars up to this long, this many per document.
_TAG_CACHE_TEXT = 64
_TAG_CACHE_SIZE = 4096
# Scalars whose constructed values are immutable, so one object may stand for every
# occurrence of the same text (as `1` or `true` already do in Python).
_IMMUTABLE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool", "null")
)
_NOT_CACHED = object()
# node names, as PyYAML's merge errors say them
_NODE_IDS: dict[type, str] = {dict: "mapping", list: "sequence"}


@dataclass(slots=True)
class _Recorder:
    """Collects the lines written under one node, relative to it: an anchored node's lines
    are repeated under every alias to it, a merged mapping's under the mapping it joins."""

    depth: int
    entries: list[tuple[PathKey, int]] = field(default_factory=list)


@dataclass(slots=True)
class _Origin:
    """A complete value as a later alias or merge needs it: the value, where its node began,
    its lines relative to it, and (for a sequence) where each item began."""

    value: Any = None
    mark: Any = None
    lines: list[tuple[PathKey, int]] = field(default_factory=list)
    item_marks: list[Any] | None = None
    tag: str | None = None  # a scalar's resolved tag: an anchored `<<` key is still a merge
    done: bool = False  # False while its own node is being read (an alias then is a cycle)
    height: int = 0  # how many levels of mappings and sequences it holds, aliases expanded


@dataclass(slots=True)
class _Frame:
    """A mapping or sequence being read."""

    path: PathKey
    value: dict[Any, Any] | list[Any]
    mark: Any
    shadow: bool  # its lines go only to recorders, not to the document's map
    report: bool  # its problems are reported (not inside values that are dropped)
    on_done: int  # what the parent does with the finished value
    anchor: _Origin | None = None
    recorder: _Recorder | None = None
    item_marks: list[Any] | None = None  # kept when a recorder listens (merges need them)
    # a key that is a mapping or sequence: its lines are nobody's, so outer recorders wait
    outer_recorders: list[_Recorder] | None = None
    # a mapping's state: the key whose value comes next, and the `<<` sources seen so far
    expecting_key: bool = True
    key: str = ""
    key_line: int = 0
    key_mode: int = _KEEP
    merges: list[tuple[dict[Any, Any], list[tuple[PathKey, int]]]] | None = None
    height: int = 1  # levels below and including this one, for the depth limit


class _Builder:
    """Builds one document's data and line map from the parser's events, one at a time."""

    def __init__(self, loader: Any, limits: YamlLimits) -> None:
        self.loader = loader
        self.limits = limits
        self.work = 0  # nodes and recorded lines so far, aliases expanded (max_nodes)
        self.aliases = 0
        self.mark: Any = None  # where the event being read starts, for limit errors
        self.lines = Lines()
        self.problems: list[YamlProblem] = []
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Origin] = {}
        self.recorders: list[_Recorder] = []
        self.tags: dict[tuple[str, Any], str] = {}  # resolved tags of short plain scalars
        self.constants: dict[tuple[str, str], Any] = {}  # short numbers, booleans, nulls
        self.non_finite = False  # a NaN or infinity was constructed

    def build(self) -> tuple[Any, Lines, list[YamlProblem]]:
        get_event = self.loader.get_event
        get_event()  # STREAM-START
        if isinstance(get_event(), yaml.StreamEndEvent):  # else DOCUMENT-START
            return None, self.lines, self.problems
        event = get_event()
        root_mark = event.start_mark
        finished, data = self.feed(event)
        fast_scalar = self.fast_scalar
        while not finished:
            event = get_event()
            if type(event) is yaml.ScalarEvent and fast_scalar(event):
                continue
            finished, data = self.feed(event)
        get_event()  # DOCUMENT-END
        event = get_event()
        if not isinstance(event, yaml.StreamEndEvent):
            raise ComposerError(
                "expected a single document in the stream",
                root_mark,
                "but found another document",
                event.start_mark,
            )
        return data, self.lines, self.problems

    # ----------------------------------------------------------------- events

    def fast_scalar(self, event: Any) -> bool:
        """Take the common scalar (a plain or quoted text key, or any value, no anchor or tag,
        outside anchors and merges) straight into its parent; False for anything else, which
        `feed` then takes (having changed nothing it does not redo: the mark, the length
        check). Does exactly what `feed` would,
        in the same order (so errors and limits strike at the same event), without its
        general bookkeeping: most of a policy file's events are such scalars."""
        if event.anchor is not None or event.tag is not None or self.recorders or not self.stack:
            return False
        parent = self.stack[-1]
        value = parent.value
        self.mark = event.start_mark
        self.check_scalar(event)
        if type(value) is dict:
            if parent.expecting_key:
                key = event.value
                if self.resolved_tag(event) != _STR_TAG or key in value:
                    return False  # a merge, a non-text key, a duplicate: `feed` reports
                parent.expecting_key = False
                parent.key_line = event.start_mark.line + 1
                parent.key, parent.key_mode = key, _KEEP
                return True
            if parent.key_mode != _KEEP:
                return False
            path: PathKey = (*parent.path, parent.key)
            line = parent.key_line
        else:
            path = (*parent.path, len(value))
            line = event.start_mark.line + 1
        tag = self.resolved_tag(event)
        item = event.value if tag == _STR_TAG else self.scalar(event, tag)
        self.work += 1
        if self.work > self.limits.max_nodes:
            self.spend(0)  # reports the limit
        if not parent.shadow:
            self.lines.by_path[path] = line
        if isinstance(value, list):
            value.append(item)
        else:
            parent.expecting_key = True
            value[parent.key] = item
        return True

    def feed(self, event: Any) -> tuple[bool, Any]:
        """Take one event; (True, the document's value) once the root node is complete."""
        kind = type(event)
        if kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            return self.close()
        self.mark = event.start_mark
        if kind is yaml.ScalarEvent:
            self.check_scalar(event)
        parent = self.stack[-1] if self.stack else None
        if parent is not None and parent.expecting_key and isinstance(parent.value, dict):
            self.read_key(parent, event)
            return False, None
        path, line, shadow, report, on_done = self.place(parent, event.start_mark)
        if kind is yaml.ScalarEvent:
            tag = self.resolved_tag(event)
            origin = _Origin(self.scalar(event, tag), event.start_mark, tag=tag, done=True)
            if event.anchor is not None:
                self.define(event.anchor, origin)
            self.spend(1)
            self.record(path, line, shadow)
            return self.attach(parent, origin, on_done)
        if kind is yaml.AliasEvent:
            origin = self.alias(event)
            if len(self.stack) + origin.height > self.limits.max_depth:
                self.too_deep()
            # Paid for in full before a single line of the expansion is copied.
            self.spend(1 + len(origin.lines))
            self.record(path, line, shadow)
            for relative, relative_line in origin.lines:
                self.record((*path, *relative), relative_line, shadow)
            return self.attach(parent, origin, on_done)
        if len(self.stack) >= self.limits.max_depth:
            self.too_deep()
        self.spend(1)
        self.record(path, line, shadow)
        self.open(event, path, shadow, report, on_done)
        return False, None

    def place(self, parent: _Frame | None, mark: Any) -> tuple[PathKey, int, bool, bool, int]:
        """Where a value starting at `mark` goes: its path, the line recorded for it (a
        mapping value's is its key's), whether it is shadowed or reported, and what its
        parent will do with it."""
        if parent is None:
            return (), mark.line + 1, False, True, _KEEP
        if isinstance(parent.value, list):
            if parent.item_marks is not None:
                parent.item_marks.append(mark)
            path = (*parent.path, len(parent.value))
            return path, mark.line + 1, parent.shadow, parent.report, _KEEP
        mode = parent.key_mode
        path = (*parent.path, "<<" if mode == _MERGE else parent.key)
        shadow = parent.shadow or mode != _KEEP
        return path, parent.key_line, shadow, parent.report and mode != _DROP, mode

    def open(self, event: Any, path: PathKey, shadow: bool, report: bool, on_done: int) -> None:
        """A mapping or sequence starts."""
        value: dict[Any, Any] | list[Any] = {} if type(event) is yaml.MappingStartEvent else []
        frame = _Frame(path, value, event.start_mark, shadow, report, on_done)
        if event.anchor is not None:
            frame.anchor = self.define(event.anchor, _Origin(mark=event.start_mark))
        if frame.anchor is not None or on_done == _MERGE:
            frame.recorder = _Recorder(len(path))
            self.recorders.append(frame.recorder)
        if self.recorders and isinstance(value, list):
            frame.item_marks = []
        self.stack.append(frame)

    def close(self) -> tuple[bool, Any]:
        frame = self.stack.pop()
        value = self.merged(frame) if frame.merges else frame.value
        lines: list[tuple[PathKey, int]] = []
        if frame.recorder is not None:
            self.recorders.remove(frame.recorder)
            lines = frame.recorder.entries
        if frame.outer_recorders is not None:
            self.recorders = frame.outer_recorders
        origin = frame.anchor or _Origin(mark=frame.mark)
        origin.value, origin.lines, origin.item_marks = value, lines, frame.item_marks
        origin.done, origin.height = True, frame.height
        return self.attach(self.stack[-1] if self.stack else None, origin, frame.on_done)

    def attach(self, parent: _Frame | None, origin: _Origin, mode: int) -> tuple[bool, Any]:
        """Hand a complete value to its parent (or return it: the document's root)."""
        if parent is None:
            return True, origin.value
        parent.height = max(parent.height, origin.height + 1)
        if isinstance(parent.value, list):
            parent.value.append(origin.value)
        elif mode == _AS_KEY:
            parent.key_mode = _DROP  # reported when it started; its value is dropped too
        else:
            parent.expecting_key = True
            if mode == _KEEP:
                parent.value[parent.key] = origin.value
            elif mode == _MERGE:
                self.add_merge(parent, origin)
        return False, None

    # ----------------------------------------------------------------- keys

    def read_key(self, frame: _Frame, event: Any) -> None:
        frame.expecting_key = False
        frame.key_line = line = event.start_mark.line + 1
        kind = type(event)
        if kind is yaml.ScalarEvent:
            tag = self.resolved_tag(event)
            # SafeLoader reads `=` as text when it is a key (and only then)
            key = event.value if tag in (_VALUE_TAG, _MERGE_TAG) else self.scalar(event, tag)
            if event.anchor is not None:
                self.define(event.anchor, _Origin(key, event.start_mark, tag=tag, done=True))
        elif kind is yaml.AliasEvent:
            origin = self.alias(event)
            key, tag = origin.value, origin.tag or ""
        else:
            # A mapping or sequence as a key: report it, then read it (anchors inside it may
            # be used later) and drop it with its value.
            self.problem(frame, line, frame.path, "mapping keys must be text")
            if len(self.stack) >= self.limits.max_depth:
                self.too_deep()
            self.spend(1)
            outer_recorders, self.recorders = self.recorders, []
            self.open(event, frame.path, True, False, _AS_KEY)
            self.stack[-1].outer_recorders = outer_recorders
            return
        if tag == _MERGE_TAG:
            frame.key_mode = _MERGE
        elif not isinstance(key, str | int | float | bool):
            self.problem(frame, line, frame.path, "mapping keys must be text")
            frame.key_mode = _DROP
        elif (key := str(key)) in frame.value:
            if frame.report:
                first = self.first_line((*frame.path, key), frame.shadow)
                message = f"duplicate key {key!r} (first written on line {first})"
                self.problem(frame, line, (*frame.path, key), message)
            frame.key_mode = _DROP
        else:
            frame.key, frame.key_mode = key, _KEEP

    def first_line(self, path: PathKey, shadow: bool) -> int | str:
        if not shadow:
            return self.lines.by_path.get(path, "?")
        recorder = self.recorders[-1]  # a shadowed mapping is always inside a recorder
        relative = path[recorder.depth :]
        return next((line for rel, line in recorder.entries if rel == relative), "?")

    # ----------------------------------------------------------------- merge keys

    def add_merge(self, frame: _Frame, origin: _Origin) -> None:
        """A `<<` value: a mapping, or a list of mappings of which the earlier win (as in
        SafeLoader's flatten_mapping); keys written in the mapping itself win over all."""
        if frame.merges is None:
            frame.merges = []
        value = origin.value
        if isinstance(value, dict):
            frame.merges.append((value, origin.lines))
            return
        if not isinstance(value, list):
            raise ConstructorError(
                "while constructing a mapping",
                frame.mark,
                "expected a mapping or list of mappings for merging, but found scalar",
                origin.mark,
            )
        marks = origin.item_marks or []
        sources = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise ConstructorError(
                    "while constructing a mapping",
                    frame.mark,
                    "expected a mapping for merging, but found "
                    + _NODE_IDS.get(type(item), "scalar"),
                    marks[index] if index < len(marks) else origin.mark,
                )
            item_lines = [(r[1:], line) for r, line in origin.lines if len(r) > 1 and r[0] == index]
            sources.append((item, item_lines))
        frame.merges.extend(reversed(sources))

    def merged(self, frame: _Frame) -> dict[Any, Any]:
        """The mapping's value with its `<<` sources under it; also records their lines."""
        assert frame.merges is not None and isinstance(frame.value, dict)
        explicit = frame.value
        result: dict[Any, Any] = {}
        source_of: dict[Any, int] = {}  # key -> the source whose value it takes
        for number, (source, _) in enumerate(frame.merges):
            for key, value in source.items():
                result[key] = value
                source_of[key] = number
        for number, (_, source_lines) in enumerate(frame.merges):
            self.spend(len(source_lines))
            for relative, line in source_lines:
                key = relative[0]
                if source_of.get(key) == number and key not in explicit:
                    self.record((*frame.path, *relative), line, frame.shadow)
        result.update(explicit)
        return result

    # ----------------------------------------------------------------- scalars, anchors

    def resolved_tag(self, event: Any) -> str:
        tag = event.tag
        if tag is None or tag == "!":
            # The resolver is a function of the text and its style; a policy repeats a few
            # hundred short scalars (keys, decisions, numbers) tens of thousands of times.
            key = (event.value, event.implicit)
            cached = self.tags.get(key)
            if cached is not None:
                return cached
            tag = str(self.loader.resolve(yaml.ScalarNode, event.value, event.implicit))
            if len(event.value) <= _TAG_CACHE_TEXT and len(self.tags) < _TAG_CACHE_SIZE:
                self.tags[key] = tag
        return str(tag)

    def scalar(self, event: Any, tag: str) -> Any:
        """The value SafeLoader constructs for a scalar event with this (resolved) tag."""
        if tag == _STR_TAG:
            return event.value
        key = (tag, event.value)
        if tag in _IMMUTABLE_TAGS:
            cached = self.constants.get(key, _NOT_CACHED)
            if cached is not _NOT_CACHED:
                return cached
        value = self.construct(event, tag)
        short = len(event.value) <= _TAG_CACHE_TEXT
        if tag in _IMMUTABLE_TAGS and short and len(self.constants) < _TAG_CACHE_SIZE:
            self.constants[key] = value
        return value

    def construct(self, event: Any, tag: str) -> Any:
        constructors = self.loader.yaml_constructors
        construct = constructors.get(tag) or constructors[None]  # None: "no constructor"
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        value = construct(self.loader, node)
        if isinstance(value, types.GeneratorType):  # e.g. `!!map x`, which then raises
            generator, value = value, next(value)
            for _ in generator:
                pass
        if isinstance(value, float) and not math.isfinite(value):
            self.non_finite = True  # every float of the data is constructed here (once)
        return value

    def define(self, name: str, origin: _Origin) -> _Origin:
        if name in self.anchors:
            raise ComposerError(
                f"found duplicate anchor {name!r}; first occurrence",
                self.anchors[name].mark,
                "second occurrence",
                origin.mark,
            )
        self.anchors[name] = origin
        return origin

    def alias(self, event: Any) -> _Origin:
        self.aliases += 1
        if self.aliases > self.limits.max_aliases:
            self.exceeded(f"more than {self.limits.max_aliases:,} aliases")
        origin = self.anchors.get(event.anchor)
        if origin is None:
            message = f"found undefined alias {event.anchor!r}"
            raise ComposerError(None, None, message, event.start_mark)
        if not origin.done:
            message = "found an alias inside the node it names (a cycle)"
            raise ConstructorError(None, None, message, event.start_mark)
        return origin

    # ----------------------------------------------------------------- limits

    def spend(self, nodes: int) -> None:
        """Count `nodes` more, once for the document and once for every anchor or merge
        recording them (each keeps its own copy of their lines)."""
        self.work += nodes * (1 + len(self.recorders))
        if self.work > self.limits.max_nodes:
            self.exceeded(
                f"more than {self.limits.max_nodes:,} nodes once aliases are expanded "
                "(an alias counts every node of what it names)"
            )

    def check_scalar(self, event: Any) -> None:
        if len(event.value) > self.limits.max_scalar_chars:
            self.exceeded(
                f"a scalar of {len(event.value):,} characters "
                f"(more than {self.limits.max_scalar_chars:,})"
            )

    def too_deep(self) -> None:
        self.exceeded(f"nested more than {self.limits.max_depth} levels deep")

    def exceeded(self, what: str) -> None:
        line = self.mark.line + 1 if self.mark is not None else None
        raise YamlLimitError(line, f"YAML limit exceeded: {what}")

    # ----------------------------------------------------------------- lines and problems

    def record(self, path: PathKey, line: int, shadow: bool) -> None:
        if not shadow:
            self.lines.by_path[path] = line
        for recorder in self.recorders:
            recorder.entries.append((path[recorder.depth :], line))

    def problem(self, frame: _Frame, line: int, path: PathKey, message: str) -> None:
        if frame.report:
            self.problems.append(YamlProblem(line, path, message))


# --------------------------------------------------------------------------- syntax errors


def describe_syntax_error(exc: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """The line and message for a YAML syntax error: PyYAML's problem, then the likely fix.

    PyYAML says what it tripped over ("mapping values are not allowed in this context"), not
    what the author did; the hint names the usual cause (a tab, an unquoted ': ' in a value,
    a line indented off its siblings, an unclosed quote) and how to write it instead."""
    mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", None) or exc)
    lines = text.splitlines()
    line = mark.line + 1 if mark is not None else None
    column = mark.column if mark is not None else 0
    hint: str | None = None
    tab_line = next(
        (n for n, t in enumerate(lines, 1) if "\t" in t[: len(t) - len(t.lstrip())]), None
    )
    if tab_line is not None and ("tab" in problem or tab_line == line):
        line = tab_line
        hint = "indent with spaces: YAML does not allow tabs in indentation"
    elif "mapping values are not allowed" in problem and line is not None:
        hint = _mapping_value_hint(lines[line - 1] if line <= len(lines) else "", column)
    elif "expected '-' indicator" in problem or "expected <block end>" in problem:
        hint = (
            "check the indentation: keys of one mapping must start in the same column, and "
            "each list item starts with '- ' in the same column as the others"
        )
    elif "could not find expected ':'" in problem:
        if context_mark is not None:
            line = context_mark.line + 1
        hint = "write each key as 'key: value', with a colon and a space after the key"
    elif "end of stream" in problem and "quoted" in str(getattr(exc, "context", "")):
        if context_mark is not None:
            line = context_mark.line + 1
        hint = "a quoted string is not closed: end it with the same quote it starts with"
    elif "expected ',' or '}'" in problem or "expected ',' or ']'" in problem:
        if context_mark is not None:
            line = context_mark.line + 1
        hint = "a {…} or […] is not closed, or two of its entries lack the ', ' between them"
    elif "cannot start any token" in problem and line is not None and line <= len(lines):
        char = lines[line - 1][column : column + 1]
        hint = f'a value starting with {char!r} must be quoted, e.g. "{char}…"'
    elif "undefined alias" in problem:
        hint = "'*' starts a YAML alias; quote the value if you mean a literal '*'"
    message = f"YAML syntax error: {problem}"
    return line, message if hint is None else f"{message}. Hint: {hint}"


def _mapping_value_hint(line_text: str, column: int) -> str:
    before = line_text[:column]
    content = line_text.strip()
    item = "- " if content.startswith("- ") else ""  # a list item's first key
    key, colon, value = content.removeprefix(item).partition(": ")
    if ": " in before and colon and not key.startswith(("{", "[")):
        quoted = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'a value that contains ": " must be quoted: {item}{key}: "{quoted}"'
    return (
        "this line is indented deeper than the key above it: keys of one mapping must "
        "start in the same column"
    )
