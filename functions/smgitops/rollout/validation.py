"""Pre-traffic validation: golden requests and their expectations, scored pure.

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

Everything here is pure except :func:`load_requests`, which reads the files of a checked-out
repository (the reconcile step calls it; the tick only evaluates).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

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

MAX_REQUEST_FILES = 100
MAX_REQUEST_BYTES = 64 * 1024
MAX_TOTAL_BYTES = 256 * 1024
MAX_SHOWN = 80  # characters of a value quoted in a failure message

Segment = str | int
_MISSING = object()

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


def resolve(document: Any, path: str) -> Any:
    """The value at ``path``, or the module's ``_MISSING`` marker (see :func:`found`)."""
    current = document
    for segment in parse_path(path):
        if isinstance(segment, int) and isinstance(current, list):
            if not -len(current) <= segment < len(current):
                return _MISSING
            current = current[segment]
        elif isinstance(segment, str) and isinstance(current, dict):
            if segment not in current:
                return _MISSING
            current = current[segment]
        else:
            return _MISSING
    return current


def found(value: Any) -> bool:
    return value is not _MISSING


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
        if self.op in ORDERED and (not _is_number(value)):
            raise ValueError(f"op {self.op} needs a number as value (got {_show(value)})")
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


# --- evaluating one answer ----------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """What the candidate answered (or why it could not: ``error``)."""

    status: int
    body: bytes = b""
    content_type: str = ""
    error: str = ""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> float | None:
    """A number, or a string that holds one (CSV answers), else None."""
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _show(value: Any) -> str:
    if value is _MISSING:
        return "nothing"
    text = json.dumps(value, separators=(",", ":")) if not isinstance(value, bytes) else "bytes"
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def document(response: Response) -> Any:
    """The answer as JSON when it parses (``0.83`` from a CSV answer too), else stripped text."""
    text = response.body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.strip()


def _same(expected: Any, actual: Any) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1; strings compared stripped."""
    if _is_number(expected) and _is_number(actual):
        return float(expected) == float(actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.strip() == actual.strip()
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            _same(expected[k], actual[k]) for k in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(_same, expected, actual))
    return bool(expected == actual) and type(expected) is type(actual)


def first_difference(expected: Any, actual: Any, path: str = "$") -> str | None:
    """Where two JSON values first differ, as ``path: expected X, got Y``."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(expected.keys() | actual.keys()):
            child = f"{path}.{key}" if re.fullmatch(r"[A-Za-z_][\w-]*", key) else f"{path}[{key!r}]"
            found_here = first_difference(
                expected.get(key, _MISSING), actual.get(key, _MISSING), child
            )
            if found_here:
                return found_here
        return None
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            found_here = first_difference(e, a, f"{path}[{index}]")
            if found_here:
                return found_here
        return None
    if expected is _MISSING or actual is _MISSING or not _same(expected, actual):
        return f"{path}: expected {_show(expected)}, got {_show(actual)}"
    return None


def _tolerance(check: Tolerance, doc: Any) -> str | None:
    actual = resolve(doc, check.path)
    expected = check.value if isinstance(check.value, list) else [check.value]
    got = actual if isinstance(actual, list) and isinstance(check.value, list) else [actual]
    if len(got) != len(expected):
        return f"{check.path}: expected {len(expected)} numbers, got {_show(actual)}"
    bound = f"abs {check.absolute:g} / rel {check.relative:g}"
    for index, (want, value) in enumerate(zip(expected, got, strict=True)):
        where = f"{check.path}[{index}]" if isinstance(check.value, list) else check.path
        number = _number(value)
        if number is None:
            return f"{where}: expected a number near {want:g}, got {_show(value)}"
        if not math.isclose(number, want, rel_tol=check.relative, abs_tol=check.absolute):
            return f"{where}: {number:g} is not within {bound} of {want:g}"
    return None


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _type_of(value: Any) -> set[str]:
    if value is None:
        return {"null"}
    if isinstance(value, bool):
        return {"boolean"}
    if isinstance(value, int):
        return {"integer", "number"}
    if isinstance(value, float):
        return {"number", "integer"} if value.is_integer() else {"number"}
    if isinstance(value, str):
        return {"string"}
    return {"array"} if isinstance(value, list) else {"object"}


