"""Two local runtimes one after the other in one process (the demo, a bench, a notebook)."""

from __future__ import annotations

import os

import pytest

from smgitops import clock
from smgitops.local.emulator import stepfunctions
from smgitops.local.runtime import LocalRuntime, RuntimeOptions
from smgitops.wiring.webhook import webhook as wired_webhook

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
        wired_webhook()  # built by the first request, with this runtime's queue and table
    assert dict(os.environ) == before
    assert stepfunctions.registered_function("smgitops-tick") is None
    assert wired_webhook.cache_info().currsize == 0  # the next runtime builds its own


def test_against_an_external_endpoint_rollouts_run_in_process_and_only_while_it_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from smgitops import wiring
    from smgitops.aws.stepfunctions import Executions
    from smgitops.local.emulator import Emulator
    from smgitops.local.runner import LocalExecutions
    from smgitops.wiring.reconcile import reconciler

    emulator = Emulator.start(port=0, region="us-east-1", update_delay=0.0)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
        options = RuntimeOptions(drift_interval=0, update_delay=0.0, dashboard=False)
        with LocalRuntime.start(options) as runtime:
            assert runtime.emulator is None  # Step Functions is not in this process
            # the swap is made in the composition root, not by rebinding an adapter class
            assert stepfunctions_class() is Executions
            assert type(reconciler().engine.executions) is LocalExecutions
        assert type(wiring.executions(runtime.state_machine_arn)) is Executions
    finally:
        emulator.stop()


def stepfunctions_class() -> type:
    from smgitops.aws import stepfunctions as adapter

    return adapter.Executions
