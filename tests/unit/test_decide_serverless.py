"""A serverless blueGreen rollout, tick by tick: SageMaker holds one production variant on a
serverless endpoint, so the candidate replaces the stable variant in one update, bakes alone
with the checks, and a failure swaps the stable variant back with its own config.

The moto-backed trails are in tests/integration/test_production_fields.py; these state the
same behaviour on the in-memory world (phase, traffic, wait, notes, actions), fast enough for
`make mutation`. Every loop is bounded.
"""

from __future__ import annotations

from typing import Any

import pytest

from smgitops.declaration.models import Declaration
from smgitops.rollout import naming
from smgitops.rollout.actions import PutAlarms
from smgitops.rollout.status import Phase, RolloutStatus
from tests.builders import declaration, declaration_dict
from tests.unit.fake_world import World
from tests.unit.test_decide import NAME, run, start, tick
from tests.unit.test_decide_history import CANDIDATE_MODEL, CANDIDATE_VARIANT, history

SWAP = (
    "serverless blueGreen: the candidate replaces the stable variant (one production variant on "
    "a serverless endpoint), then bakes alone; a failure swaps the stable back"
)
BAKE = "the candidate serves alone; baking 30s with the checks"
BAKED = "the candidate passed its bake; removing the old variant's resources"
SWAP_ACTIONS = ("CreateModel", "CreateEndpointConfig", "UpdateEndpoint")
ALARM = "churn-5xx"


def serverless(version: int, strategy: str = "blueGreen", **rollout: Any) -> Declaration:
    data = declaration_dict(version=version, strategy=strategy, **rollout)
    del data["spec"]["instanceType"], data["spec"]["instanceCount"]
    data["spec"]["serverless"] = {"memorySizeMB": 2048, "maxConcurrency": 20}
    return Declaration.model_validate(data)


def serverless_endpoint() -> tuple[World, RolloutStatus]:
    """A world whose endpoint serves version 1 serverless; its succeeded status."""
    world = World()
    status, _ = run(world, start(serverless(1, "allAtOnce"), world, "1" * 40))
    assert status.phase == Phase.SUCCEEDED
    return world, status


def test_a_serverless_blue_green_swaps_bakes_alone_then_removes_the_old_variant() -> None:
    world, deployed = serverless_endpoint()
    world.alarms[ALARM] = "OK"
    status = start(serverless(2, analysis={"alarms": [ALARM]}), world)
    final, trail = history(world, status)
    candidate = status.candidate.name
    final_config = world.endpoints[NAME].config
    assert trail == [
        ("Initializing", 100.0, 6, (SWAP,), SWAP_ACTIONS),
        ("Progressing", 100.0, 30, (BAKE,), ()),
        ("Finalizing", 100.0, 6,
         ("the candidate served 1000 invocations during the step", "step 1 passed its checks",
          BAKED, f"replacing the endpoint config with {final_config} (candidate only)"),
         ("CreateEndpointConfig",)),
        ("Succeeded", 100.0, 0, ("rollout succeeded; old variant removed",), ("DeleteUnused",)),
    ]  # fmt: skip
    # never two production variants on the endpoint: the swap is one update
    assert world.endpoints[NAME].weights == {candidate: 100.0}
    assert final.reason == "promoted" and final.stable == final.candidate
    assert final.watched_alarms == [ALARM]
    assert world.models == {final.candidate.model}  # the old model is gone
    assert list(world.configs) == [final_config]  # and its config
    assert deployed.candidate.model not in world.models
    [swapped] = [a for a in world.applied if a.kind == "UpdateEndpoint"][-1:]
    assert swapped.config == final_config  # the candidate-only config, in the first tick
    [variant] = world.configs[final_config].variants
    assert variant.settings["ServerlessConfig"]["MemorySizeInMB"] == 2048
    assert variant.instance_type == "" and variant.weight == 100.0


def test_a_serverless_endpoint_moves_to_instances_by_the_same_swap() -> None:
    world, _ = serverless_endpoint()
    final, trail = history(world, start(declaration(version=2, strategy="blueGreen"), world))
    assert [(phase, percent, wait, kinds) for phase, percent, wait, _, kinds in trail] == [
        ("Initializing", 100.0, 6, SWAP_ACTIONS),
        ("Progressing", 100.0, 30, ()),
        ("Finalizing", 100.0, 6, ("CreateEndpointConfig",)),
        ("Succeeded", 100.0, 0, ("DeleteUnused",)),
    ]
    assert trail[0][3] == (SWAP,)
    assert final.phase == Phase.SUCCEEDED
    assert world.endpoints[NAME].weights == {CANDIDATE_VARIANT: 100.0}
    assert world.models == {CANDIDATE_MODEL}


def _breach_during_the_bake(index: int, world: World, status: RolloutStatus) -> RolloutStatus:
    if index == 2:  # the bake's wait is over: the alarm breached meanwhile
        world.alarms[ALARM] = "ALARM"
    return status


def _abort_after_the_swap(index: int, world: World, status: RolloutStatus) -> RolloutStatus:
    return status.evolve(abort_requested="abort by jdoe") if index == 1 else status


