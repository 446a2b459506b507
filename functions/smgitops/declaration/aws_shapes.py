"""What SageMaker accepts, from botocore's service model (the one the functions ship with).

The declaration is checked against these shapes so that ``smgitops validate`` refuses what
``CreateModel`` / ``CreateEndpointConfig`` would refuse later, in the middle of a rollout:

- ``ProductionVariantInstanceType``: the instance types that exist (an enum in the model);
- ``TagKey`` / ``TagValue``: ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*`` (checked with
  :func:`unicodedata.category`, which is what ``\\p{L}``, ``\\p{Z}`` and ``\\p{N}`` mean);
- ``ContainerDefinition.Environment``: "The maximum length of all keys and values in the map,
  combined, is 32 KB" (the member's documentation; the model has no field for it).

- the production fields of DESIGN §6 (VPC ids, volume size, timeouts, routing strategy,
  serverless memory and concurrency, data capture, KMS key): each shape's ``min``/``max``,
  ``pattern`` and ``enum`` (:func:`limit`).

The instance types and limits are a copy of the model's in ``data/sagemaker_shapes.json``
(``scripts/generate_sagemaker_shapes.py``; a test compares it with the installed botocore), so
a cold start does not load the whole sagemaker model.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

ENVIRONMENT_BYTES: Final = 32 * 1024
MAX_TAGS: Final = 50  # sagemaker TagList max
_TAG_PUNCTUATION: Final = frozenset("_.:/=+-@")
_TAG_CATEGORIES: Final = ("L", "Z", "N")  # \p{L}, \p{Z}, \p{N}


DATA_FILE: Final = "data/sagemaker_shapes.json"


@cache
def shapes() -> dict[str, Any]:
    """The copied values: ``{"botocore": version, "ProductionVariantInstanceType": [...],
    "limits": {shape: {min, max, pattern, enum}}}``."""
    text = resources.files("smgitops").joinpath(DATA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def instance_types() -> tuple[str, ...]:
    """Every ``ProductionVariantInstanceType`` of botocore's model, in the model's order."""
    return tuple(shapes()["ProductionVariantInstanceType"])


@dataclass(frozen=True, slots=True)
class Limit:
    """A shape's constraints as botocore states them (a length, a count or a value)."""

    shape: str
    min: int | None = None
    max: int | None = None
    pattern: str | None = None
    enum: tuple[str, ...] = ()


@cache
def limit(shape: str) -> Limit:
    """The ``min``/``max``/``pattern``/``enum`` of one shape (KeyError: not copied)."""
    found = shapes()["limits"][shape]
    return Limit(
        shape=shape,
        min=found.get("min"),
        max=found.get("max"),
        pattern=found.get("pattern"),
        enum=tuple(found.get("enum", ())),
    )


def tag_text_ok(text: str) -> bool:
    """True if ``text`` fits the ``TagKey``/``TagValue`` pattern (letters, spaces, digits,
    and ``_ . : / = + - @``)."""
    return all(
        char in _TAG_PUNCTUATION or unicodedata.category(char)[0] in _TAG_CATEGORIES
        for char in text
    )


def environment_bytes(environment: dict[str, str]) -> int:
    """The size SageMaker limits to 32 KB: every key and value, UTF-8 encoded."""
    return sum(len(key.encode()) + len(value.encode()) for key, value in environment.items())
