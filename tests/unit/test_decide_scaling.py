"""rollout/decide/scaling.py, pure: how big the candidate is made for its share, when the
stable's scale-in is held, what a rollback puts back (the engine's use of them:
tests/integration/test_autoscaling.py)."""

from __future__ import annotations

from typing import Any

import pytest

from smgitops.declaration.models import Declaration
from smgitops.rollout.actions import DeregisterScaling, RegisterScaling
from smgitops.rollout.decide import new_status
from smgitops.rollout.decide.context import TickContext
from smgitops.rollout.decide.scaling import (
    POLICY_NAME,
    candidate_floor,
    hold_stable,
    release,
    restore_stable,
    share_ahead,
    size_candidate,
)
from smgitops.rollout.observation import EndpointView, LiveVariant, Observation
from smgitops.rollout.status import ScalingPolicy, VariantRef, VariantScaling
from tests.builders import declaration_dict

STABLE = VariantRef(name="v-old", model="smg-old", instance_type="ml.m5.large", instance_count=2)


def context(
    stable_count: int = 5,
    *,
    scaling: dict[str, VariantScaling] | None = None,
    minimum: int = 2,
    maximum: int = 8,
    **rollout: Any,
) -> TickContext:
    raw = declaration_dict(version=2, instance_count=2, **rollout)
    raw["spec"]["autoscaling"] = {
        "minInstances": minimum,
        "maxInstances": maximum,
        "target": {"metric": "InvocationsPerInstance", "value": 100},
    }
    decl = Declaration.model_validate(raw)
    status = new_status(decl, rollout_id="r", commit="c" * 40, pushed_at=0.0, source={}, now=0.0)
    status = status.evolve(stable=STABLE)
    endpoint = EndpointView(
        name=status.endpoint,
        status="InService",
        config="c",
        variants=[
            LiveVariant(name=STABLE.name, desired_instance_count=stable_count),
            LiveVariant(name=status.candidate.name, desired_instance_count=2),
        ],
    )
    return TickContext(status, decl, Observation(now=0.0, endpoint=endpoint, scaling=scaling))


@pytest.mark.parametrize(
    ("stable", "percent", "floor"),
    [(5, 10, 2), (5, 50, 3), (5, 100, 5), (10, 50, 5), (20, 100, 8), (1, 100, 2), (4, 25, 2)],
)
def test_the_floor_is_the_share_of_the_stable_within_min_and_max(
    stable: int, percent: float, floor: int
) -> None:
    assert candidate_floor(context(stable), percent) == floor


def test_an_exact_share_is_not_rounded_up() -> None:
    assert candidate_floor(context(6, minimum=1), 50) == 3  # ceil(3.0), not 4


@pytest.mark.parametrize(
    ("rollout", "index", "share"),
    [
        ({"steps": [10, 50]}, 0, 50.0),
        ({"steps": [10, 50]}, 1, 100.0),
        ({"strategy": "linear", "stepWeight": 30}, 1, 90.0),
        ({"strategy": "blueGreen"}, 0, 100.0),
        ({"strategy": "abTest", "split": 20}, 0, 20.0),
    ],
)
def test_sized_one_step_ahead_except_an_ab_test(
    rollout: dict[str, Any], index: int, share: float
) -> None:
    assert share_ahead(context(**rollout), index) == share


def test_the_candidate_gets_its_own_target_and_policy() -> None:
    ctx = context()
    [action] = size_candidate(ctx, 50)
    assert isinstance(action, RegisterScaling)
    assert (action.variant, action.min_capacity, action.max_capacity) == (
        ctx.status.candidate.name,
        3,
        8,
    )
    [policy] = action.policies
    assert policy.name == POLICY_NAME
    assert policy.configuration["TargetValue"] == 100.0


def test_nothing_is_scaled_without_autoscaling_or_before_the_candidate_serves() -> None:
    ctx = context()
    assert ctx.endpoint is not None
    serving = ctx.endpoint.model_copy(update={"variants": ctx.endpoint.variants[:1]})
    ctx.observation = ctx.observation.model_copy(update={"endpoint": serving})
    assert size_candidate(ctx, 50) == [], "the candidate is not a production variant yet"
    plain = context()
    plain.declaration = plain.declaration.model_copy(
        update={"spec": plain.declaration.spec.model_copy(update={"autoscaling": None})}
    )
    assert size_candidate(plain, 50) == []


SCALED = VariantScaling(
    variant=STABLE.name,
    min_capacity=2,
    max_capacity=8,
    suspended={"DynamicScalingInSuspended": False},
    policies=[ScalingPolicy(name="team-policy", configuration={"TargetValue": 70.0})],
)


@pytest.mark.parametrize(
    ("strategy", "held"),
    [("canary", True), ("linear", True), ("blueGreen", True), ("abTest", False)],
)
def test_the_stable_scale_in_is_held_while_traffic_moves(strategy: str, held: bool) -> None:
    actions = hold_stable(context(strategy=strategy), SCALED)
    assert bool(actions) == held
    if held:
        [action] = actions
        assert isinstance(action, RegisterScaling)
        assert action.suspended == {"DynamicScalingInSuspended": True}
        assert action.min_capacity is None and action.policies == []  # nothing else changes


def test_a_stable_already_held_or_not_scaled_is_left_alone() -> None:
    held = SCALED.model_copy(update={"suspended": {"DynamicScalingInSuspended": True}})
    assert hold_stable(context(), held) == []
    assert hold_stable(context(), None) == []


def test_a_rollback_puts_back_what_was_there() -> None:
    ctx = context()
    ctx.update(stable_scaling=SCALED)
    [action] = restore_stable(ctx)
    assert isinstance(action, RegisterScaling)
    assert (action.min_capacity, action.max_capacity) == (2, 8)
    assert action.suspended == {"DynamicScalingInSuspended": False}
    assert [p.name for p in action.policies] == ["team-policy"]


def test_only_a_registered_variant_is_released() -> None:
    registered = context(scaling={STABLE.name: SCALED})
    assert release(registered, STABLE.name) == [
        DeregisterScaling(endpoint=registered.status.endpoint, variant=STABLE.name)
    ]
    assert release(context(scaling={}), STABLE.name) == []
    # not read this tick: what the rollout recorded at its start decides
    unread = context(scaling=None)
    unread.update(stable_scaling=SCALED)
    assert len(release(unread, STABLE.name)) == 1


def test_a_rollback_that_fails_for_good_still_restores_the_stable_scaling() -> None:
    from smgitops.rollout.decide import rejected
    from smgitops.rollout.status import Phase

    ctx = context()
    status = ctx.status.evolve(phase=Phase.ROLLING_BACK, stable_scaling=SCALED)
    decision = rejected(status, ctx.observation, "UpdateEndpoint", "ValidationException")
    assert decision.status.phase == Phase.FAILED
    [action] = decision.actions
    assert isinstance(action, RegisterScaling)
    assert action.variant == STABLE.name
    assert action.suspended == {"DynamicScalingInSuspended": False}
