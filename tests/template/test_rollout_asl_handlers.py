"""The real ASL on moto's executor with the REAL tick handler: a canary that succeeds and one
that rolls back on a tripped alarm, with one-second intervals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from smgitops.aws import clients
from smgitops.handlers import tick
from smgitops.local.emulator import stepfunctions as local_sfn
from smgitops.local.emulator.sagemaker import lifecycle
from smgitops.local.resources import create_table
from smgitops.rollout.service import RolloutService
from smgitops.rollout.status import Phase
from smgitops.wiring.rollout import build, rollouts
from tests.builders import declaration
from tests.support.emulator import put_manual_alarm
from tests.template.rollout_harness import EXECUTE, TICK_ARN

TABLE = "smgitops-asl"
NAME = "churn-predictor"


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Iterator[RolloutService]:
    saved = lifecycle.get_update_delay()
    lifecycle.set_update_delay(0.2)
    with mock_aws(config=EXECUTE):
        local_sfn.install()
        clients.reset()
        create_table(clients.client("dynamodb"), TABLE)
        arn = local_sfn.ensure_state_machine(
            clients.client("stepfunctions"), {"TickFunctionArn": TICK_ARN}
        )
        monkeypatch.setenv("SMGITOPS_TABLE", TABLE)
        monkeypatch.setenv("SMGITOPS_STATE_MACHINE_ARN", arn)
        monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
        rollouts.cache_clear()
        local_sfn.register_function(TICK_ARN, local_sfn.as_task_function(tick.handler, TICK_ARN))
        engine = build(_settings(arn))
        yield engine
        local_sfn.set_history_limit(None)
        local_sfn.unregister_function(TICK_ARN)
        rollouts.cache_clear()
    lifecycle.set_update_delay(saved)
    clients.reset()


def _settings(arn: str) -> Any:
    from smgitops.settings import ReconcileSettings

    return ReconcileSettings(table=TABLE, state_machine_arn=arn)


def _execution(rollout_id: str) -> dict[str, Any]:
    sfn = clients.client("stepfunctions")
    arns = [
        e["executionArn"]
        for e in sfn.list_executions(stateMachineArn=_machine())["executions"]
        if e["name"] == rollout_id
    ]
    assert arns, f"no execution named {rollout_id}"
    return local_sfn.wait_for_execution(sfn, arns[0], timeout_s=60)


def _machine() -> str:
    import os

    return os.environ["SMGITOPS_STATE_MACHINE_ARN"]


def _weights() -> dict[str, float]:
    out = clients.client("sagemaker").describe_endpoint(EndpointName=NAME)
    total = sum(v["DesiredWeight"] for v in out["ProductionVariants"]) or 1.0
    return {v["VariantName"]: 100 * v["DesiredWeight"] / total for v in out["ProductionVariants"]}


def _deploy(service: RolloutService, version: int, commit: str, **rollout: Any) -> str:
    outcome = service.start(
        declaration(version=version, interval="1s", **rollout),
        commit=commit,
        pushed_at=time.time(),
        source={"provider": "test"},
    )
    assert outcome.kind == "started", outcome
    return outcome.rollout_id


def test_canary_succeeds_through_the_real_definition(service: RolloutService) -> None:
    first = _deploy(service, 1, "1" * 40)
    assert _execution(first)["status"] == "SUCCEEDED"
    second = _deploy(service, 2, "2" * 40, steps=[25, 50])
    execution = _execution(second)
    assert execution["status"] == "SUCCEEDED", execution
    status = service.store.get(NAME)
    assert status is not None and status.phase == Phase.SUCCEEDED
    assert _weights() == {status.candidate.name: 100.0}
    phases = [r.phase for r in reversed(service.store.history(NAME)) if r.rollout_id == second]
    assert Phase.PROGRESSING in phases and Phase.PROMOTING in phases and Phase.FINALIZING in phases


def test_canary_rolls_back_on_an_alarm_through_the_real_definition(service: RolloutService) -> None:
    cloudwatch = clients.client("cloudwatch")
    put_manual_alarm(cloudwatch, "churn-5xx-rate")
    first = _deploy(service, 1, "1" * 40)
    assert _execution(first)["status"] == "SUCCEEDED"
    stable = service.store.get(NAME)
    assert stable is not None
    # nobody calls the candidate here: its 1 s steps extend (traffic floor) until the alarm
    # trips, rather than rolling back on too little traffic first on a loaded machine
    analysis = {"alarms": ["churn-5xx-rate"], "traffic": {"maxExtensions": 30}}
    second = _deploy(service, 2, "2" * 40, steps=[10, 50, 90], analysis=analysis)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        current = service.store.get(NAME)
        if current is not None and current.phase == Phase.PROGRESSING:
            break
        time.sleep(0.05)
    cloudwatch.set_alarm_state(
        AlarmName="churn-5xx-rate", StateValue="ALARM", StateReason="Threshold Crossed"
    )
    execution = _execution(second)
    assert execution["status"] == "FAILED"
    status = service.store.get(NAME)
    assert status is not None and status.phase == Phase.ROLLED_BACK
    assert "churn-5xx-rate" in status.reason
    assert _weights() == {stable.candidate.name: 100.0}


def test_manual_gate_waits_on_a_task_token_until_promote(service: RolloutService) -> None:
    first = _deploy(service, 1, "1" * 40)
    assert _execution(first)["status"] == "SUCCEEDED"
    second = _deploy(service, 2, "2" * 40, steps=[20], gates=["beforePromotion"])
    deadline = time.monotonic() + 30
    status = service.store.get(NAME)
    while time.monotonic() < deadline:
        status = service.store.get(NAME)
        if status is not None and status.gate_token:
            break
        time.sleep(0.1)
    assert status is not None and status.phase == Phase.PAUSED
    assert status.gate == "beforePromotion" and status.gate_token
    time.sleep(1.5)  # the execution really waits: no tick moves it on
    held = service.store.get(NAME)
    assert held is not None and held.phase == Phase.PAUSED
    service.promote(NAME)  # answers the task token
    execution = _execution(second)
    assert execution["status"] == "SUCCEEDED", execution
    assert _weights() == {status.candidate.name: 100.0}


def test_a_long_rollout_continues_as_new_and_still_ends(
    service: RolloutService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Standard execution holds 25,000 history events: a rollout held for months continues
    in a fresh execution (named deterministically) before that, and the old one ends cleanly.
    Here every execution holds three ticks of the main loop."""
    first = _deploy(service, 1, "1" * 40)
    assert _execution(first)["status"] == "SUCCEEDED"
    local_sfn.set_history_limit(45)  # Step Functions' 25,000 events, reached in seconds
    # continuing as new every three ticks, a canary ends under the limit
    monkeypatch.setattr(tick, "TICKS_PER_EXECUTION", 3)
    second = _deploy(service, 2, "2" * 40, steps=[25, 50])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = service.store.get(NAME)
        if status is not None and status.rollout_id == second and status.done:
            break
        time.sleep(0.5)
    assert status is not None and status.phase == Phase.SUCCEEDED, status
    assert _weights() == {status.candidate.name: 100.0}
    sfn = clients.client("stepfunctions")
    names = sorted(
        (e["name"] for e in sfn.list_executions(stateMachineArn=_machine())["executions"]),
        key=lambda name: (len(name), name),
    )
    chain = [n for n in names if n.startswith(second)]
    assert len(chain) >= 2 and chain == [second] + [f"{second}-c{n}" for n in range(1, len(chain))]
    for name in chain:
        ended = _execution(name)
        assert ended["status"] == "SUCCEEDED", ended  # each handed over, or finished
    history = sfn.get_execution_history(executionArn=_arn(second), maxResults=1000)["events"]
    assert any(
        e.get("stateEnteredEventDetails", {}).get("name") == "ContinueAsNew" for e in history
    )
    # without continuing, the same canary's execution reaches the limit and fails, uncaught
    monkeypatch.setattr(tick, "TICKS_PER_EXECUTION", 10_000)
    stranded = _deploy(service, 3, "3" * 40, steps=[25, 50])
    failed = _execution(stranded)
    assert (failed["status"], failed.get("error")) == ("FAILED", "States.Runtime"), failed
    assert "maximum number of history events (45)" in failed.get("cause", "")


def _arn(name: str) -> str:
    sfn = clients.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=_machine())["executions"]
    return next(e["executionArn"] for e in executions if e["name"] == name)
