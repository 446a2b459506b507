"""The declaration models: the shipped examples, defaults, and the content hash."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from smgitops.declaration.base import parse_duration
from smgitops.declaration.loader import load_text, load_tree
from smgitops.declaration.models import Declaration, Strategy
from smgitops.errors import DeclarationError
from tests.unit.test_declaration_loader import FILE, VALID, insert, replace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def hash_of(text: str) -> str:
    return load_text(text, FILE).content_hash()


# ----------------------------------------------------------------- examples


def test_every_example_is_valid_and_every_strategy_has_one() -> None:
    result = load_tree(EXAMPLES, "endpoints")
    assert result.valid, [str(problem) for problem in result.problems]
    assert len(result.files) == len(Strategy)
    strategies = {decl.spec.rollout.strategy for decl in result.declarations.values()}
    assert strategies == set(Strategy)


@pytest.mark.parametrize("path", sorted((EXAMPLES / "endpoints").glob("*.yaml")), ids=str)
def test_examples_round_trip_through_a_json_dump(path: Path) -> None:
    """Rollout status stores ``model_dump(mode="json", by_alias=True)`` and reads it back."""
    declaration = load_text(path.read_text(), path.name)
    stored = declaration.model_dump(mode="json", by_alias=True)
    restored = Declaration.model_validate(stored)
    assert restored == declaration
    assert restored.content_hash() == declaration.content_hash()


def test_defaults_are_what_the_documentation_says() -> None:
    minimal = "\n".join(line for line in VALID.splitlines()[:13]) + "\n"
    with pytest.raises(DeclarationError, match=r":6: spec.rollout: canary shifts user traffic"):
        load_text(minimal, FILE)  # the defaults are a canary with no check: said, not assumed
    minimal += "  rollout: {analysis: none}\n"
    spec = load_text(minimal, FILE).spec
    rollout = spec.rollout
    assert rollout.strategy is Strategy.CANARY
    assert rollout.steps == [10, 50]
    assert rollout.interval == "5m"
    assert rollout.interval_seconds == 300
    assert rollout.step_weight == 10
    assert rollout.split == 20
    assert rollout.max_failed_checks == 1
    assert rollout.analysis.alarms == []
    assert rollout.analysis.metrics == []
    without_count = load_text(replace(13, "  # instanceCount defaults to 1", minimal), FILE)
    assert without_count.spec.instance_count == 1


def test_model_package_is_an_alternative_to_an_image() -> None:
    text = replace(
        8,
        "    modelPackageArn: arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/42",
        replace(9, ""),
    )
    model = load_text(text, FILE).spec.model
    assert model.image is None
    assert model.model_package_arn is not None


def test_image_without_model_data_is_allowed() -> None:
    assert load_text(replace(9, ""), FILE).spec.model.model_data_url is None


@pytest.mark.parametrize(
    "image",
    [
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-gpu-py310",
        "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/acme/models/churn:v42",
        "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/churn",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/acme/churn@sha256:" + "a" * 64,
    ],
)
def test_plausible_images_are_accepted(image: str) -> None:
    assert load_text(replace(8, f"    image: {image}"), FILE).spec.model.image == image


def test_parse_duration() -> None:
    assert [parse_duration(v) for v in ("30s", "5m", "1h", " 2m ", 45)] == [30, 300, 3600, 120, 45]
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("5 minutes")


def test_python_code_may_still_use_attribute_names() -> None:
    declaration = load_text(VALID, FILE)
    copy = Declaration.model_validate(declaration.model_dump())
    assert copy == declaration


# ----------------------------------------------------------------- content hash

REORDERED = """\
# the same endpoint, written differently
kind: Endpoint
spec:
  instanceCount: 2
  rollout: {interval: 5m, steps: [10, 25, 50], strategy: canary,
            analysis: {metrics: [{max: 5, statistic: Sum, metric: Invocation5XXErrors}],
                       alarms: [churn-5xx-rate]}}
  instanceType: "ml.m5.large"
  model:
    environment:
      SAGEMAKER_PROGRAM: 'inference.py'     # quoted or not, the same string
    executionRoleArn: arn:aws:iam::123456789012:role/SageMakerExecution
    modelDataUrl: >-
      s3://ml-models/churn/v42/model.tar.gz
    image:     683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1
metadata: {tags: {team: risk}, name: churn-predictor}
apiVersion: smgitops/v1
"""


def test_the_hash_is_pinned() -> None:
    """Resource names derive from it: a change here renames every live model."""
    assert hash_of(VALID) == "fe1e65c0f32a8197d3a891e166072d06a7f4f5d63012a93869f99b336761938f"


def test_the_hash_ignores_key_order_whitespace_comments_and_quoting() -> None:
    assert load_text(REORDERED, FILE) == load_text(VALID, FILE)
    assert hash_of(REORDERED) == hash_of(VALID)
    assert hash_of(insert(11, "    # a comment\n\n")) == hash_of(VALID)


def test_the_hash_ignores_environment_order() -> None:
    two = replace(11, "    environment: {A: '1', B: '2'}")
    swapped = replace(11, "    environment:\n      B: '2'\n      A: '1'")
    assert hash_of(two) == hash_of(swapped)


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (8, "    image: 683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-2"),
        (9, "    modelDataUrl: s3://ml-models/churn/v43/model.tar.gz"),
        (10, "    executionRoleArn: arn:aws:iam::123456789012:role/Other"),
        (11, "    environment: {SAGEMAKER_PROGRAM: serve.py}"),
        (11, "    environment: {}"),
        (12, "  instanceType: ml.m5.xlarge"),
        (13, "  instanceCount: 3"),
    ],
    ids=["image", "modelDataUrl", "role", "environment", "no environment", "type", "count"],
)
def test_a_change_of_model_or_instances_changes_the_hash(line: int, text: str) -> None:
    assert hash_of(replace(line, text)) != hash_of(VALID)


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (15, "    strategy: linear"),
        (16, "    steps: [5, 50]"),
        (17, "    interval: 1h"),
        (19, "      alarms: []"),
        (21, "        - {metric: ModelLatency, max: 9}"),
        (5, "  tags: {team: ops}"),
    ],
    ids=["strategy", "steps", "interval", "alarms", "metrics", "tags"],
)
def test_a_rollout_or_tag_change_keeps_the_hash(line: int, text: str) -> None:
    changed = replace(line, text)
    assert load_text(changed, FILE) != load_text(VALID, FILE)
    assert hash_of(changed) == hash_of(VALID)


def test_deployable_is_canonical_json_by_yaml_names() -> None:
    deployable = load_text(VALID, FILE).deployable()
    assert deployable == {
        "model": {
            "image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "modelDataUrl": "s3://ml-models/churn/v42/model.tar.gz",
            "executionRoleArn": "arn:aws:iam::123456789012:role/SageMakerExecution",
            "environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        },
        "instanceType": "ml.m5.large",
        "instanceCount": 2,
    }
    assert yaml.safe_dump(deployable)  # plain data, no model objects


def test_the_copied_sagemaker_shapes_are_botocores() -> None:
    """Regenerate with scripts/generate_sagemaker_shapes.py after a botocore upgrade."""
    from botocore.loaders import Loader

    from smgitops.declaration import aws_shapes

    model = Loader().load_service_model("sagemaker", "service-2")["shapes"]
    enum = model["ProductionVariantInstanceType"]["enum"]
    assert list(aws_shapes.instance_types()) == enum
    for shape, copied in aws_shapes.shapes()["limits"].items():
        keys = ("min", "max", "pattern", "enum")
        assert copied == {key: model[shape][key] for key in keys if key in model[shape]}, shape
