"""Loading declarations from YAML: safe, bounded, and every problem located.

Each problem reads ``file:line: field.path: reason`` (field paths use the YAML names), e.g.
``endpoints/churn.yaml:14: spec.rollout.steps: steps must be strictly increasing``.

The YAML is read as libyaml events (the C parser, no recursion) and turned into plain
Python values by a small composer that remembers the line of every key and list item.
Doing it from events instead of ``yaml.safe_load`` lets the loader:

- reject duplicate keys (PyYAML keeps the last one silently);
- count what aliases expand to while composing, so a "billion laughs" file fails after a
  thousand nodes, in bounded time and memory, before anything walks the expanded tree;
- refuse nesting deeper than a declaration needs (PyYAML's C composer recurses in C);
- refuse tags other than the YAML core ones (no ``!!python/...``, no custom tags);
- keep mapping keys as written (``on:`` stays the key ``"on"``, not ``True``).

Then the pydantic models validate the values; their error locations map back to lines.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import stat
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
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

from smgitops.declaration.models import Declaration
from smgitops.errors import DeclarationError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from pydantic_core import ErrorDetails

MAX_FILE_BYTES: Final = 256 * 1024
"""A declaration is a few dozen lines; anything near this size is a mistake or an attack."""
MAX_ALIAS_NODES: Final = 1_000
"""Nodes that all aliases of one file may expand to, together."""
MAX_DEPTH: Final = 32
"""Nesting of mappings and lists; a declaration needs about six."""
SUFFIXES: Final = (".yaml", ".yml")

FieldPath = tuple[str | int, ...]

_YAML = "tag:yaml.org,2002:"
_STR = _YAML + "str"
_MAP = _YAML + "map"
_SEQ = _YAML + "seq"
_TEXT_TAGS = frozenset({_YAML + "merge", _YAML + "value"})  # `<<` and `=` as values: text
_PLAIN_FIELD = re.compile(r"[A-Za-z0-9_\-]+")


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem: ``file:line: field: message`` (field omitted when none)."""

    file: str
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        field_part = f"{self.field}: " if self.field else ""
        return f"{self.file}:{self.line}: {field_part}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


