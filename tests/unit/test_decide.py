"""decide() tick by tick on an in-memory world: phase and weights after every tick."""

from __future__ import annotations

from typing import Any

import pytest

from smgitops.declaration.models import Declaration
from smgitops.rollout import naming
from smgitops.rollout.actions import SetWeights, UpdateEndpoint
from smgitops.rollout.decide import Decision, abort_now, decide, new_status, queue, rejected
from smgitops.rollout.status import Phase, QueuedRollout, RolloutStatus
from tests.builders import declaration
from tests.unit.fake_world import World

NAME = "churn-predictor"


def start(decl: Declaration, world: World, commit: str = "a" * 40) -> RolloutStatus:
    return new_status(
        decl,
        rollout_id=naming.rollout_id(decl.name, commit, decl.content_hash(), 0.0),
        commit=commit,
        pushed_at=world.now,
        source={},
        now=world.now,
    )


def tick(world: World, status: RolloutStatus, *, settle: bool = True) -> Decision:
    decision = decide(status.spec(), status, world.observe_tick(status.spec(), status))
    world.apply(decision.actions)
    if settle:
        world.settle()
    world.now += decision.wait_seconds
    return decision


def run(world: World, status: RolloutStatus, limit: int = 50) -> tuple[RolloutStatus, list[Any]]:
    """Tick to the end; returns the last status and (phase, candidate %) after each tick."""
    trail: list[Any] = []
    for _ in range(limit):
        decision = tick(world, status)
        status = decision.status
        endpoint = world.endpoints.get(status.endpoint)
        percent = (
            world.percent(status.endpoint).get(status.candidate.name)
            if endpoint is not None
            else None
        )
        trail.append((status.phase, percent))
        if status.done:
            return status, trail
    raise AssertionError(f"rollout did not end: {trail}")


def deployed(world: World, **kwargs: Any) -> RolloutStatus:
    status, _ = run(world, start(declaration(version=1, **kwargs), world, "1" * 40))
    assert status.phase == Phase.SUCCEEDED
    return status


def test_first_deploy_creates_model_config_and_endpoint() -> None:
    world = World()
    status = start(declaration(version=1), world)
    decision = tick(world, status, settle=False)
    assert [a.kind for a in decision.actions] == [
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
    ]
    assert decision.status.phase == Phase.INITIALIZING
    assert world.endpoints[NAME].status == "Creating"
    waiting = tick(world, decision.status, settle=False)
    assert waiting.status.phase == Phase.INITIALIZING and not waiting.actions
    world.settle()
    done = tick(world, waiting.status)
    assert done.status.phase == Phase.SUCCEEDED
    assert world.percent(NAME) == {status.candidate.name: 100.0}


def test_canary_walks_its_steps_then_removes_the_old_variant() -> None:
    world = World()
    old = deployed(world)
    new = start(declaration(version=2, steps=[10, 50]), world, "2" * 40)
    status, trail = run(world, new)
    assert status.phase == Phase.SUCCEEDED
    assert trail == [
        (Phase.INITIALIZING, 0.0),
        (Phase.PROGRESSING, 10.0),
        (Phase.PROGRESSING, 50.0),
        (Phase.PROMOTING, 100.0),
        (Phase.FINALIZING, 100.0),
        (Phase.SUCCEEDED, 100.0),
    ]
    assert world.percent(NAME) == {new.candidate.name: 100.0}
    assert old.candidate.model not in world.models  # old model deleted
    assert new.candidate.model in world.models
    assert list(world.configs) == [world.endpoints[NAME].config]  # only the live config is left


def test_linear_adds_step_weight_each_interval() -> None:
    world = World()
    deployed(world)
    status, trail = run(
        world, start(declaration(version=2, strategy="linear", stepWeight=30), world)
    )
    weights = [p for phase, p in trail if phase == Phase.PROGRESSING]
    assert weights == [30.0, 60.0, 90.0]
    assert status.phase == Phase.SUCCEEDED


def test_blue_green_bakes_at_zero_then_switches_all_at_once() -> None:
    world = World()
    deployed(world)
    new = start(declaration(version=2, strategy="blueGreen", instance_count=3), world)
    status, trail = run(world, new)
    assert trail[:3] == [
        (Phase.INITIALIZING, 0.0),
        (Phase.PROGRESSING, 0.0),
        (Phase.PROMOTING, 100.0),
    ]
    both = [a for a in world.applied if a.kind == "CreateEndpointConfig" and len(a.variants) == 2]
    assert both[0].variants[1].instance_count == 3  # candidate at full capacity
    assert status.phase == Phase.SUCCEEDED


