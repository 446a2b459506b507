"""What SageMaker accepts, read from botocore's service model (the one the functions ship with).

The declaration is checked against these shapes so that ``smgitops validate`` refuses what
``CreateModel`` / ``CreateEndpointConfig`` would refuse later, in the middle of a rollout:

- ``ProductionVariantInstanceType``: the instance types that exist (an enum in the model);
- ``TagKey`` / ``TagValue``: ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*`` (checked with
  :func:`unicodedata.category`, which is what ``\\p{L}``, ``\\p{Z}`` and ``\\p{N}`` mean);
- ``ContainerDefinition.Environment``: "The maximum length of all keys and values in the map,
  combined, is 32 KB" (the member's documentation; the model has no field for it).

The model is read once per process (about 0.2 s), the first time a declaration needs it.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Any, Final

from botocore.loaders import Loader

ENVIRONMENT_BYTES: Final = 32 * 1024
MAX_TAGS: Final = 50  # sagemaker TagList max
_TAG_PUNCTUATION: Final = frozenset("_.:/=+-@")
_TAG_CATEGORIES: Final = ("L", "Z", "N")  # \p{L}, \p{Z}, \p{N}


@cache
def _shapes() -> dict[str, Any]:
    model: dict[str, Any] = Loader().load_service_model("sagemaker", "service-2")
    shapes: dict[str, Any] = model["shapes"]
    return shapes


@cache
def instance_types() -> tuple[str, ...]:
    """Every ``ProductionVariantInstanceType`` of this botocore, in the model's order."""
    return tuple(_shapes()["ProductionVariantInstanceType"]["enum"])


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
