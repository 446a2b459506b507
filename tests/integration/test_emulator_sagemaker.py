"""The emulator's SageMaker endpoint lifecycle in moto decorator mode."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from smgitops.local.emulator import (
    emulated_aws,
    set_update_delay,
    set_weights_delay,
    simulate_traffic,
)
from smgitops.local.emulator.sagemaker import backend, lifecycle
from tests.builders import IMAGE
from tests.support.emulator import (
    ROLE,
    client,
    create_config,
    create_model,
    deploy,
    variant,
    wait_for_status,
    weights,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

SLOW = 0.5  # long enough to observe Updating between two calls
FAST = 0.05


@pytest.fixture
def sm() -> Iterator[Any]:
    with emulated_aws(update_delay=FAST, weights_delay=0, seed=7):
        yield client("sagemaker")


@pytest.fixture
def live(sm: Any) -> Any:
    """Endpoint `churn` InService on config `v1` (variant `blue`, model `m1`)."""
    create_model(sm, "m1")
    create_model(sm, "m2")
    create_config(sm, "v1", [variant("blue", "m1", count=2)])
    create_config(sm, "v2", [variant("blue", "m1", 1.0, 2), variant("green", "m2", 0.0, 1)])
    deploy(sm, "churn", "v1")
    return sm


class HeldTime:
    """The emulator's SageMaker clock held still: a transition ends when the test says so,
    whatever the load (``time`` otherwise)."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> HeldTime:
    clock = HeldTime()
    monkeypatch.setattr(backend, "time", clock)
    monkeypatch.setattr(lifecycle, "time", clock)
    return clock


