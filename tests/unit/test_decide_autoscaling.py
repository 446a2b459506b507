"""Autoscaling through a rollout, tick by tick, on the in-memory world with Application Auto
Scaling: the stable's scale-in held while traffic moves, the candidate's floor raised one step
ahead in the bake, a target deregistered before the update that removes its variant (the world
refuses that update otherwise, as SageMaker does), and what a promotion or a rollback leaves.

The engine's use of the same decisions against moto: tests/integration/test_autoscaling.py.
Every loop is bounded.
"""

from __future__ import annotations

from typing import Any

import pytest

from smgitops.declaration.models import Declaration
from smgitops.rollout.actions import Action, DeregisterScaling, RegisterScaling
from smgitops.rollout.decide.scaling import POLICY_NAME
from smgitops.rollout.status import Phase, RolloutStatus, ScalingPolicy, VariantScaling
from tests.builders import declaration, declaration_dict
from tests.unit.fake_world import World
from tests.unit.test_decide import NAME, deployed, run, start
from tests.unit.test_decide_history import history

ALARM = "churn-5xx"
HELD = {"DynamicScalingInSuspended": True}


def scaled(
    version: int, count: int = 3, metric: str = "InvocationsPerInstance", **rollout: Any
) -> Declaration:
    """instanceCount ``count``; autoscaling between 1 and 8 instances on ``metric``."""
    data = declaration_dict(version=version, instance_count=count, **rollout)
    data["spec"]["autoscaling"] = {
        "minInstances": 1,
        "maxInstances": 8,
        "target": {"metric": metric, "value": 100},
    }
    return Declaration.model_validate(data)


def scaled_endpoint(count: int = 3) -> tuple[World, RolloutStatus]:
    """The world serving version 1 with ``count`` instances, its target registered by smgitops."""
    world = World(targets={})
    status, _ = run(world, start(scaled(1, count), world, "1" * 40))
    assert status.phase == Phase.SUCCEEDED
    assert world.targets is not None and set(world.targets) == {status.candidate.name}
    return world, status


def scaling_actions(actions: list[Action]) -> list[tuple[str, str, Any, Any, Any]]:
    """(kind, variant, min, max, suspended) of each scaling action, in order."""
    shown: list[tuple[str, str, Any, Any, Any]] = []
    for action in actions:
        if isinstance(action, RegisterScaling):
            shown.append(
                ("register", action.variant, action.min_capacity, action.max_capacity,
                 action.suspended)
            )  # fmt: skip
        elif isinstance(action, DeregisterScaling):
            shown.append(("deregister", action.variant, None, None, None))
    return shown


def _target(world: World, variant: str) -> tuple[int, int, dict[str, bool], list[str]]:
    assert world.targets is not None
    target = world.targets[variant]
    return (
        target.min_capacity,
        target.max_capacity,
        target.suspended,
        [p.name for p in target.policies or []],
    )


def test_a_canary_holds_the_stable_sizes_the_candidate_ahead_and_leaves_one_target() -> None:
    world, deployed = scaled_endpoint(count=3)
    stable = deployed.candidate.name
    start_at = len(world.applied)
    status = start(scaled(2, steps=[33, 67]), world)
    candidate = status.candidate.name
    final, trail = history(world, status)
    held = f"stable {stable}: scale-in suspended until the rollout ends"
    assert [(phase, percent, wait, notes) for phase, percent, wait, notes, _ in trail] == [
        ("Initializing", 0.0, 6,
         (held, f"adding candidate {candidate} at 0 % beside stable {stable}")),
        # the tick that moves traffic waits one poll, then the bake's first tick raises the
        # floor for the NEXT step's share: ceil(3 × 67 %) = 3 (not ceil(3 × 33 %) = 1)
        ("Progressing", 33.0, 6, ("step 1: 33 % on the candidate",)),
        ("Progressing", 33.0, 24, ("candidate scaled for 67 %: at least 3 instance(s)",)),
        # the floor for 100 % is 3 as well: it is there already, nothing is registered
        ("Progressing", 67.0, 30, ("step 1 passed its checks", "step 2: 67 % on the candidate")),
        ("Promoting", 100.0, 30,
         ("step 2 passed its checks", "100 % on the candidate; stable kept warm for one interval")),
        ("Finalizing", 100.0, 6,
         (f"replacing the endpoint config with {world.endpoints[NAME].config} (candidate only)",
          f"deregistering {stable} from autoscaling before it is removed")),
        ("Succeeded", 100.0, 0, ("rollout succeeded; old variant removed",)),
    ]  # fmt: skip
    assert scaling_actions(world.applied[start_at:]) == [
        ("register", stable, None, None, HELD),
        ("register", candidate, 3, 8, None),
        ("deregister", stable, None, None, None),  # before the update that removes it
        ("register", candidate, 1, 8, {}),  # promoted: the declared range, nothing suspended
    ]
    assert final.phase == Phase.SUCCEEDED
    assert world.targets is not None and set(world.targets) == {candidate}
    assert _target(world, candidate) == (1, 8, {}, [POLICY_NAME])


