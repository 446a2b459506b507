"""Golden request files, as declared in the repository (``rollout.validation.requests``).

A golden request file (JSON, in the repository; see docs/analysis.md)::

    {
      "body": {"features": [0.1, 3, "gold"]},        # JSON (sent as JSON) or a string (as is)
      "contentType": "application/json",             # optional; default: rollout.validation
      "accept": "application/json",                  # optional
      "expect": {                                     # optional; default: status 200 only
        "status": 200,                                # HTTP status of the model's answer
        "exact": {"label": "stay"},                  # the whole body, compared as JSON
        "tolerance": {"path": "$.score", "value": 0.83, "abs": 0.01},
        "fields": [{"path": "$.score", "op": "<=", "value": 1}]
      }
    }

The models, their paths (JSONPath-lite), reading them from a checked-out repository (the
reconcile step; the only I/O) and the shape the rollout status stores them in. Sending them to
the candidate and scoring the answers is :mod:`smgitops.rollout.golden`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from smgitops.errors import DeclarationError

if TYPE_CHECKING:
    from collections.abc import Sequence

MAX_REQUEST_FILES = 100
MAX_REQUEST_BYTES = 64 * 1024
MAX_TOTAL_BYTES = 256 * 1024
MAX_SHOWN = 80  # characters of a value quoted in a failure message

Segment = str | int

# --- JSONPath-lite --------------------------------------------------------------------------

_SEGMENT = re.compile(
    r"""\.(?P<name>[^.\[\]'"]+)"""
    r"""|\[(?P<index>-?\d+)\]"""
    r"""|\[(?P<quote>['"])(?P<key>(?:(?!(?P=quote)).)*)(?P=quote)\]"""
)


def parse_path(path: str) -> tuple[Segment, ...]:
    """``$.a.b[0]['x y']`` → ``("a", "b", 0, "x y")``; ``$`` is the whole document."""
    if not path.startswith("$"):
        raise ValueError(f"path {path!r} must start with $ (e.g. $.score or $.items[0])")
    segments: list[Segment] = []
    position = 1
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if match is None:
            raise ValueError(
                f"path {path!r}: cannot read {path[position:]!r} "
                "(use .name, [0] or ['name with dots'])"
            )
        if match["name"] is not None:
            segments.append(match["name"])
        elif match["index"] is not None:
            segments.append(int(match["index"]))
        else:
            segments.append(match["key"])
        position = match.end()
    return tuple(segments)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def show(value: Any) -> str:
    """A JSON value quoted in a message, cut at :data:`MAX_SHOWN` characters."""
    text = json.dumps(value, separators=(",", ":")) if not isinstance(value, bytes) else "bytes"
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


# --- the golden request file ------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class Tolerance(_Model):
    """A number (or list of numbers) at ``path`` within ``abs`` or ``rel`` of ``value``."""

    value: float | list[float]
    absolute: Annotated[float, Strict(), Field(ge=0)] = Field(default=0.0, alias="abs")
    relative: Annotated[float, Strict(), Field(ge=0)] = Field(default=1e-9, alias="rel")
    path: str = "$"

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        parse_path(value)
        return value


Op = Literal["==", "!=", "<", "<=", ">", ">=", "in", "exists", "type", "matches"]
TYPES = frozenset({"number", "integer", "string", "boolean", "array", "object", "null"})
ORDERED = frozenset({"<", "<=", ">", ">="})


class FieldCheck(_Model):
    """A predicate on one field of the response: ``{"path": "$.score", "op": "<=", "value": 1}``."""

    path: str
    op: Op
    value: Any = None

    @model_validator(mode="after")
    def _consistent(self) -> FieldCheck:
        parse_path(self.path)
        value = self.value
        if self.op in ORDERED and (not is_number(value)):
            raise ValueError(f"op {self.op} needs a number as value (got {show(value)})")
        if self.op == "in" and not isinstance(value, list):
            raise ValueError("op in needs a list as value")
        if self.op == "type" and value not in TYPES:
            raise ValueError(f"op type needs one of {', '.join(sorted(TYPES))} as value")
        if self.op == "exists" and value not in (None, True, False):
            raise ValueError("op exists takes true (default) or false as value")
        if self.op == "matches":
            if not isinstance(value, str):
                raise ValueError("op matches needs a regular expression (a string) as value")
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"op matches: invalid regular expression: {exc}") from exc
        return self


class Expect(_Model):
    """What the candidate must answer; every given check must hold."""

    status: Annotated[int, Strict(), Field(ge=100, le=599)] = 200
    exact: Any = None
    tolerance: Tolerance | None = None
    fields: list[FieldCheck] = Field(default_factory=list)

    @property
    def has_exact(self) -> bool:
        return "exact" in self.model_fields_set


