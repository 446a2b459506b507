"""``model.framework``: a SageMaker framework image named by framework and version.

``framework: {name: xgboost, version: "1.7-1"}`` stands for the inference image the SageMaker
SDK would pick (``sagemaker.core.image_uris.retrieve``). The functions do not carry the SDK:
``scripts/generate_image_uris.py`` asks it once, at build time, and writes
``smgitops/data/image_uris.json`` (framework -> version -> processor -> region -> URI), read
here lazily and once per process.

Two checks, at two times:

* framework, version and processor are checked when the declaration is loaded
  (:func:`check_framework`, from the model's validators), naming the closest known versions;
* the region is only known where the rollout runs: :func:`framework_image` (called by the
  rollout's ``resolve_image``) raises :class:`~smgitops.errors.ImageResolutionError` for a
  region the table does not know.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from smgitops.errors import ImageResolutionError

DATA_FILE: Final = "data/image_uris.json"
PROCESSORS: Final = ("cpu", "gpu")
CLOSEST: Final = 3
_VERSION_PARTS: Final = re.compile(r"[.\-]")
_FAR: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class ImageTable:
    """The generated table: ``frameworks[name][version][processor][region] -> URI``."""

    frameworks: dict[str, dict[str, dict[str, dict[str, str]]]]
    sdk: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageTable:
        return cls(frameworks=data["frameworks"], sdk=str(data.get("sdk", "")))

    def names(self) -> list[str]:
        return sorted(self.frameworks)

    def versions(self, name: str) -> list[str]:
        return list(self.frameworks.get(name, {}))

    def processors(self, name: str, version: str) -> list[str]:
        return sorted(self.frameworks.get(name, {}).get(version, {}))

    def regions(self, name: str, version: str, processor: str) -> list[str]:
        return sorted(self.frameworks.get(name, {}).get(version, {}).get(processor, {}))


@cache
def table() -> ImageTable:
    """The table shipped with the package (read on first use)."""
    text = resources.files("smgitops").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return ImageTable.from_json(json.loads(text))


def closest(word: str, candidates: list[str], count: int = CLOSEST) -> list[str]:
    """The ``count`` candidates most like ``word`` (always some, when there are candidates)."""
    return difflib.get_close_matches(word, candidates, n=count, cutoff=0.0)


def closest_versions(version: str, known: list[str], count: int = CLOSEST) -> list[str]:
    """The ``count`` known versions nearest ``version``: the most leading parts in common
    (``2.1`` -> ``2.1.0``), then the smallest step in the first part that differs
    (``2.15.0`` -> ``2.14.1``, ``2.16.1``), then the most similar text (difflib)."""
    wanted = _VERSION_PARTS.split(version)

    def distance(candidate: str) -> tuple[int, int, float]:
        parts = _VERSION_PARTS.split(candidate)
        shared = 0
        while shared < min(len(parts), len(wanted)) and parts[shared] == wanted[shared]:
            shared += 1
        step = _FAR
        if shared < min(len(parts), len(wanted)):
            mine, theirs = wanted[shared], parts[shared]
            if mine.isdigit() and theirs.isdigit():
                step = abs(int(mine) - int(theirs))
        similarity = difflib.SequenceMatcher(None, version, candidate).ratio()
        return -shared, step, -similarity

    return sorted(known, key=distance)[:count]


def check_name(name: str, images: ImageTable | None = None) -> None:
    """Raise ``ValueError`` unless the table knows the framework ``name``."""
    images = images or table()
    known = images.names()
    if name not in known:
        guess = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"did you mean {guess[0]!r}? " if guess else ""
        raise ValueError(f"unknown framework {name!r}; {hint}known: {', '.join(known)}")


def check_version(name: str, version: str, images: ImageTable | None = None) -> None:
    """Raise ``ValueError``, naming the closest known versions, unless ``name`` has ``version``."""
    images = images or table()
    known = images.versions(name)
    if version not in known:
        raise ValueError(
            f"unknown {name} version {version!r}; closest known: "
            f"{', '.join(closest_versions(version, known))} "
            "(the image table comes from scripts/generate_image_uris.py)"
        )


def check_processor(
    name: str, version: str, processor: str, images: ImageTable | None = None
) -> None:
    """Raise ``ValueError`` unless ``name`` ``version`` has a ``processor`` image."""
    images = images or table()
    known = images.processors(name, version)
    if processor not in known:
        raise ValueError(
            f"{name} {version} has no {processor} image; processor: {' or '.join(known)}"
        )


def check_framework(name: str, version: str, processor: str) -> None:
    """Every load-time check of a framework shorthand, in reading order."""
    check_name(name)
    check_version(name, version)
    check_processor(name, version, processor)


def framework_image(
    name: str, version: str, processor: str, region: str, images: ImageTable | None = None
) -> str:
    """The image URI of a framework in ``region``; ``ImageResolutionError`` if unknown."""
    images = images or table()
    by_region = images.frameworks.get(name, {}).get(version, {}).get(processor, {})
    uri = by_region.get(region)
    if uri is not None:
        return uri
    label = f"{name} {version} ({processor})"
    if not by_region:
        raise ImageResolutionError(f"{label} is not in the image table")
    raise ImageResolutionError(
        f"no {label} image for region {region!r} in the image table; it has "
        f"{len(by_region)} regions, the closest: {', '.join(closest(region, sorted(by_region)))}"
    )
