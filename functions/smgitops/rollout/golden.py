"""Pre-traffic validation: golden requests sent to the candidate alone, and scored (pure but
for the ``invoke`` it is given). The requests as declared are :mod:`smgitops.declaration.golden`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from smgitops.declaration.golden import (
    ORDERED,
    FieldCheck,
    GoldenRequest,
    NamedRequest,
    Tolerance,
    is_number,
    parse_path,
    show,
)

_MISSING = object()


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


# --- evaluating one answer ----------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """What the candidate answered (or why it could not: ``error``)."""

    status: int
    body: bytes = b""
    content_type: str = ""
    error: str = ""


def _number(value: Any) -> float | None:
    """A number, or a string that holds one (CSV answers), else None."""
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _show(value: Any) -> str:
    return "nothing" if value is _MISSING else show(value)


def document(response: Response) -> Any:
    """The answer as JSON when it parses (``0.83`` from a CSV answer too), else stripped text."""
    text = response.body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.strip()


def _same(expected: Any, actual: Any) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1; strings compared stripped."""
    if is_number(expected) and is_number(actual):
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
