"""Every request the emulator receives is checked against botocore's service model (emulator only).

botocore's client-side validation checks types, required members and minimums; AWS checks the
rest of the model on its side: maximum lengths, ``pattern``, ``enum`` and numeric ranges, and
answers ``ValidationException`` ("1 validation error detected: Value 'x' at 'endpointName'
failed to satisfy constraint: Member must have length less than or equal to 63"). moto checks
almost none of it, so a request AWS would refuse passed every test. :func:`patch` wraps moto's
``BaseResponse.call_action`` — the one place every request of every service goes through, in
decorator mode and in server mode — so the emulator refuses such a request the way AWS does,
before moto sees it.

Patterns are Java regular expressions and are matched against the whole value (AWS's
``matches()``), with the ``regex`` module for ``\\p{L}`` and friends. :data:`RULES` adds the
documented limits the model does not carry (for example SageMaker's 32 KB container
environment). Disabled for one block with :func:`relaxed` (a test that wants moto's own answer).
"""

from __future__ import annotations

import logging
import re
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import regex
from moto.core.exceptions import ServiceException
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.request import determine_request_protocol
from moto.core.responses import ActionResult
from moto.core.utils import get_service_model

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from botocore.model import OperationModel, Shape

logger = logging.getLogger(__name__)
_MARKER = "_smgitops_conformance"
_STATE = threading.local()
_PATTERNS: dict[str, regex.Pattern[str] | None] = {}
_NUMERIC = ("integer", "long", "float", "double", "short", "byte")
# Java's surrogate-pair ranges (botocore copies them verbatim) mean "any supplementary character"
_SURROGATES = re.compile(r"\\uD800\\uDC00-\\uDBFF\\uDFFF", re.IGNORECASE)
ENVIRONMENT_LIMIT = 32 * 1024  # bytes, all keys and values of one container together


class ValidationError(ServiceException):
    """What AWS answers a request outside its model (json protocols: ``ValidationException``)."""

    code = "ValidationException"


class QueryValidationError(ServiceException):
    """The same refusal in a query-protocol service (CloudWatch, SNS): ``ValidationError``."""

    code = "ValidationError"


def _compiled(pattern: str) -> regex.Pattern[str] | None:
    if pattern not in _PATTERNS:
        try:
            _PATTERNS[pattern] = regex.compile(_SURROGATES.sub(r"\\U00010000-\\U0010FFFF", pattern))
        except regex.error:  # pragma: no cover - every pattern of the services we use compiles
            logger.warning("conformance: cannot compile pattern %r; not checked", pattern)
            _PATTERNS[pattern] = None
    return _PATTERNS[pattern]


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _bounds(shape: Shape, measured: float, what: str, shown: str, path: str) -> Iterator[str]:
    """``min``/``max`` of ``what`` ("length" or "value") as AWS words a breach."""
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    for limit, breached, words in (
        (low, low is not None and measured < low, "greater than or equal to"),
        (high, high is not None and measured > high, "less than or equal to"),
    ):
        if breached:
            yield (
                f"Value {shown}at '{path}' failed to satisfy constraint: "
                f"Member must have {what} {words} {limit}"
            )


def _length(shape: Shape, value: Any, path: str) -> Iterator[str]:
    shown = "" if shape.type_name in ("list", "map") else f"'{_shown(value)}' "
    yield from _bounds(shape, len(value), "length", shown, path)


def _string(shape: Shape, value: str, path: str) -> Iterator[str]:
    yield from _length(shape, value, path)
    if shape.enum and value not in shape.enum:
        yield (
            f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
        )
    pattern = shape.metadata.get("pattern")
    compiled = _compiled(pattern) if pattern else None
    if compiled is not None and compiled.fullmatch(value) is None:
        yield (
            f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern}"
        )


def _number(shape: Shape, value: float, path: str) -> Iterator[str]:
    yield from _bounds(shape, value, "value", f"'{value}' ", path)


def _member(name: str) -> str:
    return name[:1].lower() + name[1:]


def violations(shape: Shape | None, value: Any, path: str = "") -> Iterator[str]:
    """Each way ``value`` breaks ``shape``'s constraints, in AWS's wording (paths like AWS's)."""
    if shape is None or value is None:
        return
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                yield from violations(member, value[name], f"{path}.{_member(name)}".lstrip("."))
    elif kind == "list" and isinstance(value, list):
        yield from _length(shape, value, path)
        for index, item in enumerate(value, start=1):
            yield from violations(shape.member, item, f"{path}.{index}.member")
    elif kind == "map" and isinstance(value, dict):
        yield from _length(shape, value, path)
        for key, item in value.items():
            yield from violations(shape.key, key, f"{path}.{key}.key")
            yield from violations(shape.value, item, f"{path}.{key}.value")
    elif kind == "string" and isinstance(value, str):
        yield from _string(shape, value, path)
    elif kind == "blob" and isinstance(value, bytes | str):
        yield from _length(shape, value, path)
    elif kind in _NUMERIC and isinstance(value, int | float) and not isinstance(value, bool):
        yield from _number(shape, value, path)