@dataclass
class LoadResult:
    """Everything read from a set of files: the valid declarations and every problem."""

    declarations: dict[str, Declaration] = field(default_factory=dict)
    """Valid declarations by endpoint name."""
    paths: dict[str, str] = field(default_factory=dict)
    """The file (display path) that declares each endpoint."""
    files: list[str] = field(default_factory=list)
    """Every file read, in order (display paths)."""
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise ``DeclarationError`` with every problem, if there is any."""
        if self.problems:
            raise DeclarationError([str(problem) for problem in self.problems])


# --------------------------------------------------------------------------- composing


class _Fatal(Exception):
    """A problem after which the rest of the file cannot be read."""

    def __init__(self, line: int, message: str, path: FieldPath | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.path = path


class _NoKey:
    """Marker: the mapping waits for a key."""


class _Skip:
    """Marker: the value being read belongs to a duplicate key and is dropped."""


class _Merge:
    """Marker: the value being read is the source of a ``<<`` merge key."""


_NO_KEY: Final = _NoKey()
_SKIP: Final = _Skip()
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


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_YAML) :] if tag.startswith(_YAML) else tag


def _node_constructor(
    method: Callable[[SafeConstructor, ScalarNode], Any],
) -> Callable[[str, str], Any]:
    def construct(tag: str, value: str) -> Any:
        return method(_CONSTRUCTOR, ScalarNode(tag, value))

    return construct


_CONSTRUCTOR: Final = SafeConstructor()
_SCALARS: Final[dict[str, Callable[[str, str], Any]]] = {
    _YAML + "null": lambda _tag, _value: None,
    _YAML + "bool": lambda _tag, value: SafeConstructor.bool_values[value.lower()],
    _YAML + "int": _node_constructor(SafeConstructor.construct_yaml_int),
    _YAML + "float": _node_constructor(SafeConstructor.construct_yaml_float),
    _YAML + "timestamp": _node_constructor(SafeConstructor.construct_yaml_timestamp),
}
_IMPLICIT: Final = Resolver.yaml_implicit_resolvers


def _resolve_plain(value: str) -> str:
    """The tag YAML 1.1 (as PyYAML's SafeLoader) gives an untagged plain scalar."""
    for tag, pattern in _IMPLICIT.get(value[:1], ()):
        if pattern.match(value):
            return _STR if tag in _TEXT_TAGS else str(tag)
    return _STR


class _Composer:
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
            first_line = event.end_mark.line + 1
            root, root_line = self._document(get, first_line)
            event = get()
            if isinstance(event, DocumentStartEvent):
                raise _Fatal(
                    event.start_mark.line + 1 if event.start_mark else 1,
                    "a second YAML document starts here; a file holds exactly one declaration",
                )
        finally:
            parser.dispose()
        return root, root_line

    def _document(self, get: Callable[[], Any], first_line: int) -> tuple[Any, int]:
        self.root: Any = None
        self.root_line = first_line
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
            handler(event, event.start_mark.line + 1)

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
            raise _Fatal(line, "mapping keys must be plain strings", mapping.path)

    def _open(self, event: Any, line: int, is_map: bool) -> None:
        stack = self.stack
        if stack:
            parent = stack[-1]
            if isinstance(parent.container, dict):
                if parent.key is _NO_KEY:
                    raise _Fatal(line, "mapping keys must be plain strings", parent.path)
                path = (*parent.path, parent.key if isinstance(parent.key, str) else _MERGE_KEY)
            else:
                path = (*parent.path, len(parent.container))
                self.lines.setdefault(path, line)
        else:
            path = ()
        if len(stack) >= MAX_DEPTH:
            raise _Fatal(line, f"nesting deeper than {MAX_DEPTH} levels")
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
            frame.key = _SKIP
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
                return construct(tag, value)
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
            raise _Fatal(
                line, f"alias *{name} is inside the node it names (recursive)", self._here()
            )
        entry = self.anchors.get(name)
        if entry is None:
            raise _Fatal(line, f"alias *{name} names no anchor defined before it", self._here())
        value, size, _line = entry
        self.expanded += size
        if self.expanded > MAX_ALIAS_NODES:
            raise _Fatal(
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


# --------------------------------------------------------------------------- validating


def _format_field(path: FieldPath) -> str:
    """``('spec', 'rollout', 'steps', 2)`` -> ``spec.rollout.steps[2]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_FIELD.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` to ``X``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            args = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _model_at(path: FieldPath) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``path``, if it is one."""
    current: Any = Declaration
    for part in path:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {info.alias or name: info for name, info in current.model_fields.items()}
            info = fields.get(str(part))
            if info is None:
                return None
            current = info.annotation
        elif get_origin(current) is list:
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unknown_field(path: FieldPath) -> str:
    model = _model_at(path[:-1])
    if model is None:
        return "unknown field"
    allowed = [info.alias or name for name, info in model.model_fields.items()]
    name = str(path[-1])
    guess = to_camel(name) if to_camel(name) in allowed else None
    if guess is None:
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        guess = close[0] if close else None
    if guess is not None:
        return f"unknown field; did you mean {guess!r}?"
    return "unknown field; expected one of: " + ", ".join(allowed)


_TYPE_MESSAGES: Final = {
    "missing": "required field is missing",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
}
_SCALAR_INPUTS: Final = (str, int, float, bool, type(None))


def _secret_place(loc: tuple[object, ...]) -> bool:
    return "environment" in loc


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_field(tuple(error["loc"]))
    if kind in ("value_error", "assertion_error"):
        return str(error.get("ctx", {}).get("error", error["msg"]))
    message = _TYPE_MESSAGES.get(kind)
    if message is None:
        message = error["msg"]
        for prefix in ("Input should", "String should", "List should", "Dictionary should"):
            if message.startswith(prefix):
                message = "must" + message[len(prefix) :]
                break
    value = error.get("input")
    if _secret_place(tuple(error["loc"])):  # environment values may be secrets: never echo
        value = None
        message += " (value not shown)"
        if kind == "string_type":
            return f"{message}; quote the value to make it a string"
    if kind != "missing" and value is not None and isinstance(value, _SCALAR_INPUTS):
        shown = repr(value) if not isinstance(value, str) or len(value) <= 60 else "a long string"
        message += f" (got {shown})"
        if kind == "string_type" and not isinstance(value, str):
            message += "; quote the value to make it a string"
    return message


def _line(path: FieldPath, lines: dict[FieldPath, int], default: int) -> int:
    """The line of ``path`` or of its nearest ancestor that has one."""
    for end in range(len(path), 0, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return default


def _covered(path: FieldPath, reported: set[FieldPath]) -> bool:
    return any(path[:end] in reported for end in range(len(path) + 1))


# --------------------------------------------------------------------------- one file


@dataclass(frozen=True, slots=True)
class _Outcome:
    declaration: Declaration | None
    problems: list[Problem]
    name_line: int = 1


def _problem(display: str, line: int, message: str) -> _Outcome:
    return _Outcome(None, [Problem(display, line, None, message)])


def _read(path: Path, display: str) -> str | _Outcome:
    """The text of a regular file within the size limit, strictly UTF-8."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return _problem(display, 1, "not a regular file")
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return _problem(display, 1, f"cannot read the file: {exc.strerror or exc}")
    return _decode(data, display)


def _decode(data: bytes, display: str) -> str | _Outcome:
    if len(data) > MAX_FILE_BYTES:
        return _problem(
            display, 1, f"file is larger than {MAX_FILE_BYTES // 1024} KiB; not a declaration"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return _problem(display, line, f"not valid UTF-8 (byte {data[exc.start]:#04x})")


def _yaml_error(exc: yaml.YAMLError, text: str) -> tuple[int, str]:
    """Line and message of a libyaml error, without echoing the file's content."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.encode("utf-8", "replace").count(b"\n", 0, exc.position) + 1
        return line, f"invalid YAML: {exc.reason} (character {exc.character!r})"
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "syntax error"
        context = f", {exc.context}" if exc.context and exc.problem else ""
        if exc.context_mark is not None and context:
            context += f" at line {exc.context_mark.line + 1}"
        return line, f"invalid YAML: {problem}{context}"
    return 1, f"invalid YAML: {exc}"


def _load(text: str, display: str) -> _Outcome:
    composer = _Composer()
    try:
        document = composer.compose(text)
    except _Fatal as fatal:
        field_name = _format_field(fatal.path) if fatal.path else None
        return _Outcome(None, [Problem(display, fatal.line, field_name, fatal.message)])
    except yaml.YAMLError as exc:
        line, message = _yaml_error(exc, text)
        return _problem(display, line, message)
    if document is None:
        return _problem(display, 1, "file is empty; expected one declaration")
    data, root_line = document
    if not isinstance(data, dict):
        found = "nothing" if data is None else f"a {_kind(data)}"
        return _problem(
            display,
            root_line,
            f"a declaration is a mapping (apiVersion, kind, metadata, spec); found {found}",
        )
    problems = [
        Problem(display, line, _format_field(path) if path else None, message)
        for line, path, message in composer.problems
    ]
    try:
        declaration = Declaration.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            path = tuple(part for part in error["loc"] if part != "[key]")
            if _covered(path, composer.replaced):
                continue
            message = _message(error)
            if len(path) < len(error["loc"]):
                message = f"key {message}"
            line = _line(path, composer.lines, root_line)
            problems.append(Problem(display, line, _format_field(path) or None, message))
        declaration = None
    if problems:
        problems.sort(key=lambda problem: problem.line)
        return _Outcome(None, problems)
    return _Outcome(declaration, [], composer.lines.get(("metadata", "name"), root_line))


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


# --------------------------------------------------------------------------- public API


def load_text(text: str, display_path: str) -> Declaration:
    """Validate one declaration given as text; raise ``DeclarationError`` if invalid."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise DeclarationError(
            [str(Problem(display_path, line, None, "not valid UTF-8 (a lone surrogate)"))]
        ) from None
    outcome = _decoded(_decode(data, display_path), display_path)
    return _unwrap_outcome(outcome)


def load_file(path: Path, display_path: str | None = None) -> Declaration:
    """Validate one declaration file; raise ``DeclarationError`` with every problem."""
    display = display_path if display_path is not None else str(path)
    return _unwrap_outcome(_decoded(_read(path, display), display))


def load_tree(root: Path, folder: str = "endpoints") -> LoadResult:
    """Every ``*.yaml``/``*.yml`` under ``root/folder``, recursively, paths relative to root.

    Hidden files and folders are skipped, folder symlinks are not followed, and a file
    symlink that leads outside ``root`` is a problem, not read (a repository must not make
    the reconciler read the machine's files). A missing folder is no declarations.
    """
    base = root / folder
    real_root = root.resolve()
    entries: list[tuple[Path, str]] = []
    for path in _walk(base):
        entries.append((path, path.relative_to(root).as_posix()))
    return _collect(entries, confine_to=real_root)


def load_paths(paths: Iterable[Path]) -> LoadResult:
    """Files and folders, as the CLI gets them; paths are shown as given.

    Raises ``FileNotFoundError`` for a path that does not exist.
    """
    entries: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for given in paths:
        if not given.exists():
            raise FileNotFoundError(given)
        for path in _walk(given) if given.is_dir() else [given]:
            real = path.resolve()
            if real not in seen:  # a file named twice (or by its folder too) is read once
                seen.add(real)
                entries.append((path, str(path)))
    return _collect(entries)


def _decoded(text: str | _Outcome, display: str) -> _Outcome:
    return text if isinstance(text, _Outcome) else _load(text, display)


def _unwrap_outcome(outcome: _Outcome) -> Declaration:
    if outcome.declaration is None:
        raise DeclarationError([str(problem) for problem in outcome.problems])
    return outcome.declaration


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    for directory, folders, files in os.walk(folder, followlinks=False):
        folders[:] = [name for name in folders if not name.startswith(".")]
        found.extend(
            Path(directory, name)
            for name in files
            if name.endswith(SUFFIXES) and not name.startswith(".")
        )
    return sorted(found, key=lambda path: path.as_posix())


def _collect(entries: list[tuple[Path, str]], confine_to: Path | None = None) -> LoadResult:
    result = LoadResult()
    first_seen: dict[str, str] = {}
    for path, display in entries:
        result.files.append(display)
        if confine_to is not None and path.is_symlink() and not _inside(path, confine_to):
            result.problems.append(
                Problem(display, 1, None, "symlink leads outside the repository; not read")
            )
            continue
        outcome = _decoded(_read(path, display), display)
        result.problems.extend(outcome.problems)
        declaration = outcome.declaration
        if declaration is None:
            continue
        key = declaration.name.lower()  # SageMaker endpoint names are case-insensitive
        if key in first_seen:
            result.problems.append(
                Problem(
                    display,
                    outcome.name_line,
                    "metadata.name",
                    f"endpoint {declaration.name!r} is also declared in {first_seen[key]}",
                )
            )
            continue
        first_seen[key] = display
        result.declarations[declaration.name] = declaration
        result.paths[declaration.name] = display
    return result


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a symlink loop
        return False
