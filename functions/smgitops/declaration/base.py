"""What every declaration model shares: the model config (:class:`DeclarationModel`), durations
(``30s`` / ``5m`` / ``1h``) and the "listed twice" rule.

Same conventions as :mod:`smgitops.declaration.models` (frozen, ``extra="forbid"``, camelCase
aliases, strict numbers, ``ValueError`` messages that read well after ``file:line: field:``).
This module imports nothing from ``models`` so that ``models`` can import it (one direction).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

if TYPE_CHECKING:
    from pydantic.config import JsonDict

DURATION = re.compile(r"^(?P<value>\d+)(?P<unit>s|m|h)$", re.ASCII)
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}
DURATION_SCHEMA: JsonDict = {"pattern": r"^\d+(s|m|h)$"}


class DeclarationModel(BaseModel):
    """The model config of every declaration model (``declaration.models._Model`` is one)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=False,
        field_title_generator=lambda name, _info: to_camel(name),
    )


def parse_duration(value: str | int) -> int:
    """``30s`` / ``5m`` / ``1h`` (or a number of seconds) to seconds."""
    if isinstance(value, int):
        return value
    match = DURATION.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a duration like 30s, 5m or 1h")
    return int(match["value"]) * DURATION_UNITS[match["unit"]]


def check_duration(value: object, field: str, low: int, high: int, high_text: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"{field} needs a unit: {value}s, or minutes (5m), hours (1h)")
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a duration like 30s, 5m or 1h")
    seconds = parse_duration(value)
    if not low <= seconds <= high:
        raise ValueError(f"{field} must be between {low}s and {high_text}")
    return value


def refuse_repeated(labels: list[str], what: str, hint: str = "") -> None:
    """``ValueError`` naming what is listed more than once (``what twice: a, b``)."""
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise ValueError(f"{what} twice: {', '.join(twice)}{hint}")
