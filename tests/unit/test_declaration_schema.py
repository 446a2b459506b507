"""The JSON Schema editors use agrees with the loader on what a declaration is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from smgitops.declaration.schema import SCHEMA_DIALECT, json_schema
from tests.unit.test_declaration_loader import insert, replace

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "endpoints").glob("*.yaml"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_header_for_editors() -> None:
    schema = json_schema()
    assert list(schema)[:3] == ["$schema", "$id", "title"]
    assert schema["$schema"] == SCHEMA_DIALECT
    assert schema["required"] == ["apiVersion", "kind", "metadata", "spec"]
    assert schema["additionalProperties"] is False
    assert schema["examples"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_examples_satisfy_the_schema(
    validator: jsonschema.Draft202012Validator, path: Path
) -> None:
    assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == []


def test_the_schema_examples_satisfy_the_schema(validator: jsonschema.Draft202012Validator) -> None:
    for example in json_schema()["examples"]:
        assert list(validator.iter_errors(example)) == []


@pytest.mark.parametrize(
    "text",
    [
        insert(13, "  replicas: 3"),
        replace(4, "  name: -churn"),
        replace(16, "    steps: [0, 50]"),
        replace(9, "    modelDataUrl: https://bucket/model.tar.gz"),
        replace(10, "    executionRoleArn: arn:aws:iam::123456789012:user/bob"),
        replace(8, "    image: xgboost"),
        replace(12, "  instanceType: m5.large"),
        replace(17, "    interval: 5 minutes"),
        replace(13, "  instanceCount: '2'"),
        insert(
            10, "    modelPackageArn: arn:aws:sagemaker:us-east-1:123456789012:model-package/c/1"
        ),
        replace(8, "    # no image", replace(9, "")),
    ],
    ids=[
        "unknown",
        "name",
        "step",
        "s3",
        "role",
        "image",
        "instanceType",
        "interval",
        "count",
        "both sources",
        "no source",
    ],
)
def test_the_schema_rejects_what_the_loader_rejects(
    validator: jsonschema.Draft202012Validator, text: str
) -> None:
    assert list(validator.iter_errors(yaml.safe_load(text))) != []


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = list(schema.get("properties", {}).items())
    for definition in schema.get("$defs", {}).values():
        found.extend(definition.get("properties", {}).items())
    return found


def test_every_field_is_described_and_named_as_in_yaml() -> None:
    schema = json_schema()
    for name, prop in _properties(schema):
        assert "_" not in name, name
        if "$ref" in prop:
            target = prop["$ref"].rsplit("/", 1)[-1]
            assert schema["$defs"][target].get("description"), name
        else:
            assert prop.get("description"), name
            assert prop.get("title") == name


def test_defaults_are_in_the_schema() -> None:
    rollout = json_schema()["$defs"]["RolloutSpec"]["properties"]
    assert rollout["steps"]["default"] == [10, 50]
    assert rollout["interval"]["default"] == "5m"
    assert rollout["strategy"]["default"] == "canary"
    assert rollout["maxFailedChecks"]["default"] == 1
