"""A failed check below ``maxFailedChecks`` holds the weight; it never moves traffic on.

As Flagger does: a failed check is counted and the step stays where it is, re-checked after a
fresh interval; only a step whose whole (fresh) interval passes its checks advances; the count
reaching ``maxFailedChecks`` rolls back. The count is the rollout's, not the step's: a step that
passes does not reset it. Each test states the candidate's weight after every tick (a check
failing again on the held step: ``test_decide_history.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from smgitops.rollout.decide import abort_now
from smgitops.rollout.progress import progress
from smgitops.rollout.status import Phase, RolloutStatus
from tests.unit.fake_world import World
from tests.unit.test_decide import tick
from tests.unit.test_decide_history import (
    ADD,
    ADDING,
    FINALIZING,
    PROMOTING,
    SUCCEEDED,
    history,
    rollout,
)

ALARM = "a1"
CHECKED = {"analysis": {"alarms": [ALARM]}, "maxFailedChecks": 2}
AT_10 = "alarm a1 in ALARM at 10 %: a1 breached"
SERVED = "the candidate served 1000 invocations during the step"  # the traffic floor, met


def _failing_at(*ticks: int) -> Any:
    """A ``before`` hook for :func:`history`: the alarm is in ALARM on the given ticks only."""

    def alarm(index: int, world: World, status: RolloutStatus) -> RolloutStatus:
        world.alarms[ALARM] = "ALARM" if index in ticks else "OK"
        return status

    return alarm


def _checked(**kwargs: Any) -> tuple[World, RolloutStatus]:
    world, status = rollout(**CHECKED, **kwargs)
    world.alarms[ALARM] = "OK"
    return world, status


def test_a_failed_check_holds_the_canary_at_its_step_for_a_fresh_interval() -> None:
    world, status = _checked(steps=[10, 50])
    final, trail = history(world, status, before=_failing_at(2))
    held = f"failed check 1/2: holding at 10 % for another 30s: {AT_10}"
    assert trail == [
        ("Initializing", 0.0, 6, (ADDING,), ADD),
        ("Progressing", 10.0, 30, ("step 1: 10 % on the candidate",), ("SetWeights",)),
        ("Progressing", 10.0, 30, (held,), ()),  # the step's end: failed, held, not 50 %
        ("Progressing", 50.0, 30, (SERVED, "step 1 passed its checks",
                                   "step 2: 50 % on the candidate"), ("SetWeights",)),
        ("Promoting", 100.0, 30, (SERVED, "step 2 passed its checks", PROMOTING),
         ("SetWeights",)),
        ("Finalizing", 100.0, 6, (FINALIZING,), ("CreateEndpointConfig", "UpdateEndpoint")),
        ("Succeeded", 100.0, 0, (SUCCEEDED,), ("DeleteUnused",)),
    ]  # fmt: skip
    assert final.failed_checks == 1 and final.reason == "promoted"


def test_a_held_step_says_so_in_its_status_and_keeps_the_deadline() -> None:
    world, status = _checked(steps=[10, 50])
    for _ in range(2):
        status = tick(world, status).status
    world.alarms[ALARM] = "ALARM"
    held = tick(world, status).status
    assert held.phase == Phase.PROGRESSING and held.step_index == 0
    assert held.reason.startswith("failed check 1/2: holding at 10 % for another 30s: alarm a1")
    assert held.step_since == world.now - 30  # a fresh interval, from the failed check
    assert held.deadline_at == status.deadline_at  # a hold does not move the deadline
    line = progress(held, world.now - 30).line()  # what `status` and `wait` print
    assert " · step 1/2 · " in line
    assert " · bake 30s left · failed check 1/2: holding at 10 % for another 30s: " in line
    world.alarms[ALARM] = "OK"
    passed = tick(world, held).status
    assert (passed.step_index, passed.reason) == (1, "")  # the hold's reason goes with it


def test_a_step_still_held_at_the_deadline_rolls_back() -> None:
    world, status = _checked(steps=[10])
    for _ in range(2):
        status = tick(world, status).status
    world.alarms[ALARM] = "ALARM"
    held = tick(world, status).status
    world.alarms[ALARM] = "OK"
    world.now = held.deadline_at + 1
    late = tick(world, held, settle=False).status
    assert (late.phase, late.reason) == (Phase.ROLLING_BACK, "deadline exceeded")


def test_the_count_is_the_rollouts_a_passing_step_does_not_reset_it() -> None:
    world, status = _checked(steps=[10, 50])
    final, trail = history(world, status, before=_failing_at(2, 4))
    assert [(phase, percent) for phase, percent, *_ in trail][:5] == [
        ("Initializing", 0.0),
        ("Progressing", 10.0),
        ("Progressing", 10.0),  # failed check 1/2: held
        ("Progressing", 50.0),  # passed: on to step 2, the count stays 1
        ("RollingBack", 0.0),  # failed check 2/2 at step 2's end
    ]
    assert final.phase == Phase.ROLLED_BACK and final.failed_checks == 2
    assert final.reason == "alarm a1 in ALARM at 50 %: a1 breached"


# (strategy settings, the candidate's weight after each tick with one failed check at the first
# step's end, tick 2), for every strategy that bakes a step under checks
HELD = {
    "canary": ({"steps": [10, 50]}, [0.0, 10.0, 10.0, 50.0, 100.0, 100.0, 100.0]),
    "linear": ({"strategy": "linear", "stepWeight": 40}, [0.0, 40.0, 40.0, 80.0, 100.0, 100.0,
                                                         100.0]),
    "blueGreen": ({"strategy": "blueGreen"}, [0.0, 0.0, 0.0, 100.0, 100.0, 100.0]),
}  # fmt: skip


@pytest.mark.parametrize("strategy", sorted(HELD))
def test_every_stepped_strategy_holds_its_step_on_a_failed_check(strategy: str) -> None:
    settings, weights = HELD[strategy]
    world, status = _checked(**settings)
    final, trail = history(world, status, before=_failing_at(2))
    assert [percent for _, percent, *_ in trail] == weights
    assert trail[2][0] == "Progressing" and trail[2][3][0].startswith("failed check 1/2: holding")
    assert final.phase == Phase.SUCCEEDED


def test_an_ab_test_split_is_held_before_it_pauses_on_it() -> None:
    world, status = _checked(strategy="abTest", split=20)
    _, trail = history(world, status, limit=4, before=_failing_at(2))
    assert [(phase, percent) for phase, percent, *_ in trail] == [
        ("Initializing", 0.0),
        ("Progressing", 20.0),
        ("Progressing", 20.0),  # held: the split is judged again on a fresh interval
        ("Paused", 20.0),
    ]


def test_a_shadow_run_with_a_failed_check_observes_again_before_its_canary() -> None:
    world, status = _checked(strategy="shadow", shadow={"then": "canary"}, steps=[10])
    _, trail = history(world, status, limit=5, before=_failing_at(2))
    phases = [phase for phase, *_ in trail]
    assert phases == ["Initializing", "Progressing", "Progressing", "Initializing", "Progressing"]
    assert trail[2][3] == (
        "failed check 1/2: holding the shadow run for another 30s: "
        "alarm a1 in ALARM at 0 %: a1 breached",
    )


def test_a_failed_check_while_promoting_keeps_the_stable_warm_another_interval() -> None:
    world, status = _checked(steps=[50])
    final, trail = history(world, status, before=_failing_at(3))
    assert [(phase, percent) for phase, percent, *_ in trail] == [
        ("Initializing", 0.0),
        ("Progressing", 50.0),
        ("Promoting", 100.0),
        ("Promoting", 100.0),  # held at 100 %: the stable variant is not removed yet
        ("Finalizing", 100.0),
        ("Succeeded", 100.0),
    ]
    assert trail[3][3][0].startswith("failed check 1/2: holding at 100 % for another 30s")
    assert final.reason == "promoted"


def test_an_alarm_event_mid_step_restarts_the_steps_interval() -> None:
    """The abort path counts an alarm event as a failed check: below the limit the step is held
    from the event on, so the tick at the step's original end does not move traffic on."""
    world, status = _checked(steps=[10, 50])
    for _ in range(2):
        status = tick(world, status).status
    assert status.step_index == 0 and status.step_since is not None
    world.now = status.step_since + 20  # mid-step
    event = "alarm a1 in ALARM at 10 %: Threshold Crossed"
    counted = abort_now(
        status.spec(), status, world.observe(status.endpoint), event, count_as_check=True
    ).status
    assert counted.failed_checks == 1 and counted.step_since == world.now
    assert counted.reason == f"failed check 1/2: holding at 10 % for another 30s: {event}"
    world.now = status.step_since + 30  # the step's original end: the alarm is OK again
    at_end = tick(world, counted)
    assert at_end.status.step_index == 0 and world.percent(status.endpoint)[
        status.candidate.name
    ] == pytest.approx(10.0)
    assert at_end.wait_seconds == 20  # the rest of the fresh interval
    moved_on = tick(world, at_end.status).status
    assert moved_on.step_index == 1


