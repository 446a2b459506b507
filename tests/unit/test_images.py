"""``model.framework``: the image shorthand, its load-time checks and its rollout-time lookup."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from smgitops.declaration import images
from smgitops.declaration.loader import load_text
from smgitops.declaration.models import (
    IMAGE_URI,
    TRUSTED,
    Declaration,
    FrameworkSpec,
    ModelSpec,
)
from smgitops.declaration.schema import json_schema
from smgitops.errors import ImageResolutionError
from smgitops.rollout.decide.resources import resolve_image
from tests.unit.test_declaration_loader import FILE, VALID, problems_of, replace

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "generate_image_uris.py"
TABLE = ROOT / "functions" / "smgitops" / "data" / "image_uris.json"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = XGBOOST_US_EAST_1 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

# VALID with lines 8-9 (image, modelDataUrl) replaced by a framework shorthand.
FRAMEWORK = replace(
    8,
    '    framework: {name: xgboost, version: "1.7-1"}',
    replace(9, "    modelDataUrl: s3://ml-models/churn/v42/model.tar.gz"),
)


def framework_text(*lines: str) -> str:
    """VALID with ``image`` (line 8) replaced by the given framework lines (from line 8 on)."""
    return replace(8, "\n".join(lines))


def model(**fields: object) -> ModelSpec:
    return ModelSpec.model_validate({"executionRoleArn": ROLE, **fields})


# --------------------------------------------------------------------------- resolution


@pytest.mark.parametrize(
    ("framework", "region", "expected"),
    [
        ({"name": "xgboost", "version": "1.7-1"}, "us-east-1", XGBOOST_US_EAST_1),
        (
            {"name": "xgboost", "version": "1.7-1"},
            "eu-west-1",
            "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        ),
        (
            {"name": "sklearn", "version": "1.2-1"},
            "us-west-2",
            "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        ),
        (
            {"name": "pytorch", "version": "2.1.0", "processor": "gpu"},
            "us-east-1",
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-gpu-py310",
        ),
        (
            {"name": "pytorch", "version": "2.1.0"},
            "us-east-1",
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-cpu-py310",
        ),
        (
            {"name": "xgboost", "version": "1.7-1"},
            "cn-north-1",
            "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1",
        ),
    ],
    ids=["xgboost", "other-region", "sklearn", "pytorch-gpu", "pytorch-cpu-default", "china"],
)
def test_a_known_framework_resolves_to_the_sdk_image_of_the_region(
    framework: dict[str, str], region: str, expected: str
) -> None:
    assert resolve_image(model(framework=framework), region) == expected


def test_an_image_is_used_as_declared_and_a_package_names_its_own() -> None:
    assert resolve_image(model(image=XGBOOST_US_EAST_1), "eu-west-1") == XGBOOST_US_EAST_1
    package = model(modelPackageArn="arn:aws:sagemaker:us-east-1:123456789012:model-package/c/1")
    assert resolve_image(package, "us-east-1") is None


def test_an_unknown_region_fails_at_rollout_time_naming_close_regions() -> None:
    spec = model(framework={"name": "xgboost", "version": "1.7-1"})
    with pytest.raises(ImageResolutionError) as caught:
        resolve_image(spec, "eu-west-9")
    message = str(caught.value)
    assert "xgboost 1.7-1 (cpu)" in message
    assert "'eu-west-9'" in message
    assert "eu-west-1" in message.split("closest:")[1]


def test_a_framework_missing_from_a_table_is_a_resolution_error() -> None:
    spec = FrameworkSpec(name="xgboost", version="1.7-1")
    empty = images.ImageTable(frameworks={}, sdk="")
    with pytest.raises(ImageResolutionError, match="not in the image table"):
        images.framework_image(spec.name, spec.version, spec.processor, "us-east-1", empty)


# --------------------------------------------------------------------------- load time


def test_a_framework_declaration_loads() -> None:
    declaration = load_text(FRAMEWORK, FILE)
    framework = declaration.spec.model.framework
    assert framework is not None
    assert (framework.name, framework.version, framework.processor) == ("xgboost", "1.7-1", "cpu")
    assert declaration.spec.model.image is None
    assert resolve_image(declaration.spec.model, "us-east-1") == XGBOOST_US_EAST_1


@pytest.mark.parametrize(
    ("lines", "line", "field", "expected"),
    [
        (
            ["    framework:", "      name: xgboost", '      version: "1.7-2"'],
            10,
            "spec.model.framework.version",
            "unknown xgboost version '1.7-2'; closest known: 1.7-1",
        ),
        (
            ["    framework:", "      name: pytorch", '      version: "2.1"'],
            10,
            "spec.model.framework.version",
            "closest known: 2.1.0",
        ),
        (
            ["    framework:", "      name: xgb", '      version: "1.7-1"'],
            9,
            "spec.model.framework.name",
            "unknown framework 'xgb'; did you mean 'xgboost'?",
        ),
        (
            [
                "    framework:",
                "      name: xgboost",
                '      version: "1.7-1"',
                "      processor: gpu",
            ],
            11,
            "spec.model.framework.processor",
            "xgboost 1.7-1 has no gpu image; processor: cpu",
        ),
        (
            ["    framework:", "      name: tensorflow", "      version: 2.16"],
            10,
            "spec.model.framework.version",
            "must be a string (got 2.16); quote the value",
        ),
        (
            ["    framework:", "      name: xgboost", '      version: "1.7-1"', "      tag: x"],
            11,
            "spec.model.framework.tag",
            "unknown field",
        ),
    ],
    ids=["version", "short-version", "name", "processor", "unquoted", "unknown-field"],
)
def test_an_unknown_framework_is_located_with_the_closest_known_values(
    lines: list[str], line: int, field: str, expected: str
) -> None:
    problems = problems_of(framework_text(*lines))
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{FILE}:{line}: {field}: ")
    assert expected in problems[0]


def test_the_closest_versions_are_the_nearest_ones() -> None:
    with pytest.raises(ValueError, match="closest known") as caught:
        images.check_version("tensorflow", "2.16.0")
    closest = caught.value.args[0].split("closest known: ")[1].split(" (")[0].split(", ")
    assert closest[0] == "2.16.1"
    assert set(closest) <= set(images.table().versions("tensorflow"))
    assert len(closest) == images.CLOSEST
    known = ["2.13.0", "2.14.1", "2.16.1", "2.18.0", "2.20.0"]
    assert images.closest_versions("2.15.0", known, 2) == ["2.14.1", "2.16.1"]
    assert images.closest_versions("2.18", known, 1) == ["2.18.0"]
    assert images.closest_versions("1.7-2", ["1.2-1", "1.5-1", "1.7-1", "3.0-5"], 1) == ["1.7-1"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["    image: " + XGBOOST_US_EAST_1], "not both: image and framework"),
        (
            ["    modelPackageArn: arn:aws:sagemaker:us-east-1:123456789012:model-package/c/1"],
            "not both: framework and modelPackageArn",
        ),
        (
            [
                "    image: " + XGBOOST_US_EAST_1,
                "    modelPackageArn: arn:aws:sagemaker:us-east-1:123456789012:model-package/c/1",
            ],
            "not all three",
        ),
    ],
    ids=["image", "package", "all-three"],
)
def test_exactly_one_model_source(extra: list[str], expected: str) -> None:
    text = replace(8, "\n".join(['    framework: {name: xgboost, version: "1.7-1"}', *extra]))
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].startswith(f"{FILE}:7: spec.model: ")
    assert expected in problems[0]


def test_a_package_takes_no_model_data_url() -> None:
    with pytest.raises(ValueError, match="modelPackageArn or image/framework \\+ modelDataUrl"):
        model(
            modelPackageArn="arn:aws:sagemaker:us-east-1:123456789012:model-package/c/1",
            modelDataUrl="s3://ml-models/churn/v42/model.tar.gz",
        )


# --------------------------------------------------------------------------- content hash


def _canonical_hash(deployable: dict[str, object]) -> str:
    text = json.dumps(deployable, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_hash_of_an_existing_declaration_did_not_change() -> None:
    declaration = load_text(VALID, FILE)
    # Computed with the models before `framework` existed (commit b2bc6a2).
    pinned = "fe1e65c0f32a8197d3a891e166072d06a7f4f5d63012a93869f99b336761938f"
    assert declaration.content_hash() == pinned
    assert "framework" not in declaration.deployable()["model"]


def test_framework_is_part_of_the_hash_only_when_used() -> None:
    declaration = load_text(FRAMEWORK, FILE)
    expected_model = {
        "framework": {"name": "xgboost", "version": "1.7-1", "processor": "cpu"},
        "modelDataUrl": "s3://ml-models/churn/v42/model.tar.gz",
        "executionRoleArn": ROLE,
        "environment": {"SAGEMAKER_PROGRAM": "inference.py"},
    }
    deployable = {"model": expected_model, "instanceType": "ml.m5.large", "instanceCount": 2}
    assert declaration.content_hash() == _canonical_hash(deployable)
    explicit_cpu = FRAMEWORK.replace('"1.7-1"}', '"1.7-1", processor: cpu}')
    assert load_text(explicit_cpu, FILE).content_hash() == declaration.content_hash()
    newer = FRAMEWORK.replace('"1.7-1"', '"3.0-5"')
    assert load_text(newer, FILE).content_hash() != declaration.content_hash()
    image = load_text(VALID, FILE)  # the same image, written out: a different declaration
    assert image.content_hash() != declaration.content_hash()


# --------------------------------------------------------------------------- schema


def test_the_schema_describes_framework() -> None:
    schema = json_schema()
    spec = schema["$defs"]["FrameworkSpec"]
    assert spec["required"] == ["name", "version"]
    assert spec["properties"]["name"]["enum"] == images.table().names()
    assert {"huggingface-llm", "djl-lmi"} < set(images.table().names())
    assert spec["properties"]["processor"]["default"] == "cpu"
    model_properties = schema["$defs"]["ModelSpec"]["properties"]
    assert model_properties["framework"]["anyOf"][0] == {"$ref": "#/$defs/FrameworkSpec"}
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(yaml.safe_load(FRAMEWORK))) == []
    both = replace(
        8, f"    framework: {{name: xgboost, version: '1.7-1'}}\n    image: {XGBOOST_US_EAST_1}"
    )
    assert list(validator.iter_errors(yaml.safe_load(both))) != []
    unknown = FRAMEWORK.replace("xgboost", "xgb")
    assert list(validator.iter_errors(yaml.safe_load(unknown))) != []


# --------------------------------------------------------------------------- the table


def test_every_image_in_the_table_is_a_valid_declared_image() -> None:
    table = images.table()
    assert table.sdk.startswith("sagemaker-core ")
    count = 0
    for name in table.names():
        for version in table.versions(name):
            for processor in table.processors(name, version):
                regions = table.regions(name, version, processor)
                assert "us-east-1" in regions, (name, version, processor)
                for region in regions:
                    uri = table.frameworks[name][version][processor][region]
                    assert IMAGE_URI.fullmatch(uri), uri
                    assert f".{region}." in uri, uri
                    count += 1
    assert count > 1000


def _sdk_python() -> str | None:
    """An interpreter with the sdk extra: this one, or the throwaway .venv-sdk if present."""
    if importlib.util.find_spec("sagemaker") is not None:
        return sys.executable
    candidate = ROOT / ".venv-sdk" / "bin" / "python"
    return str(candidate) if candidate.exists() else None


@pytest.mark.slow
def test_the_table_is_reproducible_from_the_script(tmp_path: Path) -> None:
    python = _sdk_python()
    if python is None:
        pytest.skip(
            "the sdk extra (sagemaker-core) is not installed here, nor in .venv-sdk: "
            "python -m venv .venv-sdk && .venv-sdk/bin/pip install sagemaker-core==2.27.0"
        )
    output = tmp_path / "image_uris.json"
    subprocess.run(
        [python, str(SCRIPT), "--output", str(output)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert output.read_text() == TABLE.read_text()


def test_the_script_selects_what_the_table_holds() -> None:
    spec = importlib.util.spec_from_file_location("generate_image_uris", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    table = images.table()
    assert sorted(script.SELECTION) == table.names()
    for name, oldest in script.SELECTION.items():
        versions = table.versions(name)
        assert min(versions, key=script.version_key) == oldest
    assert script.version_key("1.4-2-py312") == (1, 4, 2)
    assert (
        script.render({"b": 1, "a": {"d": 2, "c": 3}})
        == json.dumps({"a": {"c": 3, "d": 2}, "b": 1}, indent=1) + "\n"
    )


def test_a_declaration_can_be_built_in_python_with_a_framework() -> None:
    data = yaml.safe_load(FRAMEWORK)
    data["spec"]["model"]["framework"] = FrameworkSpec(name="sklearn", version="1.2-1")
    declaration = Declaration.model_validate(data)
    assert declaration.spec.model.framework == FrameworkSpec(name="sklearn", version="1.2-1")


def test_a_stored_declaration_is_read_back_without_the_table() -> None:
    """A rollout status keeps its declaration; a newer table without that version must not
    make it unreadable (the table is checked when the file is loaded)."""
    stored = load_text(FRAMEWORK, FILE).model_dump(mode="json", by_alias=True)
    stored["spec"]["model"]["framework"]["version"] = "0.9-retired"
    with pytest.raises(ValueError, match="unknown xgboost version"):
        Declaration.model_validate(stored)
    again = Declaration.model_validate(stored, context=TRUSTED)
    assert again.spec.model.framework is not None
    assert again.spec.model.framework.version == "0.9-retired"
    with pytest.raises(ImageResolutionError, match="not in the image table"):
        resolve_image(again.spec.model, "us-east-1")