def error_of(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_create_endpoint_goes_through_creating(sm: Any, held: HeldTime) -> None:
    set_update_delay(SLOW)
    create_model(sm, "m1")
    create_config(sm, "v1", [variant("blue", "m1")])
    sm.create_endpoint(EndpointName="churn", EndpointConfigName="v1")
    assert sm.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "Creating"
    assert [e["EndpointStatus"] for e in sm.list_endpoints()["Endpoints"]] == ["Creating"]
    held.now += SLOW * 0.9
    assert sm.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "Creating"
    held.now += SLOW * 0.1
    described = wait_for_status(sm, "churn", "InService")
    assert weights(described) == {"blue": 1.0}
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 1


def test_update_shows_updating_on_the_old_config_then_the_new_variants(live: Any) -> None:
    set_update_delay(SLOW)
    started = time.monotonic()
    live.update_endpoint(EndpointName="churn", EndpointConfigName="v2")
    during = live.describe_endpoint(EndpointName="churn")
    assert during["EndpointStatus"] == "Updating"
    assert during["EndpointConfigName"] == "v1"
    assert weights(during) == {"blue": 1.0}
    assert during["PendingDeploymentSummary"]["EndpointConfigName"] == "v2"

    after = wait_for_status(live, "churn", "InService")
    assert time.monotonic() - started >= SLOW * 0.9
    assert after["EndpointConfigName"] == "v2"
    assert weights(after) == {"blue": 1.0, "green": 0.0}
    green = after["ProductionVariants"][1]
    assert (green["DesiredWeight"], green["CurrentInstanceCount"]) == (0.0, 1)
    assert "PendingDeploymentSummary" not in after
    assert "FailureReason" not in after


def test_update_while_updating_is_rejected(live: Any) -> None:
    set_update_delay(SLOW)
    live.update_endpoint(EndpointName="churn", EndpointConfigName="v2")
    code, message = error_of(live.update_endpoint, EndpointName="churn", EndpointConfigName="v1")
    assert code == "ValidationException"
    assert message.startswith("Cannot update in-progress endpoint")
    code, _ = error_of(
        live.update_endpoint_weights_and_capacities,
        EndpointName="churn",
        DesiredWeightsAndCapacities=[{"VariantName": "blue", "DesiredWeight": 1.0}],
    )
    assert code == "ValidationException"


def test_update_validates_endpoint_and_config(live: Any) -> None:
    code, message = error_of(live.update_endpoint, EndpointName="nope", EndpointConfigName="v2")
    assert (code, "Could not find endpoint" in message) == ("ValidationException", True)
    code, message = error_of(live.update_endpoint, EndpointName="churn", EndpointConfigName="v9")
    assert "Could not find endpoint configuration" in message


def test_update_to_a_missing_model_keeps_serving_the_old_config(live: Any) -> None:
    live.delete_model(ModelName="m2")
    live.update_endpoint(EndpointName="churn", EndpointConfigName="v2")
    time.sleep(FAST * 2)
    after = wait_for_status(live, "churn", "InService")
    assert after["EndpointConfigName"] == "v1"
    assert weights(after) == {"blue": 1.0}
    assert after["FailureReason"] == (
        'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/m2".'
    )


def test_failure_mode_failed_ends_the_endpoint_failed(sm: Any) -> None:
    with emulated_aws(update_delay=FAST, weights_delay=0, failure_mode="failed"):
        sm = client("sagemaker")
        create_model(sm, "m1")
        create_model(sm, "bad", {"SMGITOPS_SIM_DEPLOY_FAILURE": "1"})
        create_config(sm, "v1", [variant("blue", "m1")])
        create_config(sm, "v2", [variant("green", "bad")])
        deploy(sm, "churn", "v1")
        sm.update_endpoint(EndpointName="churn", EndpointConfigName="v2")
        failed = wait_for_status(sm, "churn", "Failed")
        assert "did not pass the ping health check" in failed["FailureReason"]
        _, message = error_of(sm.update_endpoint, EndpointName="churn", EndpointConfigName="v1")
        assert message.startswith("Cannot update failed endpoint")


def test_create_with_a_failing_model_ends_failed(sm: Any) -> None:
    create_model(sm, "bad", {"SMGITOPS_SIM_DEPLOY_FAILURE": "image pull failed"})
    create_config(sm, "v1", [variant("blue", "bad")])
    sm.create_endpoint(EndpointName="churn", EndpointConfigName="v1")
    failed = wait_for_status(sm, "churn", "Failed")
    assert failed["FailureReason"] == "image pull failed"


def test_weight_only_update_keeps_counts_and_accepts_zero(live: Any) -> None:
    live.update_endpoint(EndpointName="churn", EndpointConfigName="v2")
    wait_for_status(live, "churn", "InService")
    live.update_endpoint_weights_and_capacities(
        EndpointName="churn",
        DesiredWeightsAndCapacities=[
            {"VariantName": "blue", "DesiredWeight": 0.0},
            {"VariantName": "green", "DesiredWeight": 1.0},
        ],
    )
    after = live.describe_endpoint(EndpointName="churn")
    assert weights(after) == {"blue": 0.0, "green": 1.0}
    counts = {v["VariantName"]: v["CurrentInstanceCount"] for v in after["ProductionVariants"]}
    assert counts == {"blue": 2, "green": 1}
    code, _ = error_of(
        live.update_endpoint_weights_and_capacities,
        EndpointName="churn",
        DesiredWeightsAndCapacities=[{"VariantName": "red", "DesiredWeight": 1.0}],
    )
    assert code == "ValidationException"


def test_weights_delay_shows_desired_before_current(live: Any) -> None:
    set_weights_delay(SLOW)
    try:
        live.update_endpoint_weights_and_capacities(
            EndpointName="churn",
            DesiredWeightsAndCapacities=[{"VariantName": "blue", "DesiredInstanceCount": 3}],
        )
        during = live.describe_endpoint(EndpointName="churn")["ProductionVariants"][0]
        assert (during["CurrentInstanceCount"], during["DesiredInstanceCount"]) == (2, 3)
        after = wait_for_status(live, "churn", "InService")["ProductionVariants"][0]
        assert after["CurrentInstanceCount"] == 3
    finally:
        set_weights_delay(0.0)


def test_retain_all_variant_properties_keeps_live_weights(live: Any) -> None:
    live.update_endpoint_weights_and_capacities(
        EndpointName="churn",
        DesiredWeightsAndCapacities=[{"VariantName": "blue", "DesiredWeight": 0.3}],
    )
    live.update_endpoint(
        EndpointName="churn", EndpointConfigName="v2", RetainAllVariantProperties=True
    )
    after = wait_for_status(live, "churn", "InService")
    assert weights(after) == {"blue": 0.3, "green": 0.0}


def test_shadow_variants_are_kept(sm: Any) -> None:
    create_model(sm, "m1")
    create_model(sm, "m2")
    shadow = variant("shadow", "m2", 0.5)
    create_config(sm, "v1", [variant("blue", "m1")], shadows=[shadow])
    config = sm.describe_endpoint_config(EndpointConfigName="v1")
    assert config["ShadowProductionVariants"][0]["VariantName"] == "shadow"
    described = deploy(sm, "churn", "v1")
    shadows = described["ShadowProductionVariants"]
    assert [(s["VariantName"], s["CurrentWeight"]) for s in shadows] == [("shadow", 0.5)]
    _, message = error_of(
        sm.create_endpoint_config,
        EndpointConfigName="v2",
        ProductionVariants=[variant("a", "m1"), variant("b", "m1")],
        ShadowProductionVariants=[shadow],
    )
    assert "exactly one variant" in message


def test_creating_what_exists_is_rejected(live: Any) -> None:
    _, message = error_of(live.create_endpoint, EndpointName="churn", EndpointConfigName="v2")
    assert message.startswith("Cannot create already existing endpoint")
    _, message = error_of(
        live.create_endpoint_config,
        EndpointConfigName="v1",
        ProductionVariants=[variant("blue", "m1")],
    )
    assert message.startswith("Cannot create already existing endpoint configuration")
    _, message = error_of(
        live.create_model, ModelName="m1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}
    )
    assert message.startswith("Cannot create already existing model")


def test_configs_and_models_can_be_deleted_while_the_endpoint_serves(live: Any) -> None:
    live.delete_endpoint_config(EndpointConfigName="v1")
    live.delete_model(ModelName="m1")
    assert live.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "InService"
    assert simulate_traffic("churn", 3).counts() == {"blue": 3}  # the deployed model serves
    code, _ = error_of(live.describe_endpoint_config, EndpointConfigName="v1")
    assert code == "ValidationException"
    code, _ = error_of(live.delete_model, ModelName="m1")
    assert code == "ValidationException"


def package_group(sm: Any) -> str:
    sm.create_model_package_group(ModelPackageGroupName="churn")
    container = {
        "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        "ModelDataUrl": "s3://ml-models/churn/v42/model.tar.gz",
        "Environment": {"SMGITOPS_SIM_RESPONSE": "0.87"},
    }
    arn: str = sm.create_model_package(
        ModelPackageGroupName="churn",
        InferenceSpecification={
            "Containers": [container],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    return arn


@pytest.mark.parametrize("status", ["Approved", "Rejected", "PendingManualApproval"])
def test_model_package_approval_statuses(sm: Any, status: str) -> None:
    arn = package_group(sm)
    assert arn.endswith(":model-package/churn/1")
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["ModelPackageVersion"] == 1
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
    assert sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == status
    listed = sm.list_model_packages(ModelPackageGroupName="churn", ModelApprovalStatus=status)
    assert [p["ModelPackageArn"] for p in listed["ModelPackageSummaryList"]] == [arn]


def test_models_from_packages_deploy_with_the_package_container(sm: Any) -> None:
    arn = package_group(sm)
    sm.create_model(ModelName="pkg", ExecutionRoleArn=ROLE, Containers=[{"ModelPackageName": arn}])
    sm.create_model(
        ModelName="pkg2", ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": arn}
    )
    assert sm.describe_model(ModelName="pkg")["Containers"] == [{"ModelPackageName": arn}]
    create_config(sm, "v1", [variant("blue", "pkg")])
    described = deploy(sm, "churn", "v1")
    image = described["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"]
    assert image.endswith("sagemaker-xgboost:1.7-1")
    missing = arn.replace("/1", "/9")
    _, message = error_of(
        sm.create_model,
        ModelName="ghost",
        ExecutionRoleArn=ROLE,
        Containers=[{"ModelPackageName": missing}],
    )
    assert "not found" in message
