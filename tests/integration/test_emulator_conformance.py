"""The emulator refuses what AWS refuses: botocore's model (lengths, patterns, enums, ranges) and
the documented limits the model does not carry, in decorator and in server mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from smgitops.aws import clients
from smgitops.declaration.loader import load_file
from smgitops.local.emulator import Emulator, conformance, emulated_aws
from smgitops.rollout.status import Phase
from tests.builders import IMAGE, ROLE
from tests.integration.conftest import Engine
from tests.support.emulator import put_manual_alarm

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "endpoints"


@pytest.fixture(params=["decorator", "server"])
def aws(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A client factory on the emulator, in each of its two modes."""
    if request.param == "decorator":
        with emulated_aws(update_delay=0):
            yield lambda service: boto3.client(service, region_name="us-east-1")
    else:
        with Emulator.start(update_delay=0) as emulator:
            yield emulator.client


def refusal(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    assert error["Code"] in ("ValidationException", "ValidationError"), error
    return str(error["Message"])


def _variant(**overrides: Any) -> dict[str, Any]:
    return {
        "VariantName": "a",
        "ModelName": "m",
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
        **overrides,
    }


def test_a_name_longer_than_the_model_allows_is_refused(aws: Any) -> None:
    message = refusal(
        aws("sagemaker").create_endpoint_config,
        EndpointConfigName="c" * 64,
        ProductionVariants=[_variant()],
    )
    assert message.startswith("2 validation errors detected: Value '" + "c" * 64 + "' at ")
    assert (
        "Value '" + "c" * 64 + "' at 'endpointConfigName' failed to satisfy constraint: "
        "Member must have length less than or equal to 63; "
    ) in message


def test_patterns_match_the_whole_value(aws: Any) -> None:
    message = refusal(
        aws("sagemaker").create_endpoint_config,
        EndpointConfigName="config_1",  # the pattern matches the prefix "config"
        ProductionVariants=[_variant()],
    )
    assert "at 'endpointConfigName'" in message and "regular expression pattern" in message


def test_an_instance_type_outside_botocores_enum_is_refused_and_new_ones_are_not(
    aws: Any,
) -> None:
    sagemaker = aws("sagemaker")
    sagemaker.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    message = refusal(
        sagemaker.create_endpoint_config,
        EndpointConfigName="c1",
        ProductionVariants=[_variant(InstanceType="ml.m5.huge")],
    )
    assert "'productionVariants.1.member.instanceType'" in message
    assert "enum value set" in message
    for index, kind in enumerate(("ml.g5.xlarge", "ml.g6.2xlarge", "ml.inf2.xlarge")):
        sagemaker.create_endpoint_config(
            EndpointConfigName=f"ok{index}", ProductionVariants=[_variant(InstanceType=kind)]
        )


def test_more_than_fifty_tags_are_refused(aws: Any) -> None:
    tags = [{"Key": f"k{n}", "Value": "v"} for n in range(51)]
    message = refusal(
        aws("sagemaker").create_model,
        ModelName="m",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE},
        Tags=tags,
    )
    assert (
        "at 'tags' failed to satisfy constraint" in message
        and "less than or equal to 50" in message
    )


def test_tag_characters_outside_the_pattern_are_refused(aws: Any) -> None:
    message = refusal(
        aws("sagemaker").create_model,
        ModelName="m",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE},
        Tags=[{"Key": "team", "Value": "r!sk"}],
    )
    assert "at 'tags.1.member.value'" in message


def test_a_container_environment_over_32_kb_is_refused(aws: Any) -> None:
    environment = {f"V{n:02}": "x" * 1000 for n in range(34)}
    message = refusal(
        aws("sagemaker").create_model,
        ModelName="m",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "Environment": environment},
    )
    assert "'primaryContainer.environment'" in message and "32 KB" in message


def test_an_image_outside_ecr_is_refused_as_sagemaker_does(aws: Any) -> None:
    message = refusal(
        aws("sagemaker").create_model,
        ModelName="m",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "docker.io/library/xgboost:1"},
    )
    assert message.endswith(
        'Using non-ECR image "docker.io/library/xgboost:1" without Vpc repository access mode '
        "is not supported."
    )


def test_a_model_package_name_outside_the_pattern_is_refused(aws: Any) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn_model/42"
    message = refusal(
        aws("sagemaker").create_model,
        ModelName="m",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"ModelPackageName": arn},
    )
    assert "'primaryContainer.modelPackageName'" in message


def test_more_than_100_transaction_actions_are_refused(aws: Any) -> None:
    items = [
        {
            "ConditionCheck": {
                "TableName": "t",
                "Key": {"pk": {"S": str(n)}},
                "ConditionExpression": "a",
            }
        }
        for n in range(101)
    ]
    message = refusal(aws("dynamodb").transact_write_items, TransactItems=items)
    assert "less than or equal to 100" in message


def test_query_protocol_services_answer_validation_error(aws: Any) -> None:
    with pytest.raises(ClientError) as caught:
        put_manual_alarm(aws("cloudwatch"), "a" * 256)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "at 'alarmName'" in caught.value.response["Error"]["Message"]


def test_relaxed_lets_a_request_through_in_decorator_mode() -> None:
    with emulated_aws(update_delay=0), conformance.relaxed():
        boto3.client("sagemaker", region_name="us-east-1").create_model(
            ModelName="m",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": "docker.io/library/xgboost:1"},
        )


def test_the_blue_green_example_deploys_on_a_gpu_instance_type(engine: Engine) -> None:
    declaration = load_file(EXAMPLES / "blue-green.yaml")
    assert declaration.spec.instance_type == "ml.g5.xlarge"
    from tests.support.emulator import put_manual_alarm

    cloudwatch = clients.client("cloudwatch")
    for alarm in declaration.spec.rollout.analysis.alarms:  # declared alarms must exist
        put_manual_alarm(cloudwatch, alarm)
    outcome = engine.start(declaration, "1" * 40)
    trail = engine.run(declaration.name, outcome.rollout_id)
    assert trail[-1][0] == Phase.SUCCEEDED, trail
    live = engine.sagemaker.describe_endpoint(EndpointName=declaration.name)
    config = engine.sagemaker.describe_endpoint_config(
        EndpointConfigName=live["EndpointConfigName"]
    )
    assert [v["InstanceType"] for v in config["ProductionVariants"]] == ["ml.g5.xlarge"]
