"""Two local runtimes one after the other in one process (the demo, a bench, a notebook)."""

from __future__ import annotations

import os

import pytest

from smgitops import clock
from smgitops.handlers import webhook
from smgitops.local.emulator import stepfunctions
from smgitops.local.runtime import LocalRuntime, RuntimeOptions

pytestmark = pytest.mark.slow


def test_a_stopped_runtime_leaves_the_process_as_it_found_it() -> None:
    before = dict(os.environ)
    options = RuntimeOptions(drift_interval=0, update_delay=0.0, time_scale=60)
    with LocalRuntime.start(options) as first:
        assert os.environ["AWS_ENDPOINT_URL"] == first.aws_url and clock.scale() == 60
        first.emulator.client("sagemaker").create_model(
            ModelName="left-behind",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerExecution",
            PrimaryContainer={"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        )
    assert dict(os.environ) == before and clock.scale() == 1.0
    with LocalRuntime.start(RuntimeOptions(drift_interval=0, update_delay=0.0)) as second:
        assert second.emulator is not None  # its own, not the stopped one's URL from the env
        assert second.state_machine_arn
        sagemaker = second.emulator.client("sagemaker")
        assert sagemaker.list_models()["Models"] == []  # a new emulator starts empty
        secret = second.emulator.client("secretsmanager").get_secret_value(
            SecretId="smgitops/webhook-secret"
        )
        assert secret["SecretString"] == second.secret  # not the first runtime's
        assert stepfunctions.registered_function("smgitops-tick") is not None
        webhook.service()  # built by the first request, with this runtime's queue and table
    assert dict(os.environ) == before
    assert stepfunctions.registered_function("smgitops-tick") is None
    assert webhook.service.cache_info().currsize == 0  # the next runtime builds its own