def _field(check: FieldCheck, doc: Any) -> str | None:
    actual = resolve(doc, check.path)
    wanted = f"{check.op} {_show(check.value)}"
    if check.op == "exists":
        should = check.value is not False
        if found(actual) == should:
            return None
        return f"{check.path}: {'missing' if should else 'present, expected absent'}"
    if not found(actual):
        return f"{check.path}: missing (expected {wanted})"
    if check.op in ORDERED:
        number = _number(actual)
        if number is None:
            return f"{check.path}: expected a number {wanted}, got {_show(actual)}"
        if not _COMPARE[check.op](number, float(check.value)):
            return f"{check.path}: {number:g} is not {wanted}"
        return None
    ok = {
        "==": lambda: _same(check.value, actual),
        "!=": lambda: not _same(check.value, actual),
        "in": lambda: any(_same(option, actual) for option in check.value),
        "type": lambda: check.value in _type_of(actual),
        "matches": lambda: isinstance(actual, str) and re.search(check.value, actual) is not None,
    }[check.op]()
    return None if ok else f"{check.path}: expected {wanted}, got {_show(actual)}"


def check(request: GoldenRequest, response: Response) -> list[str]:
    """Every failed expectation of one answer (empty: it passed)."""
    expect = request.expect
    if response.error and response.status == 0:
        return [f"no answer: {response.error}"]
    if response.status != expect.status:
        detail = f" ({response.error})" if response.error else ""
        return [f"status {response.status}, expected {expect.status}{detail}"]
    doc = document(response)
    failures: list[str] = []
    if expect.has_exact:
        difference = first_difference(expect.exact, doc)
        if difference:
            failures.append(f"body differs: {difference}")
    if expect.tolerance is not None:
        failures += [f for f in [_tolerance(expect.tolerance, doc)] if f]
    failures += [f for f in (_field(c, doc) for c in expect.fields) if f]
    return failures


# --- scoring ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestResult:
    name: str
    failures: tuple[str, ...] = ()
    status: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures


def evaluate(name: str, request: GoldenRequest, response: Response) -> RequestResult:
    return RequestResult(name, tuple(check(request, response)), response.status)


def score(results: Sequence[RequestResult]) -> tuple[float, list[str]]:
    """passed / total in [0, 1] and one ``name: reason`` line per failed request.

    No result at all scores 0 (a validation that checked nothing proves nothing).
    """
    if not results:
        return 0.0, ["no golden request was evaluated"]
    failures = [f"{r.name}: {'; '.join(r.failures)}" for r in results if not r.passed]
    return sum(r.passed for r in results) / len(results), failures


class ValidationRecord(TypedDict):
    """A validation's outcome as the history keeps it (``details["validation"]``)."""

    score: float
    minScore: float
    passed: int
    total: int
    ok: bool
    failures: list[str]


@dataclass(frozen=True)
class ValidationOutcome:
    score: float
    min_score: float
    passed: int
    total: int
    failures: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.total > 0 and self.score >= self.min_score

    @property
    def reason(self) -> str:
        head = (
            f"golden requests: {self.passed}/{self.total} passed "
            f"(score {self.score:.2f}, minScore {self.min_score:g})"
        )
        return head if self.ok else f"{head}: {'; '.join(self.failures[:3])}"

    def as_dict(self) -> ValidationRecord:
        return {
            "score": self.score,
            "minScore": self.min_score,
            "passed": self.passed,
            "total": self.total,
            "ok": self.ok,
            "failures": list(self.failures),
        }


def summarize(results: Sequence[RequestResult], min_score: float) -> ValidationOutcome:
    value, failures = score(results)
    return ValidationOutcome(
        score=value,
        min_score=min_score,
        passed=sum(r.passed for r in results),
        total=len(results),
        failures=tuple(failures),
    )


Invoke = Callable[[bytes, str, str | None], Response]
"""``invoke(body, content_type, accept) -> Response``: the candidate variant, only."""


def run(
    requests: Sequence[NamedRequest],
    invoke: Invoke,
    default_content_type: str,
    min_score: float,
    *,
    timeout: float = 0.0,
    time_left: Callable[[], float] | None = None,
) -> ValidationOutcome:
    """Send every golden request through ``invoke`` and score the answers.

    ``time_left()``: seconds the caller may still spend; a request that could take its whole
    ``timeout`` past that is not sent and fails ("not sent"), so the tick ends in time and the
    rollout is judged, never left to a function timeout.
    """
    results = []
    for named in requests:
        if time_left is not None and time_left() < timeout:
            response = Response(
                status=0,
                error=f"not sent: {len(requests)} golden requests of up to {timeout:g}s each "
                "do not fit in one tick",
            )
        else:
            body, content_type = named.request.encode(default_content_type)
            response = invoke(body, content_type, named.request.accept)
        results.append(evaluate(named.name, named.request, response))
    return summarize(results, min_score)


def dump_requests(requests: Sequence[NamedRequest]) -> list[dict[str, Any]]:
    """Golden requests as the store keeps them (JSON, what was written and no more)."""
    return [r.model_dump() for r in requests]


def restore_requests(dumped: Sequence[dict[str, Any]]) -> list[NamedRequest]:
    """The inverse of :func:`dump_requests`."""
    return [NamedRequest.model_validate(d) for d in dumped]