def test_a_hold_keeps_the_steps_extensions_so_a_step_waits_at_most_its_maxextensions() -> None:
    world, status = _checked(steps=[10, 50])
    world.served = 0.0  # nobody calls the candidate: the traffic floor extends the step
    for _ in range(3):
        status = tick(world, status).status
    assert status.extensions == 1 and status.reason.startswith("step extended: extension 1/3")
    world.alarms[ALARM] = "ALARM"
    held = tick(world, status).status
    assert held.extensions == 1 and held.reason.startswith("failed check 1/2: holding at 10 %")


def test_an_alarm_event_while_finalizing_is_counted_without_claiming_a_hold() -> None:
    world, status = _checked(steps=[50])
    for _ in range(4):
        status = tick(world, status, settle=False).status
        world.settle()
    assert status.phase == Phase.FINALIZING
    event = "alarm a1 in ALARM at 100 %: Threshold Crossed"
    counted = abort_now(
        status.spec(), status, world.observe(status.endpoint), event, count_as_check=True
    )
    assert counted.notes == (f"failed check 1/2: {event}",)
    assert counted.status.failed_checks == 1 and counted.status.step_since == status.step_since


def test_a_failed_check_on_an_ab_test_split_held_until_promote_is_counted() -> None:
    world, status = _checked(strategy="abTest", split=20)
    _, trail = history(world, status, limit=5, before=_failing_at(4))
    assert [(phase, percent) for phase, percent, *_ in trail] == [
        ("Initializing", 0.0),
        ("Progressing", 20.0),
        ("Paused", 20.0),
        ("Paused", 20.0),
        ("Paused", 20.0),
    ]
    assert trail[4][3] == (f"failed check 1/2: holding at 20 %: {AT_10.replace('10', '20')}",)


def test_an_operators_promote_moves_a_held_step_on_and_the_count_stays() -> None:
    world, status = _checked(steps=[10, 50])
    for _ in range(2):
        status = tick(world, status).status
    world.alarms[ALARM] = "ALARM"
    held = tick(world, status).status
    world.alarms[ALARM] = "OK"
    world.now = held.step_since or 0.0  # at once, the fresh interval not baked
    promoted = tick(world, held.evolve(promote="step")).status
    assert (promoted.step_index, promoted.failed_checks, promoted.reason) == (1, 1, "")