def test_promoting_keeps_stable_warm_for_one_interval() -> None:
    world = World()
    stable = deployed(world)
    status = start(declaration(version=2, strategy="blueGreen", interval="60s"), world)
    for _ in range(10):
        if status.phase == Phase.PROMOTING:
            break
        status = tick(world, status).status
    assert status.phase == Phase.PROMOTING
    assert stable.candidate.name in world.endpoints[NAME].weights  # still on the endpoint
    world.now = status.step_since + 30  # half an interval
    decision = tick(world, status)
    assert decision.status.phase == Phase.PROMOTING and not decision.actions
    assert decision.wait_seconds == 30


def test_all_at_once_replaces_the_model_in_one_update() -> None:
    world = World()
    deployed(world)
    status, trail = run(world, start(declaration(version=2, strategy="allAtOnce"), world))
    assert [p for p, _ in trail] == [Phase.FINALIZING, Phase.SUCCEEDED]
    assert sum(isinstance(a, UpdateEndpoint) for a in world.applied) == 1
    assert status.phase == Phase.SUCCEEDED


def test_ab_test_holds_the_split_until_promoted() -> None:
    world = World()
    deployed(world)
    status = start(declaration(version=2, strategy="abTest", split=20), world)
    for _ in range(4):
        status = tick(world, status).status
    assert status.phase == Phase.PAUSED
    for _ in range(20):  # indefinitely
        status = tick(world, status).status
    assert status.phase == Phase.PAUSED
    assert world.percent(NAME)[status.candidate.name] == 20.0
    status = status.evolve(promote="full")
    status, trail = run(world, status)
    assert trail[0] == (Phase.PROMOTING, 100.0)
    assert status.phase == Phase.SUCCEEDED


def test_ab_test_abort_rolls_back() -> None:
    world = World()
    stable = deployed(world)
    status = start(declaration(version=2, strategy="abTest", split=20), world)
    for _ in range(4):
        status = tick(world, status).status
    decision = abort_now(status.spec(), status, world.observe(NAME), "aborted by alice")
    assert [a.kind for a in decision.actions] == ["SetWeights"]
    world.apply(decision.actions)
    assert world.percent(NAME)[status.candidate.name] == 0.0
    final, _ = run(world, decision.status)
    assert final.phase == Phase.ROLLED_BACK
    assert final.reason == "aborted by alice"
    assert world.percent(NAME) == {stable.candidate.name: 100.0}


@pytest.mark.parametrize("fire_at_tick", [2, 3, 4])
def test_alarm_sends_all_traffic_back_then_removes_the_candidate(fire_at_tick: int) -> None:
    world = World()
    stable = deployed(world)
    decl = declaration(
        version=2,
        steps=[10, 25, 50],
        analysis={
            "alarms": ["churn-5xx-rate"],
            "metrics": [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 5}],
        },
    )
    world.alarms["churn-5xx-rate"] = "OK"
    status = start(decl, world)
    for _ in range(fire_at_tick):
        status = tick(world, status).status
    assert status.phase == Phase.PROGRESSING
    generated = naming.alarm_name(
        NAME, status.candidate.name, "Invocation5XXErrors", "Sum", "AWS/SageMaker"
    )
    assert world.alarms[generated] == "OK"
    before = world.percent(NAME)[status.candidate.name]
    world.alarms[generated] = "ALARM"
    decision = tick(world, status, settle=False)
    assert decision.status.phase == Phase.ROLLING_BACK
    assert decision.actions == (
        SetWeights(
            endpoint=NAME,
            weights={status.candidate.name: 0.0, stable.candidate.name: 100.0},
        ),
    )
    assert world.percent(NAME)[status.candidate.name] == 0.0
    assert f"alarm {generated} in ALARM at {before:g} %" in decision.status.reason
    final, trail = run(world, decision.status)
    assert final.phase == Phase.ROLLED_BACK
    assert all(p == 0.0 or p is None for _, p in trail)
    assert world.percent(NAME) == {stable.candidate.name: 100.0}
    assert generated not in world.alarms  # the engine deleted what it created
    assert status.candidate.model not in world.models
    assert stable.candidate.model in world.models


