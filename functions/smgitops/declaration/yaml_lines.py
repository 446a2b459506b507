"""YAML to plain Python values, with the line of every key and list item (no pydantic).

The YAML is read as libyaml events (the C parser, no recursion) and turned into plain
Python values by a small composer that remembers the line of every key and list item.
Doing it from events instead of ``yaml.safe_load`` lets the loader:

- reject duplicate keys (PyYAML keeps the last one silently);
- count what aliases expand to while composing, so a "billion laughs" file fails after a
  thousand nodes, in bounded time and memory, before anything walks the expanded tree;
- refuse nesting deeper than a declaration needs (PyYAML's C composer recurses in C);
- refuse tags other than the YAML core ones (no ``!!python/...``, no custom tags);
- keep mapping keys as written (``on:`` stays the key ``"on"``, not ``True``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

if TYPE_CHECKING:
    from collections.abc import Callable

MAX_ALIAS_NODES: Final = 1_000
"""Nodes that all aliases of one file may expand to, together."""
MAX_DEPTH: Final = 32
"""Nesting of mappings and lists; a declaration needs about six."""

FieldPath = tuple[str | int, ...]

_YAML = "tag:yaml.org,2002:"
_STR = _YAML + "str"
_MAP = _YAML + "map"
_SEQ = _YAML + "seq"
_TEXT_TAGS = frozenset({_YAML + "merge", _YAML + "value"})  # `<<` and `=` as values: text


class Fatal(Exception):
    """A problem after which the rest of the file cannot be read."""

    def __init__(self, line: int, message: str, path: FieldPath | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.path = path


class _NoKey:
    """Marker: the mapping waits for a key."""


class _Skip:
    """Marker: the value being read belongs to the duplicate key ``key`` and is dropped (what
    is found inside it is located under that key)."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


class _Merge:
    """Marker: the value being read is the source of a ``<<`` merge key."""


_NO_KEY: Final = _NoKey()
_MERGING: Final = _Merge()
_MERGE_KEY: Final = "<<"


class _Frame:
    """An open mapping or sequence while its events arrive."""

    __slots__ = ("anchor", "container", "key", "key_line", "keys", "line", "merges", "path", "size")

    def __init__(self, container: dict[str, Any] | list[Any], path: FieldPath, line: int) -> None:
        self.container = container
        self.path = path
        self.line = line
        self.anchor: str | None = None
        self.size = 1
        self.key: str | _NoKey | _Skip | _Merge = _NO_KEY
        self.key_line = 0
        self.keys: dict[str, int] = {}
        self.merges: list[tuple[Any, int]] = []


def _line(event: Any) -> int:
    """The line an event starts on (libyaml marks every event)."""
    return int(event.start_mark.line) + 1


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_YAML) :] if tag.startswith(_YAML) else tag


def _constructed(method: Callable[[SafeConstructor, ScalarNode], Any], value: str) -> Any:
    """``value`` as PyYAML's SafeConstructor ``method`` makes it (the methods read only the
    value). Called per scalar, not bound once at import, so each call is the code as it is."""
    return method(_CONSTRUCTOR, ScalarNode(_STR, value))


_CONSTRUCTOR: Final = SafeConstructor()
_SCALARS: Final[dict[str, Callable[[str], Any]]] = {
    _YAML + "null": lambda _value: None,
    _YAML + "bool": lambda value: SafeConstructor.bool_values[value.lower()],
    _YAML + "int": lambda value: _constructed(SafeConstructor.construct_yaml_int, value),
    _YAML + "float": lambda value: _constructed(SafeConstructor.construct_yaml_float, value),
    _YAML + "timestamp": lambda value: _constructed(
        SafeConstructor.construct_yaml_timestamp, value
    ),
}
_IMPLICIT: Final = Resolver.yaml_implicit_resolvers


def _resolve_plain(value: str) -> str:
    """The tag YAML 1.1 (as PyYAML's SafeLoader) gives an untagged plain scalar."""
    for tag, pattern in _IMPLICIT.get(value[:1], ()):
        if pattern.match(value):
            return _STR if tag in _TEXT_TAGS else str(tag)
    return _STR


