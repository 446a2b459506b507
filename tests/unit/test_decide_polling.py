"""Waiting on SageMaker costs a bounded number of ticks, so no rollout a declaration allows
reaches Step Functions' 25,000-event execution history (about 9 events a tick):
awsdocs/aws-step-functions-developer-guide ``doc_source/limits-overview.md``."""

from __future__ import annotations

from typing import Any

from smgitops.declaration.models import Declaration
from smgitops.rollout.decide import decide
from smgitops.rollout.status import Phase, RolloutStatus
from tests.builders import declaration
from tests.unit.fake_world import World
from tests.unit.test_decide import NAME, deployed, start

HISTORY_TICKS = 25_000 // 9


def ticks_to_end(
    world: World, status: RolloutStatus, update_seconds: float, *, limit: int = 5_000, **obs: Any
) -> tuple[RolloutStatus, int]:
    """Tick to the end; every SageMaker update takes ``update_seconds`` of the world's time."""
    busy_until: float | None = None
    for count in range(1, limit + 1):
        observation = world.observe(status.endpoint).model_copy(update=obs)
        decision = decide(status.spec(), status, observation)
        world.apply(decision.actions)
        endpoint = world.endpoints.get(NAME)
        if endpoint is not None and endpoint.status in {"Creating", "Updating"}:
            busy_until = busy_until or world.now + update_seconds
        world.now += decision.wait_seconds
        if busy_until is not None and world.now >= busy_until:
            world.settle()
            busy_until = None
        status = decision.status
        if status.done:
            return status, count
    return status, limit


def _canary(**kwargs: Any) -> Declaration:
    return declaration(version=2, steps=[10, 25, 50], interval="5s", **kwargs)


def test_a_20_second_update_costs_a_handful_of_polls() -> None:
    runs = {}
    for seconds in (0.0, 20.0):
        world = World()
        deployed(world)
        status, ticks = ticks_to_end(world, start(_canary(), world, "2" * 40), seconds)
        assert status.phase == Phase.SUCCEEDED
        runs[seconds] = ticks
    # two UpdateEndpoint calls (candidate in, stable out): at most 8 polls each
    assert runs[20.0] - runs[0.0] <= 16, runs


def test_a_30_minute_update_costs_tens_of_polls_not_hundreds() -> None:
    world = World()
    deployed(world)
    status, ticks = ticks_to_end(world, start(_canary(), world, "2" * 40), 1800.0)
    assert status.phase == Phase.SUCCEEDED
    assert ticks <= 80, ticks


def test_approval_polling_for_720_hours_fits_in_one_execution() -> None:
    world = World()
    deployed(world)
    pending = declaration(version=2, interval="5s")
    document = pending.model_dump(mode="json", by_alias=True)
    document["spec"]["model"] = {
        "modelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3",
        "executionRoleArn": document["spec"]["model"]["executionRoleArn"],
    }
    document["spec"]["rollout"]["approvalTimeout"] = "720h"
    waiting = Declaration.model_validate(document)
    status, ticks = ticks_to_end(
        world,
        start(waiting, world, "2" * 40),
        0.0,
        package_approval="PendingManualApproval",
        package_version=3,
    )
    assert status.phase == Phase.FAILED and "still PendingManualApproval" in status.reason
    assert ticks <= 1_100, ticks


def test_an_ab_test_paused_for_30_days_fits_in_one_execution() -> None:
    world = World()
    deployed(world)
    ab = declaration(version=2, strategy="abTest", split=20, interval="1s")
    status = start(ab, world, "2" * 40)
    ticks = 0
    for _ in range(100):  # bounded: a wrong decision fails here, it does not hang
        if status.phase == Phase.PAUSED:
            break
        status, _ = ticks_to_end(world, status, 0.0, limit=1)
    assert status.phase == Phase.PAUSED, status.reason
    paused_at = world.now
    while world.now - paused_at < 30 * 86400:
        decision = decide(status.spec(), status, world.observe(NAME))
        world.apply(decision.actions)
        world.now += decision.wait_seconds
        status = decision.status
        ticks += 1
        assert status.phase == Phase.PAUSED
        assert ticks < HISTORY_TICKS, "the pause would end the execution"
    assert ticks <= 800, ticks


def test_a_declaration_that_could_outlast_one_execution_is_refused() -> None:
    import pytest
    from pydantic import ValidationError

    compare = {"metrics": [{"metric": "ModelLatency"}], "maxExtensions": 100}
    with pytest.raises(ValidationError, match="25,000 events"):
        declaration(version=2, strategy="linear", stepWeight=1, analysis={"compare": compare})
    # the longest allowed settings without extensions still fit
    longest = declaration(
        version=2, strategy="linear", stepWeight=1, approvalTimeout="720h", maxFailedChecks=100
    )
    assert longest.spec.rollout.worst_case_ticks(approval=True) <= 2_500
    # each failed check below maxFailedChecks holds a step for one more bake: counted
    held = declaration(version=2, strategy="linear", stepWeight=1, maxFailedChecks=100)
    once = declaration(version=2, strategy="linear", stepWeight=1)
    assert (
        held.spec.rollout.worst_case_ticks(approval=False)
        - once.spec.rollout.worst_case_ticks(approval=False)
        == 99
    )


# --- one rollout, many executions (continue-as-new) --------------------------------------------


def test_an_execution_names_its_successor_deterministically_within_80_characters() -> None:
    from smgitops.handlers.tick import next_execution

    assert next_execution("churn-predictor-222222222222-43ed0a81") == (
        "churn-predictor-222222222222-43ed0a81-c1"
    )
    assert next_execution("churn-predictor-222222222222-43ed0a81-c1").endswith("-43ed0a81-c2")
    long = "e" * 80
    assert next_execution(long) == "e" * 77 + "-c1"
    assert next_execution(next_execution(long)) == "e" * 77 + "-c2"
    assert len(next_execution("x" * 75 + "-c99999")) <= 80


def test_the_tick_asks_to_continue_as_new_only_in_the_main_loop_and_never_at_a_gate() -> None:
    from smgitops.handlers.tick import TICKS_PER_EXECUTION, TickInput, continuation
    from smgitops.rollout.status import Phase
    from smgitops.rollout.tick import TickResult

    def ask(ticks: int | None, *, done: bool = False, gate: bool = False) -> dict[str, object]:
        request = TickInput(endpoint="e", rolloutId="r", ticks=ticks, execution="r-c1")
        result = TickResult("e", "r", Phase.PAUSED, 60, done, gate)
        return continuation(request, result)

    assert ask(None) == {}  # the rollback loop does not count
    assert ask(0) == {"ticks": 1}
    worn = ask(TICKS_PER_EXECUTION - 1)
    assert worn == {"ticks": TICKS_PER_EXECUTION, "continueAsNew": True, "nextExecution": "r-c2"}
    assert "continueAsNew" not in ask(TICKS_PER_EXECUTION, gate=True)
    assert "continueAsNew" not in ask(TICKS_PER_EXECUTION, done=True)
    # a year is the other limit of a Standard execution: continue well before it
    old = TickInput(
        endpoint="e",
        rolloutId="r",
        ticks=5,
        execution="r",
        executionStartedAt="2020-01-01T00:00:00.000Z",
    )
    assert continuation(old, TickResult("e", "r", Phase.PAUSED, 60, False))["continueAsNew"]
