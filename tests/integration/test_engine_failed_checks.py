"""maxFailedChecks through the engine and the emulator: a failed check holds the weight.

A tick that sees the watched alarm in ALARM (a failed check below ``maxFailedChecks``) keeps the
candidate where it is and bakes the step again; the alarm event the abort function receives
does the same from the moment it arrives. Live weights (DescribeEndpoint) after every tick.
"""

from __future__ import annotations

from smgitops.rollout.status import Phase
from tests.builders import declaration
from tests.integration.conftest import Engine
from tests.support.emulator import put_manual_alarm

NAME = "churn-predictor"
ALARM = "churn-5xx-rate"


def _set_alarm(engine: Engine, state: str) -> None:
    engine.cloudwatch.set_alarm_state(
        AlarmName=ALARM, StateValue=state, StateReason=f"Threshold Crossed: {state}"
    )


def _start(engine: Engine) -> str:
    put_manual_alarm(engine.cloudwatch, ALARM)
    engine.deploy(declaration(version=1), "1" * 40)
    decl = declaration(version=2, steps=[10, 50], maxFailedChecks=2, analysis={"alarms": [ALARM]})
    return engine.start(decl, "2" * 40).rollout_id


def test_a_failed_check_holds_the_step_and_the_next_passing_interval_moves_on(
    engine: Engine,
) -> None:
    rollout_id = _start(engine)
    first = engine.to_first_step(NAME, rollout_id)  # the clock is at the first step's end
    candidate = first.candidate.name
    _set_alarm(engine, "ALARM")
    held = engine.tick(NAME, rollout_id)
    status = engine.service.store.get(NAME)
    assert status is not None and held.phase == Phase.PROGRESSING
    assert engine.weights(NAME)[candidate] == 10.0  # held: not 50 %
    assert (status.step_index, status.failed_checks) == (0, 1)
    assert status.reason.startswith("failed check 1/2: holding at 10 % for another 30s: ")
    assert held.wait_seconds == 30  # re-checked after a fresh interval
    recorded = engine.service.store.history(NAME)[0]  # newest first
    assert recorded.reason == status.reason and recorded.details["failedChecks"] == 1
    _set_alarm(engine, "OK")
    trail = engine.run(NAME, rollout_id)
    assert [(phase, weights.get(candidate)) for phase, weights in trail] == [
        (Phase.PROGRESSING, 50.0),
        (Phase.PROMOTING, 100.0),
        (Phase.FINALIZING, 100.0),
        (Phase.SUCCEEDED, 100.0),
    ]
    done = engine.service.store.get(NAME)
    assert done is not None and (done.failed_checks, done.reason) == (1, "promoted")


def test_an_alarm_event_holds_the_step_from_when_it_arrives(engine: Engine) -> None:
    rollout_id = _start(engine)
    first = engine.to_first_step(NAME, rollout_id)
    candidate = first.candidate.name
    assert first.step_since is not None
    engine.clock.now = first.step_since + 20  # mid-step: the abort function gets the event
    assert engine.service.on_alarm(ALARM, "Threshold Crossed: 3 > 1") == [NAME]
    assert engine.weights(NAME)[candidate] == 10.0  # 1 of 2: no rollback, no more traffic
    engine.clock.now = first.step_since + 30  # the step's original end, the alarm OK again
    early = engine.tick(NAME, rollout_id)
    assert early.phase == Phase.PROGRESSING and engine.weights(NAME)[candidate] == 10.0
    assert early.wait_seconds == 20  # the rest of the interval that began with the event
    later = engine.tick(NAME, rollout_id)
    assert later.phase == Phase.PROGRESSING and engine.weights(NAME)[candidate] == 50.0


def test_a_check_failing_again_on_the_held_step_rolls_back_from_it(engine: Engine) -> None:
    rollout_id = _start(engine)
    candidate = engine.to_first_step(NAME, rollout_id).candidate.name
    _set_alarm(engine, "ALARM")
    trail = engine.run(NAME, rollout_id)
    assert [weights.get(candidate) for _, weights in trail][:2] == [10.0, 0.0]
    assert max(weights.get(candidate, 0.0) for _, weights in trail) == 10.0
    status = engine.service.store.get(NAME)
    assert status is not None and status.phase == Phase.ROLLED_BACK
    assert status.failed_checks == 2 and status.reason.startswith(f"alarm {ALARM} in ALARM at 10 %")