class Composer:
    """Plain Python values from libyaml events, with the line of every field path."""

    def __init__(self) -> None:
        self.lines: dict[FieldPath, int] = {}
        self.problems: list[tuple[int, FieldPath | None, str]] = []
        self.replaced: set[FieldPath] = set()  # values kept as text after a tag problem
        self.anchors: dict[str, tuple[Any, int, int]] = {}
        self.open_anchors: set[str] = set()
        self.expanded = 0
        self.stack: list[_Frame] = []

    def compose(self, text: str) -> tuple[Any, int] | None:
        """The single document of ``text`` and its first line, or None for an empty file."""
        parser = yaml.CSafeLoader(text)
        try:
            get: Callable[[], Any] = parser.get_event
            get()  # StreamStartEvent
            event = get()
            if isinstance(event, StreamEndEvent):
                return None
            root, root_line = self._document(get)
            event = get()
            if isinstance(event, DocumentStartEvent):
                raise Fatal(
                    _line(event),
                    "a second YAML document starts here; a file holds exactly one declaration",
                )
        finally:
            parser.dispose()
        return root, root_line

    def _document(self, get: Callable[[], Any]) -> tuple[Any, int]:
        # set when the document's one node is delivered (an empty document is a null scalar)
        self.root: Any = None
        self.root_line = 1
        handlers: dict[type, Callable[[Any, int], None]] = {
            ScalarEvent: self._on_scalar,
            MappingStartEvent: self._on_start,
            SequenceStartEvent: self._on_start,
            MappingEndEvent: self._on_end,
            SequenceEndEvent: self._on_end,
            AliasEvent: self._on_alias,
        }
        while True:
            event = get()
            handler = handlers.get(type(event))
            if handler is None:  # DocumentEndEvent: nothing else comes inside a document
                return self.root, self.root_line
            handler(event, _line(event))

    def _wants_key(self) -> _Frame | None:
        """The open mapping if the next node is one of its keys."""
        if self.stack:
            top = self.stack[-1]
            if top.key is _NO_KEY and isinstance(top.container, dict):
                return top
        return None

    def _deliver(self, value: Any, size: int, line: int) -> None:
        if self.stack:
            self._add(self.stack[-1], value, size, line)
        else:
            self.root, self.root_line = value, line

    def _on_scalar(self, event: ScalarEvent, line: int) -> None:
        mapping = self._wants_key()
        if mapping is not None:
            self._key(mapping, event.value, line, merge=event.implicit[0])
            self._anchor(event.anchor, event.value, 1, line)
            return
        value = self._scalar(event, line)
        self._anchor(event.anchor, value, 1, line)
        self._deliver(value, 1, line)

    def _on_start(self, event: MappingStartEvent | SequenceStartEvent, line: int) -> None:
        self._open(event, line, isinstance(event, MappingStartEvent))

    def _on_end(self, _event: MappingEndEvent | SequenceEndEvent, _line: int) -> None:
        frame = self.stack.pop()
        if frame.merges and isinstance(frame.container, dict):
            self._merge(frame, frame.container)
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self._anchor(frame.anchor, frame.container, frame.size, frame.line)
        self._deliver(frame.container, frame.size, frame.line)

    def _on_alias(self, event: AliasEvent, line: int) -> None:
        value, size = self._alias(event.anchor or "", line)
        mapping = self._wants_key()
        if mapping is None:
            self._deliver(value, size, line)
        elif isinstance(value, str):
            self._key(mapping, value, line, merge=False)
        else:
            raise Fatal(line, "mapping keys must be plain strings", mapping.path)

    def _open(self, event: Any, line: int, is_map: bool) -> None:
        stack = self.stack
        if stack:
            parent = stack[-1]
            if isinstance(parent.container, dict):
                if parent.key is _NO_KEY:
                    raise Fatal(line, "mapping keys must be plain strings", parent.path)
                key = parent.key
                name = key if isinstance(key, str) else key.key if isinstance(key, _Skip) else None
                path = (*parent.path, _MERGE_KEY if name is None else name)
            else:  # (its line is noted when it is added to the list)
                path = (*parent.path, len(parent.container))
        else:
            path = ()
        if len(stack) >= MAX_DEPTH:
            raise Fatal(line, f"nesting deeper than {MAX_DEPTH} levels")
        tag = event.tag
        if tag is not None and tag not in ("!", _MAP if is_map else _SEQ):
            self.problems.append((line, path, f"unsupported YAML tag {_short_tag(tag)}"))
            self.replaced.add(path)
        frame = _Frame({} if is_map else [], path, line)
        if event.anchor is not None:
            frame.anchor = event.anchor
            self.open_anchors.add(event.anchor)
        stack.append(frame)

    def _key(self, frame: _Frame, key: str, line: int, *, merge: bool) -> None:
        path = (*frame.path, key)
        first = frame.keys.get(key)
        if first is not None:
            self.problems.append((line, path, f"duplicate key {key!r} (first at line {first})"))
            frame.key = _Skip(key)
            return
        frame.keys[key] = line
        frame.key_line = line
        if merge and key == _MERGE_KEY:
            frame.key = _MERGING
        else:
            frame.key = key
            self.lines[path] = line

    def _add(self, frame: _Frame, value: Any, size: int, line: int) -> None:
        frame.size += size
        container = frame.container
        if isinstance(container, list):
            self.lines.setdefault((*frame.path, len(container)), line)
            container.append(value)
            return
        key = frame.key
        frame.key = _NO_KEY
        if isinstance(key, str):
            container[key] = value
        elif key is _MERGING:
            frame.merges.append((value, frame.key_line))

    def _merge(self, frame: _Frame, container: dict[str, Any]) -> None:
        """``<<: *base`` or ``<<: [*a, *b]``: keys not given here come from the sources.

        As in PyYAML: the mapping's own keys win, then the first source that has the key.
        """
        for value, line in frame.merges:
            sources = value if isinstance(value, list) else [value]
            if not all(isinstance(source, dict) for source in sources):
                self.problems.append(
                    (line, (*frame.path, _MERGE_KEY), "<< merges a mapping or a list of mappings")
                )
                continue
            for source in sources:
                for key, item in source.items():
                    if key not in container:
                        container[key] = item
                        self.lines.setdefault((*frame.path, key), line)

    def _scalar(self, event: Any, line: int) -> Any:
        value: str = event.value
        tag: str | None = event.tag
        if tag is None:
            if not event.implicit[0]:
                return value  # quoted
            tag = _resolve_plain(value)
        if tag in (_STR, "!"):
            return value
        construct = _SCALARS.get(tag)
        path = self._here()
        if construct is None:
            message = f"unsupported YAML tag {_short_tag(tag)}"
        else:
            try:
                return construct(value)
            except (ValueError, KeyError, AttributeError, TypeError, OverflowError):
                message = f"{value!r} is not a valid {_short_tag(tag)}"
        self.problems.append((line, path, message))
        self.replaced.add(path)
        return value

    def _here(self) -> FieldPath:
        """The path of the value being read."""
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            return (*frame.path, len(frame.container))
        return (*frame.path, frame.key) if isinstance(frame.key, str) else frame.path

    def _alias(self, name: str, line: int) -> tuple[Any, int]:
        """The anchored value, counting what it expands to against ``MAX_ALIAS_NODES``."""
        if name in self.open_anchors:
            raise Fatal(
                line, f"alias *{name} is inside the node it names (recursive)", self._here()
            )
        entry = self.anchors.get(name)
        if entry is None:
            raise Fatal(line, f"alias *{name} names no anchor defined before it", self._here())
        value, size, _line = entry
        self.expanded += size
        if self.expanded > MAX_ALIAS_NODES:
            raise Fatal(
                line,
                f"aliases expand to more than {MAX_ALIAS_NODES} nodes; "
                "a declaration never needs that many (a 'billion laughs' document?)",
                self._here(),
            )
        return value, size

    def _anchor(self, name: str | None, value: Any, size: int, line: int) -> None:
        if name is None:
            return
        previous = self.anchors.get(name)
        if previous is not None:
            self.problems.append(
                (line, None, f"anchor &{name} is defined twice (first at line {previous[2]})")
            )
        self.anchors[name] = (value, size, line)