@pytest.mark.parametrize(
    ("count", "steps", "floors"),
    [
        (4, [25, 50], [2, 4]),  # 50 % of 4, then 100 % of 4
        (3, [10, 67], [3]),  # ceil(2.01) = 3 for 67 %; 100 % needs no more than 3
        (6, [20, 50], [3, 6]),  # an exact 50 % of 6 is 3, not rounded up to 4
        (1, [50], [1]),  # minInstances 1: nothing below
    ],
)
def test_the_candidate_floor_follows_the_stables_count_one_step_ahead(
    count: int, steps: list[int], floors: list[int]
) -> None:
    world, _ = scaled_endpoint(count)
    start_at = len(world.applied)
    status = start(scaled(2, count, steps=steps), world)
    history(world, status)
    candidate = status.candidate.name
    registered = [
        minimum
        for kind, variant, minimum, _, suspended in scaling_actions(world.applied[start_at:])
        if kind == "register" and variant == candidate and suspended is None
    ]
    assert registered == floors


def test_a_candidate_target_changed_behind_the_rollout_is_registered_again() -> None:
    world, _ = scaled_endpoint(count=4)
    status = start(scaled(2, 4, steps=[25, 50]), world)
    candidate = status.candidate.name

    def narrowed(index: int, world: World, status: RolloutStatus) -> RolloutStatus:
        if index == 4 and world.targets is not None:  # the second bake: someone set max 4
            world.targets[candidate] = world.targets[candidate].model_copy(
                update={"max_capacity": 4}
            )
        return status

    start_at = len(world.applied)
    _, trail = history(world, status, before=narrowed)
    # step 1's bake raised the floor to 2 (for 50 %); step 2's bake to 4 (for 100 %), and
    # the narrowed max is put back to the declared 8 in that same registration
    registered = [
        (minimum, maximum)
        for kind, variant, minimum, maximum, suspended in scaling_actions(world.applied[start_at:])
        if kind == "register" and variant == candidate and suspended is None
    ]
    assert registered == [(2, 8), (4, 8)]
    assert trail[-1][0] == "Succeeded"


def test_a_rolled_back_canary_deregisters_the_candidate_and_restores_the_stable() -> None:
    world, deployed = scaled_endpoint(count=3)
    stable = deployed.candidate.name
    assert world.targets is not None
    before_rollout = world.targets[stable]
    world.alarms[ALARM] = "OK"
    status = start(scaled(2, steps=[33, 67], analysis={"alarms": [ALARM]}), world)
    candidate = status.candidate.name

    def breach(index: int, world: World, status: RolloutStatus) -> RolloutStatus:
        if index == 3:  # in step 1's bake, after the floor was raised
            world.alarms[ALARM] = "ALARM"
        return status

    start_at = len(world.applied)
    final, trail = history(world, status, before=breach)
    assert [(phase, kinds) for phase, _, _, _, kinds in trail[3:]] == [
        ("RollingBack", ("SetWeights",)),
        ("RollingBack", ("CreateEndpointConfig", "DeregisterScaling", "UpdateEndpoint")),
        ("RolledBack", ("RegisterScaling", "DeleteUnused")),
    ]
    assert trail[-1][3] == (
        "rolled back: the candidate is off the endpoint",
        f"stable {stable}: autoscaling as it was before the rollout",
    )
    assert scaling_actions(world.applied[start_at:]) == [
        ("register", stable, None, None, HELD),
        ("register", candidate, 3, 8, None),
        ("deregister", candidate, None, None, None),  # before the update that removes it
        ("register", stable, 1, 8, {}),  # as it was: nothing suspended, its policy
    ]
    assert final.phase == Phase.ROLLED_BACK
    assert world.targets == {stable: before_rollout}


def test_a_shadow_run_that_continues_as_a_canary_holds_the_stable_from_its_canary_on() -> None:
    world, deployed = scaled_endpoint(count=3)
    stable = deployed.candidate.name
    start_at = len(world.applied)
    status = start(scaled(2, strategy="shadow", shadow={"then": "canary"}, steps=[50]), world)
    final, trail = history(world, status)
    # the shadow run moves no traffic: nothing held; its canary does
    assert [kinds for _, _, _, _, kinds in trail[:3]] == [
        ("CreateModel", "CreateEndpointConfig", "UpdateEndpoint"),
        (),
        ("CreateEndpointConfig", "RegisterScaling", "UpdateEndpoint"),
    ]
    assert trail[2][3] == (
        "shadow passed: continuing as a canary from 0 %",
        f"stable {stable}: scale-in suspended until the rollout ends",
    )
    assert scaling_actions(world.applied[start_at:])[0] == ("register", stable, None, None, HELD)
    assert final.phase == Phase.SUCCEEDED