def _containers(params: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(params.get("PrimaryContainer"), dict):
        yield "primaryContainer", params["PrimaryContainer"]
    for index, container in enumerate(params.get("Containers") or [], start=1):
        if isinstance(container, dict):
            yield f"containers.{index}.member", container


def _environment_size(params: dict[str, Any]) -> Iterator[str]:
    """SageMaker ``ContainerDefinition.Environment``: "The maximum length of all keys and values
    in the map, combined, is 32 KB" (botocore ``sagemaker`` documentation of the member)."""
    for path, container in _containers(params):
        environment = container.get("Environment") or {}
        size = sum(len(k.encode()) + len(str(v).encode()) for k, v in environment.items())
        if size > ENVIRONMENT_LIMIT:
            yield (
                f"Value at '{path}.environment' failed to satisfy constraint: the combined "
                f"length of all keys and values ({size} bytes) must be at most 32 KB"
            )


_ECR_HOST = re.compile(r"\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.[a-z0-9.-]+/.+")


def _ecr_images(params: dict[str, Any]) -> Iterator[str]:
    """``ContainerDefinition.ImageConfig``: "Platform - The model image is hosted in Amazon
    ECR" unless ``RepositoryAccessMode`` is ``Vpc``; SageMaker's answer is quoted in
    aws/sagemaker-python-sdk#4700."""
    for _, container in _containers(params):
        image = container.get("Image")
        mode = (container.get("ImageConfig") or {}).get("RepositoryAccessMode", "Platform")
        if isinstance(image, str) and mode != "Vpc" and _ECR_HOST.fullmatch(image) is None:
            yield (
                f'Using non-ECR image "{image}" without Vpc repository access mode is not '
                "supported."
            )


def _create_model(params: dict[str, Any]) -> Iterator[str]:
    yield from _environment_size(params)
    yield from _ecr_images(params)


# (service, operation) -> documented limits the model does not carry
RULES: dict[tuple[str, str], Callable[[dict[str, Any]], Iterator[str]]] = {
    ("sagemaker", "CreateModel"): _create_model,
}


def check(service: str, operation: OperationModel, params: dict[str, Any]) -> list[str]:
    """Every constraint of the operation's input that ``params`` breaks (empty: conforming)."""
    found = list(violations(operation.input_shape, params))
    rule = RULES.get((service, operation.name))
    if rule is not None:
        found.extend(rule(params))
    return found


def refusal(protocol: str, found: list[str]) -> ServiceException:
    """AWS's answer: "N validation error(s) detected: ..." joined by "; "."""
    noun = "error" if len(found) == 1 else "errors"
    message = f"{len(found)} validation {noun} detected: " + "; ".join(found)
    cls = QueryValidationError if protocol == "query" else ValidationError
    return cls(message)


@contextmanager
def relaxed() -> Iterator[None]:
    """Let requests through unchecked in this thread (decorator mode) for the block."""
    previous = getattr(_STATE, "relaxed", False)
    _STATE.relaxed = True
    try:
        yield
    finally:
        _STATE.relaxed = previous


def _parsed(response: Any) -> tuple[str, OperationModel, str, dict[str, Any]] | None:
    """(service, operation, protocol, params) of the request, or None when it has no model."""
    service_name = getattr(response, "boto3_service_name", None) or getattr(
        response, "service_name", None
    )
    request = getattr(response, "normalized_request", None)
    if not service_name or request is None:
        return None
    try:
        service_model = get_service_model(service_name)
        operation = service_model.operation_model(response._get_action())
        protocol = determine_request_protocol(service_model, request.content_type)
        parser = PROTOCOL_PARSERS[protocol](operation, map_type=dict)
        params = parser.parse(
            {
                "method": request.method,
                "values": request.values,
                "headers": request.headers,
                "body": request.data,
                "url_path": request.path,
                "url_params": response.uri_match,
            }
        )
    except Exception:
        logger.debug("conformance: request not checked", exc_info=True)
        return None
    return str(service_name), operation, protocol, params


def patch(base_response: Any) -> None:
    """Check every request against its model before moto's ``call_action`` runs it (once)."""
    if getattr(base_response, _MARKER, False):
        return
    original = base_response.call_action

    def call_action(self: Any) -> Any:
        parsed = None if getattr(_STATE, "relaxed", False) else _parsed(self)
        if parsed is not None:
            service, operation, protocol, params = parsed
            found = check(service, operation, params)
            if found:
                status, headers, body = self.serialized(ActionResult(refusal(protocol, found)))
                return status, headers, body
        return original(self)

    base_response.call_action = call_action
    setattr(base_response, _MARKER, True)
