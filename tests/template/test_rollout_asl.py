"""The real rollout ASL, executed by moto's Step Functions interpreter.

The tick function is a scripted fake here (a sequence of answers), routed in-process by
smgitops.local.emulator.stepfunctions; each test asserts the execution's end and the calls it made.
One moto backend and one state machine serve the whole module (creating them is the slow
part); every test starts its own execution.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from smgitops import clock
from smgitops.errors import ActionRejectedError, ConflictError, TransientError
from smgitops.local.emulator import stepfunctions as local_sfn
from tests.template.rollout_harness import (
    DEADLINE_S,
    EXECUTE,
    REGION,
    START,
    TICK_ARN,
    Runner,
    ScriptedTick,
    step,
)

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module")
def machine() -> Iterator[Runner]:
    local_sfn.install()
    with mock_aws(config=EXECUTE):
        yield Runner(boto3.client("stepfunctions", region_name=REGION))
    local_sfn.clear_functions()


@pytest.fixture
def runner(machine: Runner) -> Iterator[Runner]:
    yield machine
    local_sfn.clear_functions()


def test_canary_that_succeeds_ticks_until_done(runner: Runner) -> None:
    tick = ScriptedTick(
        step("Initializing"),
        step("Progressing", wait=1),
        step("Promoting"),
        step("Succeeded", done=True),
    )
    result = runner.run(tick)
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["phase"] == "Succeeded"
    assert tick.kinds() == ["tick"] * 4
    # endpoint and rolloutId, and what counts the execution's ticks (continue-as-new)
    assert [call["ticks"] for call in tick.calls] == [0, 1, 2, 3]
    for call in tick.calls:
        assert {k: call[k] for k in START} == START
        assert set(call) == {*START, "ticks", "execution", "executionStartedAt"}
        assert call["execution"] and call["executionStartedAt"]


def test_wait_seconds_come_from_the_tick(runner: Runner) -> None:
    tick = ScriptedTick(step("Progressing", wait=1), step("Succeeded", done=True))
    started = time.monotonic()
    assert runner.run(tick)["status"] == "SUCCEEDED"
    assert time.monotonic() - started >= 1


def test_superseded_rollout_ends_the_execution_successfully(runner: Runner) -> None:
    tick = ScriptedTick(step("Progressing"), step("Superseded", done=True))
    assert runner.run(tick)["status"] == "SUCCEEDED"


def test_rolled_back_rollout_fails_the_execution_with_a_cause(runner: Runner) -> None:
    tick = ScriptedTick(step("Progressing"), step("RollingBack"), step("RolledBack", done=True))
    result = runner.run(tick)
    assert result["status"] == "FAILED"
    assert result["error"] == "RolloutRolledBack"
    assert "r-0001" in result["cause"]
    assert "churn-predictor" in result["cause"]
    assert tick.kinds() == ["tick"] * 3


def test_failed_rollout_fails_with_rollout_failed(runner: Runner) -> None:
    result = runner.run(ScriptedTick(step("Failed", done=True)))
    assert (result["status"], result["error"]) == ("FAILED", "RolloutFailed")
    assert "Failed" in result["cause"]


@pytest.mark.parametrize("error", [TransientError("throttled"), ConflictError("stale version")])
def test_transient_errors_are_retried(runner: Runner, error: Exception) -> None:
    tick = ScriptedTick(step("Progressing"), error, step("Succeeded", done=True))
    result = runner.run(tick)
    assert result["status"] == "SUCCEEDED"
    assert tick.kinds() == ["tick"] * 3  # the retry repeats the same tick, no abort


def test_non_transient_error_goes_to_the_rollback_loop(runner: Runner) -> None:
    tick = ScriptedTick(
        step("Progressing"),
        ActionRejectedError("UpdateEndpoint", "ValidationException"),
        step("RollingBack"),  # the rollback loop calls again until done
        step("RolledBack", done=True),
    )
    result = runner.run(tick)
    assert (result["status"], result["error"]) == ("FAILED", "RolloutRolledBack")
    reason = "abort: tick failed: ActionRejectedError"
    assert tick.kinds() == ["tick", "tick", reason, reason]


def test_error_is_recorded_in_the_history(runner: Runner) -> None:
    tick = ScriptedTick(ValueError("boom"), step("RolledBack", done=True))
    execution = runner.start(tick)
    runner.wait(execution)
    events = runner.client.get_execution_history(executionArn=execution)["events"]
    exited = [
        json.loads(e["stateExitedEventDetails"]["output"])
        for e in events
        if e.get("stateExitedEventDetails", {}).get("name") == "TickFailed"
    ]
    assert len(exited) == 1
    assert exited[0]["error"]["Error"] == "ValueError"
    assert exited[0]["abortReason"] == "tick failed: ValueError"


def test_a_rollback_that_keeps_failing_ends_the_execution(runner: Runner) -> None:
    tick = ScriptedTick(ValueError("broken tick"), ValueError("still broken"))
    result = runner.run(tick)
    assert (result["status"], result["error"]) == ("FAILED", "RollbackFailed")
    assert tick.kinds() == ["tick", "abort: tick failed: ValueError"]


def test_gate_holds_until_the_token_is_answered(runner: Runner) -> None:
    tick = ScriptedTick(
        step("Paused", gate=True, gate_timeout=20),
        # What the tick answers when it records the token.
        step("Paused", gate=True, gate_timeout=20),
        step("Progressing"),
        step("Succeeded", done=True),
    )
    execution = runner.start(tick)
    assert tick.token_seen.wait(DEADLINE_S)
    time.sleep(0.3)
    assert runner.client.describe_execution(executionArn=execution)["status"] == "RUNNING"
    assert tick.kinds() == ["tick", "gate"]  # nothing moves while the gate waits
    runner.client.send_task_success(taskToken=tick.token, output=json.dumps(START))
    result = runner.wait(execution)
    assert result["status"] == "SUCCEEDED"
    assert tick.kinds() == ["tick", "gate", "tick", "tick"]
    assert tick.calls[1]["endpoint"] == START["endpoint"]


def test_gate_that_times_out_rolls_back(runner: Runner) -> None:
    tick = ScriptedTick(
        step("Paused", gate=True, gate_timeout=1),
        step("Paused", gate=True, gate_timeout=1),
        step("RolledBack", done=True),
    )
    result = runner.run(tick)
    assert (result["status"], result["error"]) == ("FAILED", "RolloutRolledBack")
    assert tick.kinds() == ["tick", "gate", "abort: manual gate timed out"]


def test_unregistered_function_is_not_routed_in_process() -> None:
    local_sfn.clear_functions()
    local_sfn.register_function(
        "arn:aws:lambda:us-east-1:1:function:other:live", lambda event: event
    )
    assert local_sfn.registered_function("other") is not None
    assert local_sfn.registered_function(TICK_ARN) is None
    local_sfn.clear_functions()


def test_handler_errors_surface_as_function_errors_named_by_class() -> None:
    def handler(event: dict[str, Any]) -> dict[str, Any]:
        raise TransientError(f"busy {event['n']}")

    response = local_sfn.invoke_registered(handler, b'{"n": 1}')
    assert response["FunctionError"] == "Unhandled"
    assert response["Payload"]["errorType"] == "TransientError"
    assert response["Payload"]["errorMessage"] == "busy 1"
    assert local_sfn.invoke_registered(lambda e: {"n": e["n"] + 1}, b'{"n": 1}')["Payload"] == {
        "n": 2
    }


def test_install_is_idempotent_and_uninstall_restores_moto() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    local_sfn.uninstall()
    moto_own = lambda_eval_utils._invoke_lambda_function
    local_sfn.install()
    patched = lambda_eval_utils._invoke_lambda_function
    local_sfn.install()
    assert patched is not moto_own
    assert lambda_eval_utils._invoke_lambda_function is patched
    local_sfn.uninstall()
    assert lambda_eval_utils._invoke_lambda_function is moto_own
    local_sfn.install()


def test_definition_substitutions_are_applied_and_checked() -> None:
    definition = local_sfn.asl_definition({"TickFunctionArn": TICK_ARN})
    assert "${" not in definition
    tasks = [
        s
        for s in json.loads(definition)["States"].values()
        if ":lambda:invoke" in s.get("Resource", "")
    ]
    assert {t["Parameters"]["FunctionName"] for t in tasks} == {TICK_ARN}
    with pytest.raises(ValueError, match="TickFunctionArn"):
        local_sfn.asl_definition({})


def test_ensure_state_machine_updates_rather_than_duplicates(runner: Runner) -> None:
    first = local_sfn.ensure_state_machine(runner.client, {"TickFunctionArn": "v1"}, name="other")
    again = local_sfn.ensure_state_machine(runner.client, {"TickFunctionArn": "v2"}, name="other")
    assert again == first != runner.arn
    definition = runner.client.describe_state_machine(stateMachineArn=again)["definition"]
    assert '"FunctionName": "v2"' in definition
    names = [m["name"] for m in runner.client.list_state_machines()["stateMachines"]]
    assert names.count("other") == 1


def test_lambda_handlers_are_adapted_with_a_context() -> None:
    seen: list[Any] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(context)
        return {"echo": event, "remaining": context.get_remaining_time_in_millis()}

    task = local_sfn.as_task_function(handler, TICK_ARN)
    assert task({"a": 1})["echo"] == {"a": 1}
    assert seen[0].function_name == "smgitops-tick"
    assert seen[0].invoked_function_arn == TICK_ARN
    assert seen[0].aws_request_id


def test_configure_server_refuses_a_remote_address() -> None:
    with pytest.raises(ValueError, match="loopback"):
        local_sfn.configure_server("http://10.0.0.1:5000")


@pytest.fixture
def sixty_times_faster() -> Iterator[None]:
    clock.warp(60)
    try:
        yield
    finally:
        clock.reset()


def test_under_a_time_scale_a_wait_lasts_its_scaled_wall_time(
    runner: Runner, sixty_times_faster: None
) -> None:
    tick = ScriptedTick(step("Progressing", wait=120), step("Succeeded", done=True))
    started = time.monotonic()
    assert runner.run(tick)["status"] == "SUCCEEDED"
    assert 1.9 <= time.monotonic() - started < 10  # two emulated minutes: two wall seconds


def test_under_a_time_scale_a_gate_times_out_on_the_scaled_clock(
    runner: Runner, sixty_times_faster: None
) -> None:
    tick = ScriptedTick(
        step("Paused", gate=True, gate_timeout=120),
        step("Paused", gate=True, gate_timeout=120),
        step("RolledBack", done=True),
    )
    started = time.monotonic()
    result = runner.run(tick)
    assert (result["status"], result["error"]) == ("FAILED", "RolloutRolledBack")
    assert tick.kinds() == ["tick", "gate", "abort: manual gate timed out"]
    assert 1.9 <= time.monotonic() - started < 10
