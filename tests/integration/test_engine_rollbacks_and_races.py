"""Rollbacks and races on the emulator, without injected faults: rollbacks from real alarm
states and a failed update, a newer push superseding, an older one never winning, a crash
between acting and persisting, a stale writer, throttling. The injected faults, with the state
machine's own error handling, are test_faults_engine.py and test_faults_crash.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from smgitops.aws import clients
from smgitops.errors import ConflictError
from smgitops.local.emulator import evaluate_alarms, simulate_traffic
from smgitops.rollout import naming
from smgitops.rollout.status import Phase
from tests.builders import declaration
from tests.integration.conftest import Engine
from tests.support.emulator import put_manual_alarm

NAME = "churn-predictor"
C1, C2, C3 = "1" * 40, "2" * 40, "3" * 40
FIVE_XX = {"metrics": [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 2}]}


def _counts(engine: Engine) -> tuple[int, int]:
    sm = engine.sagemaker
    return len(sm.list_models()["Models"]), len(sm.list_endpoint_configs()["EndpointConfigs"])


def test_bad_model_trips_the_generated_alarm_and_the_abort_path_restores_stable(
    engine: Engine,
) -> None:
    """Simulated traffic → 5xx metrics → the generated alarm evaluates to ALARM → abort."""
    engine.deploy(declaration(version=1), C1)
    bad = declaration(version=2, analysis=FIVE_XX, environment={"SMGITOPS_SIM_ERROR_RATE": "1.0"})
    outcome = engine.start(bad, C2)
    engine.tick(NAME, outcome.rollout_id)  # Initializing: candidate at 0 %, alarm created
    engine.tick(NAME, outcome.rollout_id)  # step 1: 10 %
    status = engine.service.store.get(NAME)
    assert status is not None and status.phase == Phase.PROGRESSING
    alarm = naming.alarm_name(
        NAME, status.candidate.name, "Invocation5XXErrors", "Sum", "AWS/SageMaker"
    )
    simulate_traffic(NAME, 300)
    evaluate_alarms(dt.datetime.now(dt.UTC))
    state = engine.cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]
    assert state["StateValue"] == "ALARM", state
    engine.calls.clear()
    assert engine.service.on_alarm(alarm, "Threshold Crossed") == [NAME]
    assert engine.calls.of("sagemaker") == ["UpdateEndpointWeightsAndCapacities"]  # one call
    assert engine.weights(NAME)[status.candidate.name] == 0.0
    assert engine.service.on_alarm(alarm, "again") == []  # a second delivery changes nothing
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1][0] == Phase.ROLLED_BACK
    final = engine.service.store.get(NAME)
    assert final is not None and alarm in final.reason
    described = engine.cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    assert described == []  # the engine deletes the alarms it created
    assert _counts(engine) == (1, 1)  # nothing leaked


def test_alarm_during_initializing_rolls_back_without_traffic(engine: Engine) -> None:
    put_manual_alarm(engine.cloudwatch, "churn-5xx-rate", "C")
    engine.deploy(declaration(version=1), C1)
    outcome = engine.start(declaration(version=2, analysis={"alarms": ["churn-5xx-rate"]}), C2)
    engine.tick(NAME, outcome.rollout_id)  # Pending → Initializing
    assert engine.service.on_alarm("churn-5xx-rate", "breached") == [NAME]
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1][0] == Phase.ROLLED_BACK
    assert all(p != Phase.PROGRESSING for p, _ in trail)


def test_newer_commit_supersedes_the_running_rollout(engine: Engine) -> None:
    stable = engine.deploy(declaration(version=1), C1)
    second = engine.start(declaration(version=2), C2)
    engine.tick(NAME, second.rollout_id)
    engine.tick(NAME, second.rollout_id)  # 10 % on v2
    third = engine.start(declaration(version=3), C3)
    assert third.kind == "queued"
    # The new execution drives the hand-over: v2's traffic returns to stable first.
    trail = engine.run(NAME, third.rollout_id)
    assert trail[-1][0] == Phase.SUCCEEDED
    history = engine.service.store.history(NAME)
    phases = {(r.rollout_id, r.phase) for r in history}
    assert (second.rollout_id, Phase.SUPERSEDED) in phases
    assert (third.rollout_id, Phase.SUCCEEDED) in phases
    # The superseded execution learns it is over.
    result = engine.tick(NAME, second.rollout_id)
    assert result.done and result.phase == Phase.SUPERSEDED
    assert stable.rollout_id != third.rollout_id
    assert _counts(engine) == (1, 1)


def test_older_push_never_overwrites_a_newer_one(engine: Engine) -> None:
    engine.deploy(declaration(version=1), C1)
    newer = engine.start(declaration(version=3), C3, pushed_at=engine.clock.now)
    older = engine.start(declaration(version=2), C2, pushed_at=engine.clock.now - 60)
    assert newer.kind in {"queued", "started"}
    assert older.kind == "stale"


@pytest.mark.parametrize("crash_at", range(1, 8))
def test_crash_between_act_and_persist_converges(
    engine: Engine, crash_at: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.deploy(declaration(version=1), C1)
    outcome = engine.start(declaration(version=2, steps=[10, 50]), C2)
    store = engine.service.store
    original = store.save
    saves = {"n": 0}

    def crashing_save(*args: Any, **kwargs: Any) -> Any:
        saves["n"] += 1
        if saves["n"] == crash_at:
            raise RuntimeError("Lambda timed out after acting")
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "save", crashing_save)
    phases = []
    for _ in range(40):
        try:
            result = engine.tick(NAME, outcome.rollout_id)
        except RuntimeError:
            continue  # Step Functions retries the tick
        phases.append(result.phase)
        if result.done:
            break
    assert phases[-1] == Phase.SUCCEEDED
    assert _counts(engine) == (1, 1)


def test_stale_status_writer_loses(engine: Engine) -> None:
    outcome = engine.start(declaration(version=1), C1)
    store = engine.service.store
    status = store.get(NAME)
    assert status is not None
    store.save(status.evolve(reason="first writer"), expected_version=status.version)
    with pytest.raises(ConflictError):
        store.save(status.evolve(reason="stale writer"), expected_version=status.version)
    current = store.get(NAME)
    assert current is not None and current.reason == "first writer"
    assert outcome.kind == "started"


def test_failed_endpoint_update_rolls_back_with_sagemaker_reason(engine: Engine) -> None:
    stable = engine.deploy(declaration(version=1), C1)
    broken = declaration(
        version=2, environment={"SMGITOPS_SIM_DEPLOY_FAILURE": "container exited with code 1"}
    )
    outcome = engine.start(broken, C2)
    trail = engine.run(NAME, outcome.rollout_id)
    status = engine.service.store.get(NAME)
    assert status is not None and status.phase == Phase.ROLLED_BACK, trail
    assert "container exited with code 1" in status.reason
    assert list(engine.weights(NAME).values()) == [100.0]
    assert stable.rollout_id


def test_throttling_is_retried_by_botocore(engine: Engine) -> None:
    """Bursts of ThrottlingException on SageMaker and CloudWatch do not disturb the rollout."""
    throttled = {"n": 0}

    def throttle(request: Any, **_: Any) -> AWSResponse | None:
        throttled["n"] += 1
        if throttled["n"] % 3 == 0:  # one attempt in three is throttled
            body = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
            return AWSResponse(
                request.url, 400, {"x-amzn-errortype": "ThrottlingException"}, _Raw(body)
            )
        return None

    for service in ("sagemaker", "cloudwatch"):
        clients.client(service).meta.events.register_first("before-send", throttle)
    engine.deploy(declaration(version=1), C1)
    outcome = engine.start(declaration(version=2, analysis=FIVE_XX), C2)
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1][0] == Phase.SUCCEEDED
    assert throttled["n"] > 20  # hook calls: attempts, throttled or not
    assert engine.calls.of("sagemaker")  # the calls went through, each after its retries


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body

    def read(self, *_: Any) -> bytes:
        return self.body


def test_cleanup_keeps_the_config_in_use(engine: Engine) -> None:
    """A rollback whose candidate is still live (drift) must not delete the live config."""
    engine.deploy(declaration(version=1), C1)
    live = engine.sagemaker.describe_endpoint(EndpointName=NAME)["EndpointConfigName"]
    from smgitops.rollout.actions import DeleteUnused

    engine.service.sagemaker.apply(DeleteUnused(endpoint=NAME, configs=[live], models=[]))
    configs = {
        c["EndpointConfigName"] for c in engine.sagemaker.list_endpoint_configs()["EndpointConfigs"]
    }
    assert live in configs


def test_a_deleted_live_endpoint_config_fails_the_rollout_with_the_reason(engine: Engine) -> None:
    """SageMaker lets an in-use config be deleted (UpdateEndpoint's note warns, no more)."""
    engine.deploy(declaration(version=1), "1" * 40)
    live = engine.sagemaker.describe_endpoint(EndpointName=NAME)
    engine.sagemaker.delete_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
    outcome = engine.start(declaration(version=2), "2" * 40)
    result = engine.tick(NAME, outcome.rollout_id)
    assert result.phase == Phase.FAILED and result.done
    status = engine.service.store.get(NAME)
    assert status is not None and not status.active
    assert f"live config {live['EndpointConfigName']} no longer exists" in status.reason
    after = engine.sagemaker.describe_endpoint(EndpointName=NAME)
    assert after["EndpointConfigName"] == live["EndpointConfigName"]  # nothing was changed