# libyaml's wording for the mistakes people make, in plain words (checked in order).
PLAIN_YAML_PROBLEMS: tuple[tuple[str, str], ...] = (
    (
        "mapping values are not allowed",
        "a 'key: value' where none can be: this line is indented deeper than the key above "
        "it, or a value holds ': ' and needs quotes",
    ),
    (
        "could not find expected ':'",
        "a line without 'key: value' inside a mapping: a missing ':' or a broken indentation",
    ),
    (
        "did not find expected key",
        "this line's indentation does not line up with the keys above it",
    ),
    (
        "did not find expected '-' indicator",
        "this list item's indentation does not line up with the items above it",
    ),
    ("found unexpected end of stream", "a quote or bracket opened and never closed"),
    ("found undefined alias", "an alias (*name) with no anchor (&name) before it"),
    ("found duplicate anchor", "the same anchor (&name) defined twice"),
)


def _tab_indented(text: str, line: int) -> bool:
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return False
    current = lines[line - 1]
    return "\t" in current[: len(current) - len(current.lstrip())]


def yaml_error(exc: yaml.YAMLError, text: str) -> tuple[int, str]:
    """Line and message of a libyaml error in plain words, without echoing the file's content."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.encode("utf-8", "replace").count(b"\n", 0, exc.position) + 1
        return line, f"invalid YAML: {exc.reason} (character {exc.character!r})"
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "syntax error"
        if _tab_indented(text, line):
            return line, "invalid YAML: this line is indented with a tab; YAML indents with spaces"
        for raw, plain in PLAIN_YAML_PROBLEMS:
            if raw in problem:
                return line, f"invalid YAML: {plain}"
        context = f", {exc.context}" if exc.context and exc.problem else ""
        if exc.context_mark is not None and context:
            context += f" at line {exc.context_mark.line + 1}"
        return line, f"invalid YAML: {problem}{context}"
    return 1, f"invalid YAML: {exc}"