def test_all_at_once_deregisters_the_replaced_variant_in_the_same_tick() -> None:
    world, deployed = scaled_endpoint(count=3)
    stable = deployed.candidate.name
    status = start(scaled(2, strategy="allAtOnce"), world)
    _, trail = history(world, status)
    assert trail[0][3:] == (
        ("allAtOnce: replacing the model in one update",
         f"deregistering {stable} from autoscaling before it is removed"),
        ("CreateModel", "CreateEndpointConfig", "DeregisterScaling", "UpdateEndpoint"),
    )  # fmt: skip
    assert world.targets is not None
    assert set(world.targets) == {status.candidate.name}
    assert _target(world, status.candidate.name) == (1, 8, {}, [POLICY_NAME])


def test_the_world_refuses_an_update_that_removes_a_scalable_target() -> None:
    """The fake world is as strict as SageMaker here, so the tests above mean something."""
    world, deployed = scaled_endpoint()
    assert world.targets is not None
    world.targets["v-other"] = VariantScaling(variant="v-other", min_capacity=1, max_capacity=2)
    world.endpoints[NAME].weights["v-other"] = 0.0
    from smgitops.rollout.actions import UpdateEndpoint

    with pytest.raises(AssertionError, match="removes scalable"):
        world.apply([UpdateEndpoint(endpoint=NAME, config=world.endpoints[NAME].config)])
    assert deployed.phase == Phase.SUCCEEDED


def test_each_variants_policy_tracks_its_own_metric() -> None:
    world = World(targets={})
    first, _ = run(world, start(scaled(1, metric="CPUUtilization"), world, "1" * 40))
    status = start(scaled(2, metric="CPUUtilization", steps=[50]), world)
    history(world, status)
    policies = [
        (action.variant, policy.configuration["CustomizedMetricSpecification"]["Dimensions"])
        for action in world.applied
        if isinstance(action, RegisterScaling)
        for policy in action.policies
    ]
    dimensions = {
        variant: [
            {"Name": "EndpointName", "Value": NAME},
            {"Name": "VariantName", "Value": variant},
        ]
        for variant in (first.candidate.name, status.candidate.name)
    }
    assert policies == [
        (first.candidate.name, dimensions[first.candidate.name]),  # the first deploy's
        (status.candidate.name, dimensions[status.candidate.name]),  # the floor for 100 %
        (status.candidate.name, dimensions[status.candidate.name]),  # promoted: as declared
    ]


TEAM_TARGET = VariantScaling(
    variant="set below",
    min_capacity=1,
    max_capacity=4,
    suspended={},
    policies=[ScalingPolicy(name="team-policy", configuration={"TargetValue": 70.0})],
)


def _scaled_outside_smgitops() -> tuple[World, str]:
    """An endpoint deployed without spec.autoscaling whose variant a team registered itself."""
    world = World(targets={})
    stable = deployed(world).candidate.name
    assert world.targets is not None
    world.targets[stable] = TEAM_TARGET.model_copy(update={"variant": stable})
    return world, stable


def test_a_target_registered_outside_smgitops_is_held_then_released_with_a_warning() -> None:
    world, stable = _scaled_outside_smgitops()
    final, trail = history(world, start(declaration(version=2, steps=[50]), world))
    assert trail[0][3][0] == f"stable {stable}: scale-in suspended until the rollout ends"
    assert trail[-2][3][1:] == (
        f"deregistering {stable} from autoscaling before it is removed",
        f"{stable} was a scalable target registered outside smgitops: the new variant is not "
        "scaled; declare spec.autoscaling to carry scaling through rollouts",
    )
    assert trail[-1][4] == ("DeleteUnused",)  # nothing registered for the new variant
    assert final.phase == Phase.SUCCEEDED and world.targets == {}


def test_a_rollback_puts_a_target_registered_outside_smgitops_back_as_it_was() -> None:
    world, stable = _scaled_outside_smgitops()
    world.alarms[ALARM] = "OK"
    status = start(declaration(version=2, steps=[50], analysis={"alarms": [ALARM]}), world)

    def breach(index: int, world: World, status: RolloutStatus) -> RolloutStatus:
        if index == 2:
            world.alarms[ALARM] = "ALARM"
        return status

    final, trail = history(world, status, before=breach)
    assert trail[-1][3:] == (
        ("rolled back: the candidate is off the endpoint",
         f"stable {stable}: autoscaling as it was before the rollout"),
        ("RegisterScaling", "DeleteUnused"),
    )  # fmt: skip
    assert final.phase == Phase.ROLLED_BACK
    assert world.targets == {stable: TEAM_TARGET.model_copy(update={"variant": stable})}
