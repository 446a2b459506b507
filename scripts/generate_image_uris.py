#!/usr/bin/env python3
"""Generate ``functions/smgitops/data/image_uris.json`` from the SageMaker SDK (build time only).

The Lambda functions must not carry the SageMaker SDK (hundreds of MB), yet a declaration may
name its container as ``model.framework: {name: xgboost, version: "1.7-1"}``. This script asks
the SDK (``sagemaker.core.image_uris``, from the optional ``sdk`` extra: sagemaker-core) for the
inference image of every selected framework version, processor and region, and writes the
answers to a small JSON table that ships with the functions::

    {"frameworks": {name: {version: {processor: {region: image URI}}}}, "sdk": ..., ...}

Usage (from the repository root, in an environment with the sdk extra)::

    python scripts/generate_image_uris.py            # rewrite the table
    python scripts/generate_image_uris.py --check    # exit 1 if the table is out of date

The output is deterministic (sorted keys, no timestamp), so a regenerated table only differs
when the SDK knows new images; review that diff like any other.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.metadata
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "functions" / "smgitops" / "data" / "image_uris.json"
SDK_DISTRIBUTION = "sagemaker-core"

# Framework -> oldest version to include. Older images are deprecated or unpatched; widen
# here (and regenerate) if a team still serves one. The names are the SDK's.
SELECTION: dict[str, str] = {
    "xgboost": "1.2-1",
    "sklearn": "1.0-1",
    "pytorch": "2.0.0",
    "tensorflow": "2.13.0",
    # Large models: Hugging Face's PyTorch inference DLC (by transformers version; from 4.28.1
    # each has one PyTorch base), Text Generation Inference (TGI) on GPUs and on AWS Neuron, and
    # DJL Serving's large model inference (LMI) images on GPUs and on AWS Neuron.
    "huggingface": "4.28.1",
    "huggingface-llm": "2.0.0",
    "huggingface-llm-neuronx": "0.0.25",
    "djl-lmi": "0.28.0",
    "djl-neuronx": "0.28.0",
}
# Frameworks whose SDK config names no processor: the one kind of accelerator their images serve
# (djl-lmi tags say cuXYZ; djl-neuronx tags say neuronx).
PROCESSORS_OF: dict[str, list[str]] = {"djl-lmi": ["gpu"], "djl-neuronx": ["neuron"]}
# The SDK's processor names as the table names them ("inf2" images run on Inferentia2, Trainium).
PROCESSOR_NAME = {"inf2": "neuron"}
# An instance type per processor: the SDK derives the image's processor from it.
INSTANCE_FOR = {"cpu": "ml.m5.large", "gpu": "ml.g5.xlarge", "neuron": "ml.inf2.xlarge"}
_NUMBER = re.compile(r"\d+")


def version_key(version: str) -> tuple[int, ...]:
    """``1.7-1`` -> (1, 7, 1); ``1.4-2-py312`` -> (1, 4, 2): the numeric parts before a suffix."""
    parts: list[int] = []
    for part in re.split(r"[.\-]", version):
        if not _NUMBER.fullmatch(part):
            break
        parts.append(int(part))
    return tuple(parts)


def _image_uris() -> Any:
    try:  # the sdk extra only: imported by name, so that type checks need no SDK
        common_utils: Any = importlib.import_module("sagemaker.core.common_utils")
        image_uris: Any = importlib.import_module("sagemaker.core.image_uris")
    except ImportError:
        sys.exit(
            "generate_image_uris: the SageMaker SDK is not installed; "
            "pip install -e '.[sdk]' (sagemaker-core) first"
        )
    # retrieve() re-reads botocore's endpoint data (a large JSON file) on every call, which
    # makes ~1,700 look-ups take minutes; the data does not change within a run.
    common_utils._botocore_resolver = functools.cache(common_utils._botocore_resolver)
    return image_uris


def _pytorch_base(framework: str, version: str, entry: dict[str, Any]) -> str | None:
    """The PyTorch base of a Hugging Face DLC version (``pytorch2.6.0``); None elsewhere."""
    if framework != "huggingface":
        return None
    bases = [key for key in entry if key.startswith("pytorch")]
    if len(bases) != 1:
        sys.exit(f"generate_image_uris: huggingface {version} has PyTorch bases {bases}, not one")
    return bases[0]


def framework_table(image_uris: Any, framework: str, oldest: str) -> dict[str, Any]:
    """version -> processor -> region -> URI, for the inference images of one framework."""
    config = image_uris.config_for_framework(framework)
    scope = config.get("inference", config)
    table: dict[str, Any] = {}
    for version, versioned in scope["versions"].items():
        if version_key(version) < version_key(oldest):
            continue
        base = _pytorch_base(framework, version, versioned)
        entry = versioned[base] if base else versioned
        sdk_processors = entry.get("processors") or scope.get("processors") or ["cpu"]
        processors = PROCESSORS_OF.get(framework) or [
            PROCESSOR_NAME.get(p, p) for p in sdk_processors
        ]
        py_versions = entry.get("py_versions") or [None]
        extra = {"base_framework_version": base} if base else {}
        by_processor: dict[str, dict[str, str]] = {}
        for processor in sorted(p for p in processors if p in INSTANCE_FOR):
            by_processor[processor] = {
                region: image_uris.retrieve(
                    framework,
                    region=region,
                    version=version,
                    py_version=py_versions[-1],
                    instance_type=INSTANCE_FOR[processor],
                    image_scope="inference",
                    **extra,
                )
                for region in sorted(entry["registries"])
            }
        table[version] = by_processor
    return table


def gpu_counts(image_uris: Any) -> dict[str, int]:
    """GPUs per instance type, as the SDK knows them (its instance_gpu_info, all regions)."""
    counts: dict[str, int] = {}
    for by_type in image_uris.config_for_framework("instance_gpu_info").values():
        for instance_type, info in by_type.items():
            counts[instance_type] = max(counts.get(instance_type, 0), int(info["Count"]))
    return dict(sorted(counts.items()))


def generate() -> dict[str, Any]:
    image_uris = _image_uris()
    return {
        "comment": "Generated by scripts/generate_image_uris.py; do not edit by hand.",
        "sdk": f"{SDK_DISTRIBUTION} {importlib.metadata.version(SDK_DISTRIBUTION)}",
        "scope": "inference",
        "frameworks": {
            name: framework_table(image_uris, name, oldest)
            for name, oldest in sorted(SELECTION.items())
        },
        "gpus": gpu_counts(image_uris),
    }


def render(table: dict[str, Any]) -> str:
    return json.dumps(table, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="compare with --output instead of writing it"
    )
    args = parser.parse_args(argv)
    text = render(generate())
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run scripts/generate_image_uris.py")
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output} ({len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
