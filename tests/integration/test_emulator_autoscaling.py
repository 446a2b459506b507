"""The emulator's Application Auto Scaling for SageMaker variants (docs/emulator.md): what moto
5.2.5 lacks, each behaviour with its AWS source in smgitops.local.emulator.autoscaling."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from smgitops.declaration.autoscaling import SCALABLE_DIMENSION, resource_id
from smgitops.local.emulator import scale_variant
from tests.support.emulator import (
    client,
    create_config,
    deploy,
    instant_sagemaker,
    variant,
    wait_for_status,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

TARGET = {"ServiceNamespace": "sagemaker", "ScalableDimension": SCALABLE_DIMENSION}
POLICY = {
    "TargetValue": 100.0,
    "PredefinedMetricSpecification": {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    },
}


@pytest.fixture
def sm() -> Iterator[Any]:
    """Endpoint `churn` InService on config `v1` (variant `blue`, 2 instances)."""
    with instant_sagemaker("m1", "m2") as sm:
        create_config(sm, "v1", [variant("blue", "m1", count=2)])
        create_config(sm, "green-only", [variant("green", "m2", count=1)])
        create_config(sm, "both", [variant("blue", "m1", 1.0, 2), variant("green", "m2", 0.0, 1)])
        deploy(sm, "churn", "v1")
        yield sm


@pytest.fixture
def aas(sm: Any) -> Any:
    return client("application-autoscaling")


def register(aas: Any, name: str = "blue", **capacity: int) -> None:
    aas.register_scalable_target(ResourceId=resource_id("churn", name), **TARGET, **capacity)


def count(sm: Any, name: str = "blue") -> int:
    out = sm.describe_endpoint(EndpointName="churn")
    [found] = [v for v in out["ProductionVariants"] if v["VariantName"] == name]
    return int(found["DesiredInstanceCount"])


def error_of(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_registering_moves_the_instance_count_into_the_range(sm: Any, aas: Any) -> None:
    register(aas, MinCapacity=3, MaxCapacity=8)
    assert count(sm) == 3
    register(aas, MaxCapacity=3)  # an update: what is not given stays
    assert count(sm) == 3
    register(aas, MinCapacity=1, MaxCapacity=2)
    assert count(sm) == 2


def test_a_new_target_needs_both_bounds_in_order(sm: Any, aas: Any) -> None:
    code, _ = error_of(
        aas.register_scalable_target,
        ResourceId=resource_id("churn", "blue"),
        MinCapacity=2,
        **TARGET,
    )
    assert code == "ValidationException"
    code, message = error_of(
        aas.register_scalable_target,
        ResourceId=resource_id("churn", "blue"),
        MinCapacity=5,
        MaxCapacity=2,
        **TARGET,
    )
    assert code == "ValidationException" and "greater than maximum" in message


def test_a_policy_needs_a_registered_target(sm: Any, aas: Any) -> None:
    code, _ = error_of(
        aas.put_scaling_policy,
        PolicyName="p",
        PolicyType="TargetTrackingScaling",
        ResourceId=resource_id("churn", "blue"),
        TargetTrackingScalingPolicyConfiguration=POLICY,
        **TARGET,
    )
    assert code == "ObjectNotFoundException"


def test_deregistering_deletes_the_policies_and_is_not_found_twice(sm: Any, aas: Any) -> None:
    register(aas, MinCapacity=1, MaxCapacity=4)
    aas.put_scaling_policy(
        PolicyName="p",
        PolicyType="TargetTrackingScaling",
        ResourceId=resource_id("churn", "blue"),
        TargetTrackingScalingPolicyConfiguration=POLICY,
        **TARGET,
    )
    aas.deregister_scalable_target(ResourceId=resource_id("churn", "blue"), **TARGET)
    assert aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    code, _ = error_of(
        aas.deregister_scalable_target, ResourceId=resource_id("churn", "blue"), **TARGET
    )
    assert code == "ObjectNotFoundException"


def test_sagemaker_refuses_to_remove_a_scaled_variant(sm: Any, aas: Any) -> None:
    register(aas, MinCapacity=1, MaxCapacity=4)
    code, message = error_of(
        sm.update_endpoint, EndpointName="churn", EndpointConfigName="green-only"
    )
    assert code == "ValidationException" and "scalable target" in message
    # adding a variant beside it is fine, and keeps its count (RetainAllVariantProperties)
    sm.update_endpoint(
        EndpointName="churn", EndpointConfigName="both", RetainAllVariantProperties=True
    )
    wait_for_status(sm, "churn", "InService")
    aas.deregister_scalable_target(ResourceId=resource_id("churn", "blue"), **TARGET)
    sm.update_endpoint(EndpointName="churn", EndpointConfigName="green-only")
    wait_for_status(sm, "churn", "InService")


def test_sagemaker_refuses_to_change_a_scaled_variants_instance_type(sm: Any, aas: Any) -> None:
    create_config(
        sm, "bigger", [{**variant("blue", "m1", count=2), "InstanceType": "ml.m5.xlarge"}]
    )
    register(aas, MinCapacity=1, MaxCapacity=4)
    code, message = error_of(sm.update_endpoint, EndpointName="churn", EndpointConfigName="bigger")
    assert code == "ValidationException" and "instance type" in message


def test_deleting_the_endpoint_deregisters_its_targets(sm: Any, aas: Any) -> None:
    register(aas, MinCapacity=1, MaxCapacity=4)
    sm.delete_endpoint(EndpointName="churn")
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []


def test_scale_variant_acts_as_the_policy_would(sm: Any, aas: Any) -> None:
    with pytest.raises(ValueError, match="not a scalable target"):
        scale_variant("churn", "blue", 5)
    register(aas, MinCapacity=2, MaxCapacity=6)
    assert scale_variant("churn", "blue", 5) == 5
    assert count(sm) == 5
    assert scale_variant("churn", "blue", 50) == 6, "never above max"
    register(aas, SuspendedState={"DynamicScalingInSuspended": True})
    assert scale_variant("churn", "blue", 2) == 6, "scale-in suspended"
    assert count(sm) == 6
