"""Loading declarations from YAML: safe, bounded, and every problem located.

Each problem reads ``file:line: field.path: reason`` (field paths use the YAML names), e.g.
``endpoints/churn.yaml:14: spec.rollout.steps: steps must be strictly increasing``.

The YAML is composed into plain values with the line of every key and list item
(:mod:`smgitops.declaration.yaml_lines`: duplicate keys, alias budget, depth and tags refused
there). Then the pydantic models validate the values; their error locations map back to lines
and read as plain messages (:mod:`smgitops.declaration.problems`).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import yaml
from pydantic import ValidationError

from smgitops.declaration.models import ChecksPolicy, Declaration, checks_context
from smgitops.declaration.problems import covered, format_field, line_of, message_of
from smgitops.declaration.yaml_lines import Composer, Fatal, yaml_error
from smgitops.errors import DeclarationError

if TYPE_CHECKING:
    from collections.abc import Iterable

MAX_FILE_BYTES: Final = 256 * 1024
"""A declaration is a few dozen lines; anything near this size is a mistake or an attack."""
SUFFIXES: Final = (".yaml", ".yml")
ROLE_FIELD: Final = ("spec", "model", "executionRoleArn")


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
    role_lines: dict[str, int] = field(default_factory=dict)
    """The line of each endpoint's ``spec.model.executionRoleArn`` (problems found later, e.g.
    a role the repository may not pass, point at it)."""

    @property
    def valid(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise ``DeclarationError`` with every problem, if there is any."""
        if self.problems:
            raise DeclarationError([str(problem) for problem in self.problems])


# --------------------------------------------------------------------------- one file


@dataclass(frozen=True, slots=True)
class _Outcome:
    declaration: Declaration | None
    problems: list[Problem]
    name_line: int = 1
    role_line: int = 1  # spec.model.executionRoleArn's, else the name's


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


def _load(text: str, display: str, checks: ChecksPolicy) -> _Outcome:
    composer = Composer()
    try:
        document = composer.compose(text)
    except Fatal as fatal:
        field_name = format_field(fatal.path) if fatal.path else None
        return _Outcome(None, [Problem(display, fatal.line, field_name, fatal.message)])
    except yaml.YAMLError as exc:
        line, message = yaml_error(exc, text)
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
        Problem(display, line, format_field(path) if path else None, message)
        for line, path, message in composer.problems
    ]
    try:
        declaration = Declaration.model_validate(
            data, by_alias=True, by_name=False, context=checks_context(checks)
        )
    except ValidationError as exc:
        # (every key is text, so no error is about a key: the location is the field's path)
        for error in exc.errors(include_url=False):
            path = tuple(error["loc"])
            if not covered(path, composer.replaced):  # a value already reported as text
                line = line_of(path, composer.lines, root_line)
                problems.append(
                    Problem(display, line, format_field(path) or None, message_of(error))
                )
    else:
        if not problems:
            # where the name and the role are written, or the mapping holding them merged in
            name_line = line_of(("metadata", "name"), composer.lines, root_line)
            role_line = line_of(ROLE_FIELD, composer.lines, name_line)
            return _Outcome(declaration, [], name_line, role_line)
    problems.sort(key=lambda problem: problem.line)
    return _Outcome(None, problems)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__  # a date or a timestamp


# --------------------------------------------------------------------------- public API


ACKNOWLEDGED: Final = ChecksPolicy.ACKNOWLEDGED
"""What a declaration with no check needs when nothing else is said: ``analysis: none``."""


def load_text(text: str, display_path: str, *, checks: ChecksPolicy = ACKNOWLEDGED) -> Declaration:
    """Validate one declaration given as text; raise ``DeclarationError`` if invalid."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise DeclarationError(
            [str(Problem(display_path, line, None, "not valid UTF-8 (a lone surrogate)"))]
        ) from None
    outcome = _decoded(_decode(data, display_path), display_path, checks)
    return _unwrap_outcome(outcome)


def load_file(
    path: Path, display_path: str | None = None, *, checks: ChecksPolicy = ACKNOWLEDGED
) -> Declaration:
    """Validate one declaration file; raise ``DeclarationError`` with every problem."""
    display = display_path if display_path is not None else str(path)
    return _unwrap_outcome(_decoded(_read(path, display), display, checks))


def load_tree(
    root: Path, folder: str = "endpoints", *, checks: ChecksPolicy = ACKNOWLEDGED
) -> LoadResult:
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
    return _collect(entries, checks, confine_to=real_root)


def load_paths(paths: Iterable[Path], *, checks: ChecksPolicy = ACKNOWLEDGED) -> LoadResult:
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
    return _collect(entries, checks)


def _decoded(text: str | _Outcome, display: str, checks: ChecksPolicy) -> _Outcome:
    return text if isinstance(text, _Outcome) else _load(text, display, checks)


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


def _collect(
    entries: list[tuple[Path, str]], checks: ChecksPolicy, confine_to: Path | None = None
) -> LoadResult:
    result = LoadResult()
    first_seen: dict[str, str] = {}
    for path, display in entries:
        result.files.append(display)
        if confine_to is not None and path.is_symlink() and not _inside(path, confine_to):
            result.problems.append(
                Problem(display, 1, None, "symlink leads outside the repository; not read")
            )
            continue
        outcome = _decoded(_read(path, display), display, checks)
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
        result.role_lines[declaration.name] = outcome.role_line
    return result


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a symlink loop
        return False