class GoldenRequest(_Model):
    body: Any
    content_type: str | None = Field(default=None, min_length=1, max_length=1024)
    accept: str | None = Field(default=None, min_length=1, max_length=1024)
    expect: Expect = Field(default_factory=Expect)

    @model_validator(mode="before")
    @classmethod
    def _body_given(cls, data: Any) -> Any:
        if isinstance(data, dict) and "body" not in data:
            raise ValueError('a golden request needs a "body" (JSON, or a string sent as is)')
        return data

    def encode(self, default_content_type: str) -> tuple[bytes, str]:
        """The bytes to send and their content type: strings as is, anything else as JSON."""
        content_type = self.content_type or default_content_type
        if isinstance(self.body, str):
            return self.body.encode(), content_type
        return json.dumps(self.body, separators=(",", ":")).encode(), content_type


class NamedRequest(BaseModel):
    """A golden request and the file it came from, as the rollout status keeps it.

    Stored (DynamoDB ``GOLDEN#`` items, hashed into ``golden_ref``) as the file was written and
    no more: ``{"name": ..., "request": <camelCase keys, only those given>}``, so an unset
    ``exact`` stays unset (:attr:`Expect.has_exact`) through a save and a load.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str  # the file's path relative to the repository root
    request: GoldenRequest

    @model_serializer(mode="plain")
    def _as_written(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "request": self.request.model_dump(mode="json", by_alias=True, exclude_unset=True),
        }


def parse_request(name: str, text: str) -> GoldenRequest:
    """One golden request file; ``ValueError`` with ``name: field: reason`` when invalid."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{name}: a golden request is a JSON object with body and expect")
    try:
        return GoldenRequest.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{name}: {'.'.join(str(p) for p in e['loc']) or 'request'}: "
            f"{e.get('ctx', {}).get('error', e['msg'])}"
            for e in exc.errors()
        ]
        raise ValueError("\n".join(problems)) from exc


# --- reading golden requests from a repository (the only I/O) ------------------------------------


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex over ``/``-separated relative paths: ``*`` ``?`` stay in a folder,
    ``**`` spans folders, ``[abc]`` is a character class."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append(f"[{'^' + body[1:] if body.startswith('!') else body}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def _walk(root: Path) -> list[str]:
    paths: list[str] = []
    for folder, dirs, files in os.walk(root):  # never follows symbolic links to folders
        dirs[:] = sorted(d for d in dirs if d != ".git")
        relative = Path(folder).relative_to(root)
        paths += [(relative / f).as_posix() for f in sorted(files)]
    return paths


def load_requests(root: Path, patterns: Sequence[str]) -> list[NamedRequest]:
    """The golden requests matched by ``patterns`` under ``root``, in path order.

    ``DeclarationError`` lists every problem: a pattern that matches nothing, a symbolic
    link (never followed: it could point outside the repository), a file too large, invalid
    JSON or an invalid expectation, too many files.
    """
    root = root.resolve()
    files = _walk(root)
    problems: list[str] = []
    chosen: dict[str, None] = {}
    for pattern in patterns:
        regex = glob_regex(pattern)
        matched = [f for f in files if regex.fullmatch(f)]
        if not matched:
            problems.append(f"{pattern}: matches no file")
        chosen.update(dict.fromkeys(matched))
    if len(chosen) > MAX_REQUEST_FILES:
        problems.append(f"{len(chosen)} golden request files; at most {MAX_REQUEST_FILES}")
    requests: list[NamedRequest] = []
    total = 0
    for name in sorted(chosen)[:MAX_REQUEST_FILES]:
        path = root / name
        if path.is_symlink():
            problems.append(f"{name}: is a symbolic link; golden requests must be regular files")
            continue
        size = path.stat().st_size
        total += size
        if size > MAX_REQUEST_BYTES:
            problems.append(f"{name}: {size} bytes; at most {MAX_REQUEST_BYTES} per request")
            continue
        try:
            requests.append(
                NamedRequest(name=name, request=parse_request(name, path.read_text("utf-8")))
            )
        except UnicodeDecodeError:
            problems.append(f"{name}: not UTF-8 text")
        except ValueError as exc:
            problems.extend(str(exc).splitlines())
    if total > MAX_TOTAL_BYTES:
        problems.append(f"golden requests total {total} bytes; at most {MAX_TOTAL_BYTES}")
    if problems:
        raise DeclarationError(problems)
    return requests


def dump_requests(requests: Sequence[NamedRequest]) -> list[dict[str, Any]]:
    """Golden requests as the store keeps them (JSON, what was written and no more)."""
    return [r.model_dump() for r in requests]


def restore_requests(dumped: Sequence[dict[str, Any]]) -> list[NamedRequest]:
    """The inverse of :func:`dump_requests`."""
    return [NamedRequest.model_validate(d) for d in dumped]
