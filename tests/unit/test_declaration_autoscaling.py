"""spec.autoscaling (issue 17): declared, validated with file:line, part of the content hash but
not of the variant's name (a change of scaling alone updates the live variant)."""

from __future__ import annotations

import pytest

from smgitops.declaration.autoscaling import AutoscalingSpec
from smgitops.declaration.loader import load_text
from smgitops.rollout import naming
from tests.unit.test_declaration_loader import FILE, VALID, assert_one, insert

SCALED = insert(
    13,
    """\
  autoscaling:
    minInstances: 2
    maxInstances: 8
    target: {metric: InvocationsPerInstance, value: 200}
    scaleInCooldown: 5m
    scaleOutCooldown: 1m""",
)
# line numbers in SCALED: instanceCount 13, autoscaling 14, minInstances 15, maxInstances 16,
# target 17, scaleInCooldown 18, scaleOutCooldown 19


def edit(line: int, text: str) -> str:
    lines = SCALED.splitlines()
    lines[line - 1] = text
    return "\n".join(lines) + "\n"


def test_a_scaled_declaration_loads() -> None:
    spec = load_text(SCALED, FILE).spec.autoscaling
    assert spec is not None
    assert (spec.min_instances, spec.max_instances) == (2, 8)
    assert (spec.scale_in_cooldown_seconds, spec.scale_out_cooldown_seconds) == (300, 60)


@pytest.mark.parametrize(
    ("line", "text", "where", "field", "fragment"),
    [
        (13, "  instanceCount: 9", 14, "spec.autoscaling", "instanceCount 9 is outside 2..8"),
        (15, "    minInstances: 9", 14, "spec.autoscaling", "minInstances 9 is above maxInstances"),
        (
            15,
            "    minInstances: 0",
            15,
            "spec.autoscaling.minInstances",
            "greater than or equal to 1",
        ),
        (
            16,
            "    maxInstances: 101",
            16,
            "spec.autoscaling.maxInstances",
            "less than or equal to 100",
        ),
        (15, '    minInstances: "2"', 15, "spec.autoscaling.minInstances", "whole number"),
        (
            17,
            "    target: {metric: RequestsPerSecond, value: 200}",
            17,
            "spec.autoscaling.target.metric",
            "InvocationsPerInstance",
        ),
        (
            17,
            "    target: {metric: InvocationsPerInstance, value: 0}",
            17,
            "spec.autoscaling.target",
            "positive",
        ),
        (
            17,
            "    target: {metric: MemoryUtilization, value: 120}",
            17,
            "spec.autoscaling.target",
            "above 100",
        ),
        (
            18,
            "    scaleInCooldown: 25h",
            18,
            "spec.autoscaling.scaleInCooldown",
            "between 0s and 24h",
        ),
        (19, "    scaleOutCooldown: 60", 19, "spec.autoscaling.scaleOutCooldown", "needs a unit"),
    ],
)
def test_every_refusal_is_located(
    line: int, text: str, where: int, field: str, fragment: str
) -> None:
    assert_one(edit(line, text), where, field, fragment)


def test_scaling_is_in_the_content_hash_but_not_the_variant_name() -> None:
    plain, scaled = load_text(VALID, FILE), load_text(SCALED, FILE)
    wider = load_text(edit(16, "    maxInstances: 10"), FILE)
    assert plain.content_hash() != scaled.content_hash() != wider.content_hash()
    assert naming.variant_name(plain) == naming.variant_name(scaled) == naming.variant_name(wider)
    # without autoscaling the variant name is still the content hash (names already live stay)
    assert naming.variant_name(plain) == f"v-{plain.content_hash()[:12]}"


def test_the_policy_is_botocores_shape() -> None:
    predefined = load_text(SCALED, FILE).spec.autoscaling
    assert predefined is not None
    assert predefined.policy_configuration("churn", "v-1") == {
        "TargetValue": 200.0,
        "ScaleInCooldown": 300,
        "ScaleOutCooldown": 60,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
        },
    }
    cpu = AutoscalingSpec.model_validate(
        {"minInstances": 1, "maxInstances": 4, "target": {"metric": "CPUUtilization", "value": 60}}
    )
    custom = cpu.policy_configuration("churn", "v-1")["CustomizedMetricSpecification"]
    assert custom == {
        "MetricName": "CPUUtilization",
        "Namespace": "/aws/sagemaker/Endpoints",
        "Dimensions": [
            {"Name": "EndpointName", "Value": "churn"},
            {"Name": "VariantName", "Value": "v-1"},
        ],
        "Statistic": "Average",
        "Unit": "Percent",
    }


def test_the_policy_matches_botocores_model() -> None:
    """Every key and enum value of the policy is one botocore's application-autoscaling model
    knows (the emulator refuses the rest, like AWS)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("application-autoscaling")
    shape = model.shape_for("TargetTrackingScalingPolicyConfiguration")
    metric_types = model.shape_for("MetricType").enum
    for metric in ("InvocationsPerInstance", "CPUUtilization", "GPUMemoryUtilization"):
        spec = AutoscalingSpec.model_validate(
            {"minInstances": 1, "maxInstances": 2, "target": {"metric": metric, "value": 50}}
        )
        config = spec.policy_configuration("e", "v")
        assert set(config) <= set(shape.members)
        predefined = config.get("PredefinedMetricSpecification")
        if predefined:
            assert predefined["PredefinedMetricType"] in metric_types


def test_serverless_has_no_instances_to_scale() -> None:
    text = SCALED.replace("  instanceType: ml.m5.large\n  instanceCount: 2\n", "")
    text = text.replace(
        "  autoscaling:\n",
        "  serverless: {memorySizeMB: 2048, maxConcurrency: 10}\n  autoscaling:\n",
    ).replace("strategy: canary", "strategy: allAtOnce")
    checks = text.index("    analysis:\n")
    text = text[:checks] + "    analysis: none\n"
    assert_one(text, 13, "spec.autoscaling", "serverless endpoint has none")
