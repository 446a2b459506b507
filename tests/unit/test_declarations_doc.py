"""docs/declarations.md's table against CloudFormation names every property of
``AWS::SageMaker::Model`` and ``AWS::SageMaker::EndpointConfig`` (and of the definitions a
declaration maps: ``ContainerDefinition``, ``ProductionVariant``, ``DataCaptureConfig``,
``ServerlessConfig``), read from cfn-lint's copy of the CloudFormation resource schemas: a
property AWS adds shows up here until the table says what a declaration does with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

DOC = Path(__file__).parents[2] / "docs" / "declarations.md"
SECTION = "## Against CloudFormation"
COVERED = {
    "AWS::SageMaker::Model": ("ContainerDefinition",),
    "AWS::SageMaker::EndpointConfig": (
        "ProductionVariant",
        "DataCaptureConfig",
        "ServerlessConfig",
    ),
}


def _table() -> str:
    text = DOC.read_text()
    start = text.index(SECTION)
    return text[start : text.index("\n## ", start + len(SECTION))]


def _properties(resource: str) -> set[str]:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource).schema
    read_only = {p.rsplit("/", 1)[-1] for p in schema.get("readOnlyProperties", [])}
    names = set(schema["properties"]) - read_only
    for definition in COVERED[resource]:
        names |= set(schema["definitions"][definition]["properties"])
    return names


@pytest.mark.parametrize("resource", sorted(COVERED))
def test_every_cloudformation_property_is_in_the_table(resource: str) -> None:
    spans = re.findall(r"`([^`]+)`", _table())  # `PrimaryContainer.Image` names both
    named = {word for span in spans for word in re.findall(r"[A-Za-z0-9]+", span)}
    assert _properties(resource) - named == set()
