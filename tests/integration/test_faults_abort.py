"""The abort path under faults: the alarm's EventBridge event delivered twice (at once), late,
before the rollout's first step, during the finalize step; the abort function dying after its
SageMaker call; SageMaker throttling the abort's one call. Events go through the real abort
handler (events/alarm-state-alarm.json), wired to the test's engine and fake clock."""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest

from smgitops.errors import TransientError
from smgitops.handlers import abort
from smgitops.rollout.status import Phase
from tests.conftest import load_event
from tests.support.faults import (
    Bursts,
    Canary,
    Execution,
    NoSleep,
    current_status,
    history_line,
    inventory,
    record,
    resources_line,
    set_alarm,
    settled,
)

if TYPE_CHECKING:
    from smgitops.rollout.tick import TickResult
    from tests.integration.conftest import Engine

ABORT = "Abort event (alarm → ALARM) delivered twice, late or early"
ABORT_FAILS = "Abort function failing"


@pytest.fixture
def deliver(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``deliver(alarm)``: the alarm's state-change event through the abort handler."""
    monkeypatch.setattr(abort, "rollouts", lambda: engine.service)

    def send(alarm: str, reason: str = "Threshold Crossed") -> dict[str, Any]:
        event = copy.deepcopy(load_event("alarm-state-alarm.json"))
        event["detail"]["alarmName"] = alarm
        event["detail"]["state"]["reason"] = reason
        result: dict[str, Any] = abort.handler(event, None)
        return result

    return send


def _progressing(engine: Engine, name: str, *, steps: int = 1) -> Canary:
    """A canary with an existing alarm, ticked until it has taken ``steps`` traffic steps."""
    canary = Canary.begin(engine, name, rollback=True)
    for _ in range(20):
        result = engine.tick(name, canary.rollout_id)
        status = current_status(engine, name)
        if result.phase == Phase.PROGRESSING and status.step_index + 1 >= steps:
            return canary
    raise AssertionError(f"{name} never reached step {steps}")


def _finish(canary: Canary, fault: str, case: str, expected: Phase) -> None:
    execution = Execution(
        canary.engine.service, canary.engine.clock, canary.name, canary.rollout_id
    )
    execution.run()
    canary.conclude(fault, case, execution, expected)


def _sagemaker_calls(engine: Engine) -> list[str]:
    return engine.calls.of("sagemaker")


def test_the_same_event_delivered_twice_at_once_rolls_back_once(
    engine: Engine, deliver: Any
) -> None:
    canary = _progressing(engine, "abort-twice")
    assert canary.alarm is not None
    set_alarm(canary.alarm)
    engine.calls.clear()
    barrier = threading.Barrier(2)

    def both() -> dict[str, Any]:
        barrier.wait()
        result: dict[str, Any] = deliver(canary.alarm)
        return result

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [f.result() for f in [pool.submit(both), pool.submit(both)]]
    acted = [r for r in results if r["endpoints"] == [canary.name]]
    assert len(acted) == 1, results  # the other one found the rollback already recorded
    calls = _sagemaker_calls(engine)
    # the one that found the rollback recorded looks whether traffic really left the candidate
    assert set(calls) <= {"UpdateEndpointWeightsAndCapacities", "DescribeEndpoint"}
    assert calls.count("UpdateEndpointWeightsAndCapacities") <= 2
    assert calls.count("DescribeEndpoint") <= 1
    assert inventory(canary.name).weights[canary.candidate_variant] == 0.0
    rolling = [
        r
        for r in engine.service.store.history(canary.name)
        if r.rollout_id == canary.rollout_id and r.phase == Phase.ROLLING_BACK
    ]
    assert len(rolling) == 1, rolling
    _finish(canary, ABORT, "the same event twice, at the same moment", Phase.ROLLED_BACK)


@pytest.mark.parametrize("ended", [Phase.ROLLED_BACK, Phase.SUCCEEDED])
def test_an_event_arriving_after_the_rollout_ended_changes_nothing(
    engine: Engine, deliver: Any, ended: Phase
) -> None:
    canary = Canary.begin(engine, f"late-{ended.lower()}", rollback=True)
    assert canary.alarm is not None
    execution = canary.execute(trip=ended == Phase.ROLLED_BACK)
    before = current_status(engine, canary.name)
    assert before.phase == ended
    engine.calls.clear()
    assert deliver(canary.alarm)["endpoints"] == []
    assert _sagemaker_calls(engine) == []
    assert current_status(engine, canary.name) == before  # not even rewritten
    canary.conclude(ABORT, f"delivered after the rollout ended {ended}", execution, ended)


def test_a_late_event_for_an_alarm_a_newer_rollout_also_watches(
    engine: Engine, deliver: Any
) -> None:
    """The event is acted on as it comes: the handler does not compare its time with the
    rollout's start nor read the alarm's current state, so a newer rollout watching the same
    alarm is rolled back (the safe direction)."""
    canary = _progressing(engine, "late-newer")
    assert canary.alarm is not None
    set_alarm(canary.alarm, "OK", "recovered")  # the alarm is fine now; the event is old
    assert deliver(canary.alarm, "Threshold Crossed (an old event)")["endpoints"] == [canary.name]
    case = "a late event while a newer rollout watches the same alarm, now OK"
    _finish(canary, ABORT, case, Phase.ROLLED_BACK)


def _alarm_before_the_first_step(engine: Engine, deliver: Any, name: str) -> tuple[Canary, float]:
    """The alarm fires while the rollout is Pending; returns the most traffic the candidate got."""
    canary = Canary.begin(engine, name, rollback=True)
    assert canary.alarm is not None
    set_alarm(canary.alarm)
    dropped = deliver(canary.alarm)["endpoints"]
    most = [0.0]

    def watch(_: TickResult) -> None:
        weights = inventory(name).weights
        most[0] = max(most[0], weights.get(canary.candidate_variant, 0.0))

    execution = Execution(engine.service, engine.clock, name, canary.rollout_id, after_tick=watch)
    execution.run()
    status = current_status(engine, name)
    record(
        ABORT,
        "delivered before the first step (rollout Pending)",
        f"{status.phase}" + (f" ✗ the candidate took {most[0]:g} % first" if most[0] else ""),
        resources_line(inventory(name)),
        f"event acted on: {bool(dropped)}; "
        + history_line(engine.service, name, canary.rollout_id),
    )
    assert (status.phase, execution.end) == (Phase.ROLLED_BACK, "RolledBack")
    settled(name, canary.stable)
    assert canary.alarm in status.reason
    return canary, most[0]


def test_an_event_before_the_first_step_still_ends_rolled_back(
    engine: Engine, deliver: Any
) -> None:
    _alarm_before_the_first_step(engine, deliver, "early")


def test_an_alarm_already_in_alarm_keeps_the_candidate_at_zero(
    engine: Engine, deliver: Any
) -> None:
    _, most = _alarm_before_the_first_step(engine, deliver, "early-zero")
    assert most == 0.0


def test_an_event_during_the_finalize_step_ends_cleanly(engine: Engine, deliver: Any) -> None:
    canary = Canary.begin(engine, "abort-finalizing", rollback=True)
    alarm = canary.alarm
    assert alarm is not None
    delivered: list[list[str]] = []

    def fire(result: TickResult) -> None:
        if result.phase == Phase.FINALIZING and not delivered:
            set_alarm(alarm)
            delivered.append(deliver(alarm)["endpoints"])

    execution = canary.execute(after_tick=fire, trip=False)
    assert delivered == [[canary.name]]
    status = current_status(engine, canary.name)
    found = inventory(canary.name)
    ended_well = status.phase in {Phase.SUCCEEDED, Phase.ROLLED_BACK} and not found.leaks()
    record(
        ABORT,
        "delivered during the finalize step (candidate-only config live)",
        f"{status.phase}" + ("" if ended_well else " ✗"),
        resources_line(found),
        history_line(engine.service, canary.name, canary.rollout_id),
    )
    assert execution.end in {"Done", "RolledBack"}
    assert ended_well, (status.phase, found)


def test_the_abort_function_dying_after_its_sagemaker_call_is_redelivered(
    engine: Engine, deliver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Weights are back on stable but the status still says Progressing; Lambda's retry of the
    asynchronous invocation delivers the event again and the rollback is recorded."""
    canary = _progressing(engine, "abort-crash")
    assert canary.alarm is not None
    set_alarm(canary.alarm)
    store = engine.service.store
    original = store.save

    def die(*_: Any, **__: Any) -> Any:
        raise TimeoutError("Task timed out after 10.00 seconds")

    monkeypatch.setattr(store, "save", die)
    with pytest.raises(TimeoutError):
        deliver(canary.alarm)
    monkeypatch.setattr(store, "save", original)
    assert inventory(canary.name).weights[canary.candidate_variant] == 0.0
    assert current_status(engine, canary.name).phase == Phase.PROGRESSING
    assert deliver(canary.alarm)["endpoints"] == [canary.name]  # the retry
    _finish(canary, ABORT_FAILS, "dies after its SageMaker call; event retried", Phase.ROLLED_BACK)


def test_the_abort_call_throttled_beyond_retries_leaves_it_to_the_tick(
    engine: Engine, deliver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SageMaker refuses the abort's one call past botocore's retries: the function fails (the
    event will be retried) without recording anything, and the next tick sees the alarm."""
    canary = _progressing(engine, "abort-throttled")
    assert canary.alarm is not None
    set_alarm(canary.alarm)
    before = current_status(engine, canary.name)
    monkeypatch.setattr("botocore.endpoint.time", NoSleep())
    bursts = Bursts(throttled=1000, passed=0).install("sagemaker")
    with pytest.raises(TransientError):
        deliver(canary.alarm)
    bursts.active = False
    assert current_status(engine, canary.name) == before
    case = "its one SageMaker call throttled past botocore's retries; the tick rolls back"
    _finish(canary, ABORT_FAILS, case, Phase.ROLLED_BACK)