def test_max_failed_checks_tolerates_then_rolls_back() -> None:
    world = World()
    deployed(world)
    world.alarms["churn-5xx-rate"] = "OK"
    decl = declaration(
        version=2, steps=[10, 50], maxFailedChecks=2, analysis={"alarms": ["churn-5xx-rate"]}
    )
    status = tick(world, start(decl, world)).status
    status = tick(world, status).status
    world.alarms["churn-5xx-rate"] = "ALARM"
    first = tick(world, status)
    assert first.status.phase == Phase.PROGRESSING and first.status.failed_checks == 1
    second = tick(world, first.status)
    assert second.status.phase == Phase.ROLLING_BACK and second.status.failed_checks == 2


def test_deadline_rolls_back() -> None:
    world = World()
    deployed(world)
    status = tick(world, start(declaration(version=2), world)).status
    status = tick(world, status).status
    world.now = status.deadline_at + 1
    assert tick(world, status).status.reason == "deadline exceeded"


def test_failed_update_rolls_back_with_sagemaker_reason() -> None:
    world = World()
    stable = deployed(world)
    world.fail_updates_with = "model container failed the ping health check"
    status, _ = run(world, start(declaration(version=2), world))
    assert status.phase == Phase.ROLLED_BACK
    assert "ping health check" in status.reason
    assert world.percent(NAME) == {stable.candidate.name: 100.0}


def test_first_deploy_failure_is_failed_not_rolled_back() -> None:
    world = World()
    world.fail_updates_with = "CannotStartContainerError"
    status, _ = run(world, start(declaration(version=1), world))
    assert status.phase == Phase.FAILED
    assert "CannotStartContainerError" in status.reason


def test_rejected_action_rolls_back_or_fails() -> None:
    world = World()
    deployed(world)
    status = tick(world, start(declaration(version=2), world)).status
    assert (
        rejected(status, world.observe(NAME), "UpdateEndpoint", "bad").status.phase
        == Phase.ROLLING_BACK
    )
    fresh = start(declaration(name="other"), world)
    assert (
        rejected(fresh, world.observe("other"), "CreateModel", "bad role").status.phase
        == Phase.FAILED
    )


def test_repeating_a_tick_converges_without_duplicates() -> None:
    """A crash between act and persist: the same tick runs again on the old status."""
    world = World()
    deployed(world)
    status = start(declaration(version=2, steps=[10, 50]), world)
    phases = []
    for _ in range(30):
        first = decide(status.spec(), status, world.observe(NAME))
        world.apply(first.actions)  # ... crash before persisting: the same tick runs again
        again = decide(status.spec(), status, world.observe(NAME))
        world.apply(again.actions)  # World asserts no update is sent to a busy endpoint
        world.settle()
        world.now += max(first.wait_seconds, again.wait_seconds)
        status = again.status
        phases.append(status.phase)
        if status.done:
            break
    assert status.phase == Phase.SUCCEEDED
    assert Phase.PROGRESSING in phases and Phase.PROMOTING in phases
    assert len(world.models) == 1 and len(world.configs) == 1
    assert sum(isinstance(a, UpdateEndpoint) for a in world.applied) == 2  # both-config, final


def test_newer_commit_supersedes_the_active_rollout() -> None:
    world = World()
    stable = deployed(world)
    status = start(declaration(version=2), world)
    for _ in range(2):
        status = tick(world, status).status
    assert status.phase == Phase.PROGRESSING
    v3 = declaration(version=3)
    queued = QueuedRollout(
        rollout_id="v3",
        commit="3" * 40,
        pushed_at=world.now,
        spec_hash=v3.content_hash(),
        declaration=v3.model_dump(mode="json", by_alias=True),
    )
    status = queue(status, queued, world.now)
    decision = tick(world, status)
    assert decision.status.phase == Phase.ROLLING_BACK
    assert world.percent(NAME)[stable.candidate.name] == 100.0
    for _ in range(10):
        if decision.superseded is not None:
            break
        decision = tick(world, decision.status)
    assert decision.superseded is not None
    assert decision.superseded.phase == Phase.SUPERSEDED
    assert decision.status.rollout_id == "v3" and decision.status.phase == Phase.PENDING
    final, _ = run(world, decision.status)
    assert final.phase == Phase.SUCCEEDED
    assert world.percent(NAME) == {final.candidate.name: 100.0}
