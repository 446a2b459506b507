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

Large-model images (Hugging Face TGI and its PyTorch DLC, DJL LMI) need more than a version:
an accelerator the image was built for (:func:`check_instance`: a GPU image on an NVIDIA
``ml.g*``/``ml.p*`` instance, a Neuron image on ``ml.inf2``/``ml.trn*``) and the environment
that tells the server what to load (:func:`check_environment`, :func:`check_parallelism`).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Final

from smgitops.errors import ImageResolutionError

DATA_FILE: Final = "data/image_uris.json"
PROCESSORS: Final = ("cpu", "gpu", "neuron")
CLOSEST: Final = 3
_VERSION_PARTS: Final = re.compile(r"[.\-]")
_FAR: Final = 1_000_000
COMMON_NAMES: Final = {
    "tgi": "huggingface-llm",
    "text-generation-inference": "huggingface-llm",
    "tgi-neuronx": "huggingface-llm-neuronx",
    "lmi": "djl-lmi",
    "djl": "djl-lmi",
    "hf": "huggingface",
    "transformers": "huggingface",
}
"""What people call an image, for the SDK's name (a hint only: one spelling per image)."""


@dataclass(frozen=True, slots=True)
class ImageTable:
    """The generated table: ``frameworks[name][version][processor][region] -> URI``."""

    frameworks: dict[str, dict[str, dict[str, dict[str, str]]]]
    sdk: str
    gpus: dict[str, int] = field(default_factory=dict)  # GPUs per type, as the SDK knows them

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageTable:
        return cls(
            frameworks=data["frameworks"],
            sdk=str(data.get("sdk", "")),
            gpus={str(k): int(v) for k, v in data.get("gpus", {}).items()},
        )

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
        guess = [COMMON_NAMES[name.lower()]] if name.lower() in COMMON_NAMES else []
        guess = guess or difflib.get_close_matches(name, known, n=1, cutoff=0.6)
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


# --- accelerators and the environment of large-model images ------------------------------

GPU_INSTANCE: Final = re.compile(r"ml\.[gp]\d[a-z0-9-]*\.[a-z0-9]+", re.ASCII)
"""NVIDIA GPU instances SageMaker hosts: ml.g4dn/g5/g6/g6e/g7/g7e and ml.p3…p6 families."""
NEURON_INSTANCE: Final = re.compile(r"ml\.(?:inf2|trn\d+n?)\.[a-z0-9]+", re.ASCII)
"""AWS Inferentia2 and Trainium instances, which Neuron (neuronx) images run on."""
ACCELERATOR: Final = {
    "gpu": (GPU_INSTANCE, "an NVIDIA GPU instance (ml.g4dn, ml.g5, ml.g6, ml.g6e, ml.p4d, ml.p5…)"),
    "neuron": (NEURON_INSTANCE, "an AWS Inferentia2 or Trainium instance (ml.inf2, ml.trn1…)"),
}

# What each large-model server reads to know its model (beside the artifact in modelDataUrl),
# and the variables that set how many accelerators it shards the model over.
MODEL_ID: Final = {
    "huggingface": ("HF_MODEL_ID",),
    "huggingface-llm": ("HF_MODEL_ID",),
    "huggingface-llm-neuronx": ("HF_MODEL_ID",),
    "djl-lmi": ("HF_MODEL_ID", "OPTION_MODEL_ID"),
    "djl-neuronx": ("HF_MODEL_ID", "OPTION_MODEL_ID"),
}
SERVER: Final = {
    "huggingface": "the Hugging Face inference toolkit",
    "huggingface-llm": "Text Generation Inference",
    "huggingface-llm-neuronx": "Text Generation Inference on Neuron",
    "djl-lmi": "DJL Serving (LMI)",
    "djl-neuronx": "DJL Serving (LMI) on Neuron",
}
SHARDS: Final = ("SM_NUM_GPUS", "TENSOR_PARALLEL_DEGREE", "OPTION_TENSOR_PARALLEL_DEGREE")
TOKEN_LIMITS: Final = (("MAX_INPUT_TOKENS", "MAX_INPUT_LENGTH"), "MAX_TOTAL_TOKENS")


