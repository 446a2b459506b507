"""Every strategy, tick by tick, against the emulator: phase and live weights after each tick."""

from __future__ import annotations

import pytest

from smgitops.rollout.status import Phase
from tests.builders import declaration
from tests.integration.conftest import Engine
from tests.support.emulator import put_manual_alarm

NAME = "churn-predictor"
C1, C2, C3 = "1" * 40, "2" * 40, "3" * 40


def _models(engine: Engine) -> set[str]:
    return {m["ModelName"] for m in engine.sagemaker.list_models()["Models"]}


def _configs(engine: Engine) -> set[str]:
    return {
        c["EndpointConfigName"] for c in engine.sagemaker.list_endpoint_configs()["EndpointConfigs"]
    }


def _candidate(engine: Engine) -> str:
    status = engine.service.store.get(NAME)
    assert status is not None
    return status.candidate.name


def test_first_deploy_creates_the_endpoint(engine: Engine) -> None:
    outcome = engine.start(declaration(version=1), C1)
    assert outcome.kind == "started"
    trail = engine.run(NAME, outcome.rollout_id)
    assert [phase for phase, _ in trail] == [Phase.INITIALIZING, Phase.SUCCEEDED]
    live = engine.sagemaker.describe_endpoint(EndpointName=NAME)
    assert live["EndpointStatus"] == "InService"
    assert len(live["ProductionVariants"]) == 1
    history = engine.service.store.history(NAME)
    assert history[0].phase == Phase.SUCCEEDED and history[0].commit == C1


def test_canary_walks_steps_and_removes_the_old_variant(engine: Engine) -> None:
    first = engine.deploy(declaration(version=1), C1)
    old_models = _models(engine)
    outcome = engine.start(declaration(version=2, steps=[10, 50]), C2)
    trail = engine.run(NAME, outcome.rollout_id)
    candidate = _candidate(engine)
    candidate_weights = [(phase, weights.get(candidate)) for phase, weights in trail]
    assert candidate_weights == [
        (Phase.INITIALIZING, 0.0),
        (Phase.PROGRESSING, 10.0),
        (Phase.PROGRESSING, 50.0),
        (Phase.PROMOTING, 100.0),
        (Phase.FINALIZING, 100.0),
        (Phase.SUCCEEDED, 100.0),
    ]
    assert trail[-1][1] == {candidate: 100.0}  # the old variant is gone
    live = engine.sagemaker.describe_endpoint(EndpointName=NAME)
    assert _configs(engine) == {live["EndpointConfigName"]}  # old configs deleted
    assert not (old_models & _models(engine))  # old model deleted
    assert first.rollout_id != outcome.rollout_id


def test_linear_and_blue_green_and_all_at_once(engine: Engine) -> None:
    engine.deploy(declaration(version=1), C1)
    linear = engine.start(declaration(version=2, strategy="linear", stepWeight=40), C2)
    trail = engine.run(NAME, linear.rollout_id)
    candidate = next(iter(trail[-1][1]))
    assert [w.get(candidate) for p, w in trail if p == Phase.PROGRESSING] == [40.0, 80.0]
    blue_green = engine.start(declaration(version=3, strategy="blueGreen", instance_count=2), C3)
    trail = engine.run(NAME, blue_green.rollout_id)
    new = next(iter(trail[-1][1]))
    assert [(p, w.get(new)) for p, w in trail[:3]] == [
        (Phase.INITIALIZING, 0.0),
        (Phase.PROGRESSING, 0.0),
        (Phase.PROMOTING, 100.0),
    ]
    live = engine.sagemaker.describe_endpoint(EndpointName=NAME)
    assert live["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    all_at_once = engine.start(declaration(version=4, strategy="allAtOnce"), "4" * 40)
    trail = engine.run(NAME, all_at_once.rollout_id)
    assert [p for p, _ in trail] == [Phase.FINALIZING, Phase.SUCCEEDED]


def test_ab_test_holds_until_promote(engine: Engine) -> None:
    engine.deploy(declaration(version=1), C1)
    outcome = engine.start(declaration(version=2, strategy="abTest", split=30), C2)
    for _ in range(6):
        result = engine.tick(NAME, outcome.rollout_id)
    assert result.phase == Phase.PAUSED and not result.done
    assert sorted(engine.weights(NAME).values()) == [30.0, 70.0]
    engine.service.promote(NAME)
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1][0] == Phase.SUCCEEDED
    assert list(trail[-1][1].values()) == [100.0]