@pytest.mark.parametrize(
    ("before", "rolling_back"),
    [
        (
            _breach_during_the_bake,
            [
                ("Initializing", 100.0, 6, (SWAP,), SWAP_ACTIONS),
                ("Progressing", 100.0, 30, (BAKE,), ()),
                ("RollingBack", 100.0, 1,
                 (f"rolling back: alarm {ALARM} in ALARM at 100 %: {ALARM} breached",), ()),
            ],
        ),
        (
            _abort_after_the_swap,
            [
                ("Initializing", 100.0, 6, (SWAP,), SWAP_ACTIONS),
                ("RollingBack", 100.0, 1, ("rolling back: abort by jdoe",), ()),
            ],
        ),
    ],
    ids=["a breached alarm during the bake", "an abort after the swap"],
)  # fmt: skip
def test_a_failed_serverless_bake_swaps_the_stable_variant_back_with_its_own_config(
    before: Any, rolling_back: list[Any]
) -> None:
    world, deployed = serverless_endpoint()
    stable_config = world.endpoints[NAME].config
    world.alarms[ALARM] = "OK"
    status = start(serverless(2, analysis={"alarms": [ALARM]}), world)
    final, trail = history(world, status, before=before)
    assert trail == [
        *rolling_back,
        ("RollingBack", None, 1,
         (f"removing the candidate: endpoint config {stable_config}",),
         ("CreateEndpointConfig", "UpdateEndpoint")),
        ("RolledBack", None, 0, ("rolled back: the candidate is off the endpoint",),
         ("DeleteUnused",)),
    ]  # fmt: skip
    # the stable variant serves again, from the config it was deployed with
    assert world.endpoints[NAME].config == stable_config
    assert world.endpoints[NAME].weights == {deployed.candidate.name: 100.0}
    assert world.models == {deployed.candidate.model}
    assert list(world.configs) == [stable_config]
    assert final.phase == Phase.ROLLED_BACK


def test_a_serverless_swap_that_sagemaker_refuses_leaves_the_stable_serving() -> None:
    world, deployed = serverless_endpoint()
    stable_config = world.endpoints[NAME].config
    world.fail_updates_with = "ping health check failed"
    final, trail = history(world, start(serverless(2), world))
    assert trail == [
        ("Initializing", None, 6, (SWAP,), SWAP_ACTIONS),
        ("RollingBack", None, 1,
         ("rolling back: endpoint update failed: ping health check failed",), ()),
        ("RolledBack", None, 0, ("rolled back: the candidate is off the endpoint",),
         ("DeleteUnused",)),
    ]  # fmt: skip
    assert final.reason == "endpoint update failed: ping health check failed"
    assert world.endpoints[NAME].config == stable_config
    assert world.models == {deployed.candidate.model}
    assert list(world.configs) == [stable_config]


INTO_SERVERLESS = (
    "SageMaker cannot turn an instance-based endpoint into a serverless one (UpdateEndpoint "
    "answers ValidationError): delete the endpoint and push again, or declare the serverless "
    "model under another endpoint name"
)
SIDE_BY_SIDE = (
    "canary serves the stable and the new variant side by side, and SageMaker allows one "
    "production variant on a serverless endpoint: use strategy blueGreen or allAtOnce to move "
    "this endpoint off serverless"
)


@pytest.mark.parametrize(
    ("serverless_endpoint_first", "refused"),
    [(False, INTO_SERVERLESS), (True, SIDE_BY_SIDE)],
    ids=["instances to serverless", "serverless to instances by canary"],
)
def test_a_rollout_sagemaker_would_refuse_on_a_serverless_endpoint_fails_before_anything(
    serverless_endpoint_first: bool, refused: str
) -> None:
    if serverless_endpoint_first:
        world, _ = serverless_endpoint()
        candidate = declaration(version=2, steps=[50])
    else:
        world = World()
        run(world, start(declaration(version=1), world, "1" * 40))
        candidate = serverless(2)
    endpoint_before = (world.endpoints[NAME].config, dict(world.endpoints[NAME].weights))
    applied = len(world.applied)
    final, trail = history(world, start(candidate, world))
    assert trail == [("Failed", None, 0, (refused,), ())]
    assert final.reason == refused
    assert world.applied[applied:] == []  # nothing created, nothing changed
    assert (world.endpoints[NAME].config, world.endpoints[NAME].weights) == endpoint_before


def test_a_serverless_swap_watches_the_candidates_generated_alarms_and_swaps_back_on_one() -> None:
    world, deployed = serverless_endpoint()
    world.alarms[ALARM] = "OK"
    metrics = [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 5}]
    status = start(serverless(2, analysis={"alarms": [ALARM], "metrics": metrics}), world)
    generated = naming.alarm_name(
        NAME, status.candidate.name, "Invocation5XXErrors", "Sum", "AWS/SageMaker"
    )
    swapped = tick(world, status)
    *swap, put = swapped.actions
    assert [a.kind for a in swap] == list(SWAP_ACTIONS)
    assert isinstance(put, PutAlarms) and [alarm.name for alarm in put.alarms] == [generated]
    assert swapped.status.generated_alarms == [generated]
    assert swapped.status.watched_alarms == [ALARM, generated]
    assert swapped.status.weights == {status.candidate.name: 100.0}
    baking = tick(world, swapped.status).status
    assert baking.phase == Phase.PROGRESSING
    assert baking.weights == {status.candidate.name: 100.0}
    world.alarms[generated] = "ALARM"
    world.now = (baking.step_since or 0) + 5
    breached = tick(world, baking).status
    assert breached.phase == Phase.ROLLING_BACK
    assert breached.reason.startswith(f"alarm {generated} in ALARM")
    final, _ = run(world, breached)
    assert final.phase == Phase.ROLLED_BACK
    assert generated not in world.alarms
    assert world.endpoints[NAME].weights == {deployed.candidate.name: 100.0}
