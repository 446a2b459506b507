"""pydantic's validation errors as the messages a declaration's author reads: YAML field names
(``spec.rollout.steps[2]``), plain wording, a guess for a misspelt field, and never the value of
an environment variable."""

from __future__ import annotations

import difflib
import json
import re
import types
from typing import TYPE_CHECKING, Any, Final, Union, get_args, get_origin

from pydantic import BaseModel

from smgitops.declaration.models import Declaration

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

    from smgitops.declaration.yaml_lines import FieldPath

_PLAIN_FIELD = re.compile(r"[A-Za-z0-9_\-]+")


def format_field(path: FieldPath) -> str:
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
    """``X | None`` to ``X`` (pydantic keeps no ``Annotated`` around a field's model)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _model_at(path: FieldPath, root: type[BaseModel] = Declaration) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``path`` of ``root``, if it is one."""
    current: Any = root
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
        else:  # a scalar, or a dict (no model of a declaration or an app config maps to models)
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unknown_field(path: FieldPath, root: type[BaseModel] = Declaration) -> str:
    model = _model_at(path[:-1], root)
    if model is None:
        return "unknown field"
    allowed = [info.alias or name for name, info in model.model_fields.items()]
    # the closest name (a snake_case spelling finds its camelCase field: a test checks each)
    close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
    if close:
        return f"unknown field; did you mean {close[0]!r}?"
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


def message_of(error: ErrorDetails, root: type[BaseModel] = Declaration) -> str:
    """A pydantic error of a ``root`` document (a declaration, ``.smgitops.yaml``) in words."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_field(tuple(error["loc"]), root)
    if kind == "value_error":  # a validator's own words (pydantic puts the exception in ctx)
        return str(error["ctx"]["error"])
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
    # (a missing field's input is the mapping around it: never shown)
    if value is not None and isinstance(value, _SCALAR_INPUTS):
        shown = repr(value) if not isinstance(value, str) or len(value) <= 60 else "a long string"
        message += f" (got {shown})"
        if kind == "string_type" and not isinstance(value, str):
            message += "; quote the value to make it a string"
    return message


def line_of(path: FieldPath, lines: dict[FieldPath, int], default: int) -> int:
    """The line of ``path`` or of its nearest ancestor that has one."""
    for end in range(len(path), 0, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return default


def covered(path: FieldPath, reported: set[FieldPath]) -> bool:
    return any(path[:end] in reported for end in range(len(path) + 1))