def check_instance(name: str, version: str, processor: str, instance_type: str) -> None:
    """``ValueError`` when ``instance_type`` lacks the accelerator the image was built for."""
    needed = ACCELERATOR.get(processor)
    if needed is None or needed[0].fullmatch(instance_type):
        return
    raise ValueError(
        f"{name} {version} is a {processor} image: it needs {needed[1]}, not {instance_type}"
    )


def check_environment(name: str, environment: dict[str, str], model_data: bool) -> None:
    """``ValueError`` when a large-model server would not know which model to load: without
    ``modelDataUrl`` (SageMaker mounts it at /opt/ml/model) it needs the model's id."""
    wanted = MODEL_ID.get(name)
    if wanted is None or model_data or any(environment.get(key) for key in wanted):
        return
    raise ValueError(
        f"{name} ({SERVER[name]}) loads the model named by {' or '.join(wanted)} (a Hugging Face "
        "Hub id or an s3:// prefix) or the artifact in modelDataUrl: give one"
    )


def check_parallelism(
    name: str, processor: str, environment: dict[str, str], instance_type: str
) -> None:
    """``ValueError`` for a shard count the instance cannot hold, or token limits TGI refuses."""
    gpus = table().gpus.get(instance_type) if processor == "gpu" else None
    for key in SHARDS:
        value = environment.get(key)
        if value is None or (value == "max" and key != "SM_NUM_GPUS"):
            continue
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"environment {key}={value!r}: a whole number of devices, 1 or more")
        if gpus is not None and int(value) > gpus:
            raise ValueError(
                f"environment {key}={value}: {instance_type} has {gpus} GPU"
                f"{'s' if gpus != 1 else ''}, so the model cannot be sharded over {value}"
            )
    if name in ("huggingface-llm", "huggingface-llm-neuronx"):
        _check_token_limits(environment)


def _check_token_limits(environment: dict[str, str]) -> None:
    inputs, total_key = TOKEN_LIMITS
    total = environment.get(total_key)
    for key in inputs:
        value = environment.get(key)
        if value is None or total is None:
            continue
        if not (value.isdigit() and total.isdigit()):
            raise ValueError(f"environment {key} and {total_key} are whole numbers of tokens")
        if int(value) >= int(total):
            raise ValueError(
                f"environment {key}={value} must be below {total_key}={total}: TGI refuses to "
                "start otherwise (the input leaves no room for a generated token)"
            )


def single_processor(name: str, version: str) -> str | None:
    """The one processor a framework version has (TGI: gpu), None when it has several or the
    table does not know it."""
    known = table().processors(name, version)
    return known[0] if len(known) == 1 else None


SERVES: Final = {
    "xgboost": "XGBoost",
    "sklearn": "scikit-learn",
    "pytorch": "PyTorch (TorchServe)",
    "tensorflow": "TensorFlow Serving",
    **SERVER,
}


def markdown_rows(images: ImageTable | None = None) -> list[str]:
    """The frameworks as rows of the table in docs/declarations.md (a test keeps them equal):
    name, what serves, versions (oldest … newest), processors, what the environment needs."""
    images = images or table()
    rows = []
    for name in images.names():
        versions = sorted(images.versions(name), key=_version_order)
        processors = sorted({p for v in versions for p in images.processors(name, v)})
        ids = " or ".join(f"`{key}`" for key in MODEL_ID.get(name, ()))
        needs = f"{ids}, or `modelDataUrl`" if ids else "`modelDataUrl` (or a model in the image)"
        shown = versions if len(versions) <= 4 else [versions[0], "…", versions[-1]]
        listed = ", ".join(v if v == "…" else f'`"{v}"`' for v in shown)
        rows.append(
            f"| `{name}` | {SERVES.get(name, name)} | {listed} ({len(versions)}) "
            f"| {', '.join(processors)} | {needs} |"
        )
    return rows


def _version_order(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))