def test_operator_abort_during_ab_test(engine: Engine) -> None:
    engine.deploy(declaration(version=1), C1)
    outcome = engine.start(declaration(version=2, strategy="abTest", split=30), C2)
    for _ in range(4):
        engine.tick(NAME, outcome.rollout_id)
    status = engine.service.abort(NAME, "alice")
    assert status.phase == Phase.ROLLING_BACK
    assert status.weights[status.candidate.name] == 0.0
    assert engine.weights(NAME)[status.candidate.name] == 0.0  # at once, before any tick
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1][0] == Phase.ROLLED_BACK
    assert engine.service.store.get(NAME).reason == "aborted by alice"  # type: ignore[union-attr]


def test_unchanged_declaration_is_a_no_op(engine: Engine) -> None:
    engine.deploy(declaration(version=1), C1)
    engine.calls.clear()
    outcome = engine.start(declaration(version=1, interval="5m"), C2)  # rollout-only change
    assert outcome.kind == "unchanged"
    assert engine.calls.of("sagemaker") == []


@pytest.mark.parametrize("strategy", ["canary", "linear", "blueGreen", "abTest"])
def test_every_stepped_strategy_rolls_back_on_a_tripped_alarm(
    engine: Engine, strategy: str
) -> None:
    put_manual_alarm(engine.cloudwatch, "churn-5xx-rate")
    engine.deploy(declaration(version=1), C1)
    decl = declaration(version=2, strategy=strategy, analysis={"alarms": ["churn-5xx-rate"]})
    outcome = engine.start(decl, C2)
    engine.tick(NAME, outcome.rollout_id)  # Initializing
    engine.tick(NAME, outcome.rollout_id)  # first step
    engine.cloudwatch.set_alarm_state(
        AlarmName="churn-5xx-rate", StateValue="ALARM", StateReason="Threshold Crossed: 3 > 1"
    )
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[0][0] == Phase.ROLLING_BACK
    status = engine.service.store.get(NAME)
    assert status is not None and status.phase == Phase.ROLLED_BACK
    assert "churn-5xx-rate" in status.reason and "Threshold Crossed" in status.reason
    assert list(trail[-1][1].values()) == [100.0]
    assert status.candidate.name not in trail[-1][1]


def test_promote_acts_at_once_not_when_the_steps_bake_ends(engine: Engine) -> None:
    engine.deploy(declaration(version=1), C1)
    outcome = engine.start(declaration(version=2, steps=[10, 50], interval="1h"), C2)
    for _ in range(10):  # ticks without the clock moving: the first step's bake has hardly begun
        status = engine.service.store.get(NAME)
        assert status is not None
        if status.phase == Phase.PROGRESSING:
            break
        engine.service.tick(NAME, outcome.rollout_id)
    candidate = _candidate(engine)
    assert engine.weights(NAME)[candidate] == 10.0
    stepped = engine.service.promote(NAME, by="alice")
    assert (stepped.phase, stepped.step_index, stepped.promote) == (Phase.PROGRESSING, 1, "")
    assert engine.weights(NAME)[candidate] == 50.0  # now, an hour before the bake would end
    full = engine.service.promote(NAME, full=True, by="alice")
    assert full.phase == Phase.PROMOTING
    assert engine.weights(NAME)[candidate] == 100.0
    events = [r.event for r in engine.service.store.history(NAME)]
    assert "promote (full) requested by alice" in events
    assert "promote (step) requested by alice" in events
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1] == (Phase.SUCCEEDED, {candidate: 100.0})
