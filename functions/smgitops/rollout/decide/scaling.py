"""Autoscaling through a rollout (what Flagger does with HPAs), pure.

``spec.autoscaling`` is an Application Auto Scaling scalable target and a target-tracking
policy on the serving variant. Through a rollout:

* the stable variant keeps the capacity it runs with: no capacity is ever sent to SageMaker for
  a scaled variant (UpdateEndpoint retains live counts; weight shifts send weights only), and
  while traffic moves its scale-in is suspended (``DynamicScalingInSuspended``), so a rollback
  finds the fleet that served all traffic before (Argo Rollouts keeps the stable ReplicaSet
  scaled the same way);
* the candidate gets its own target and policy, its floor (``MinCapacity``) sized for the share
  of traffic it is about to take: ``ceil(stable instances × share)``, within
  [minInstances, maxInstances]. The floor is raised one step ahead (for the next step's share,
  100 % before promotion), in the first tick of the bake (the tick after the weights moved:
  :func:`ensure_floor`), so the instances boot during the bake before they are needed; an
  abTest sizes for the split it holds;
* a variant's target is deregistered **before** the update that removes it: SageMaker refuses to
  update an endpoint that would remove a variant that is a scalable target (awsdocs
  amazon-sagemaker-developer-guide ``doc_source/endpoint-scaling.md``: "Removing a production
  variant that has automatic scaling configured" needs DeregisterScalableTarget first);
* allAtOnce replaces the variant in one update: the new one starts with the stable's live
  capacity (within the declared range) and is registered once it serves alone;
* after promotion only the new variant has a target, with the declared min and max; after a
  rollback the stable variant's target is what it was when the rollout began (policies and
  suspension included), and the candidate has none.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from smgitops.declaration.models import Strategy
from smgitops.rollout.actions import Action, DeregisterScaling, RegisterScaling
from smgitops.rollout.status import Phase, ScalingPolicy, VariantRef, VariantScaling
from smgitops.rollout.strategies import traffic_steps

if TYPE_CHECKING:
    from smgitops.declaration.autoscaling import AutoscalingSpec
    from smgitops.rollout.decide.context import TickContext

POLICY_NAME = "smgitops-target-tracking"
SCALE_IN = "DynamicScalingInSuspended"
# Strategies whose traffic moves while the stable variant waits to take it all back (and a
# shadow run that continues as a canary, from its canary on).
HOLDS_STABLE = frozenset({Strategy.CANARY, Strategy.LINEAR, Strategy.BLUE_GREEN})


def declared(ctx: TickContext) -> AutoscalingSpec | None:
    return ctx.declaration.spec.autoscaling


def observed(ctx: TickContext, variant: str) -> VariantScaling | None:
    """The variant's scalable target as this tick saw it (None: none, or not read)."""
    scaling = ctx.observation.scaling
    return None if scaling is None else scaling.get(variant)


def policy(ctx: TickContext, variant: str) -> ScalingPolicy:
    """The declared target-tracking policy, for ``variant``."""
    spec = declared(ctx)
    assert spec is not None  # noqa: S101 - callers check
    return ScalingPolicy(
        name=POLICY_NAME, configuration=spec.policy_configuration(ctx.status.endpoint, variant)
    )


def stable_count(ctx: TickContext) -> int:
    """The instances the stable variant runs with now (its declared count if unseen)."""
    stable = ctx.status.stable
    if stable is None:
        return 0
    live = ctx.endpoint.variant(stable.name) if ctx.endpoint is not None else None
    if live is not None and live.desired_instance_count > 0:
        return live.desired_instance_count
    return stable.instance_count


def candidate_floor(ctx: TickContext, percent: float) -> int:
    """Instances the candidate needs for ``percent`` % of the stable's traffic."""
    spec = declared(ctx)
    assert spec is not None  # noqa: S101
    return spec.clamp(math.ceil(stable_count(ctx) * percent / 100.0 - 1e-9))


def share_ahead(ctx: TickContext, index: int) -> float:
    """The share the candidate is sized for while at step ``index``: the next step's (100 %
    after the last); an abTest holds its split, so it is sized for that."""
    rollout = ctx.declaration.spec.rollout
    steps = traffic_steps(rollout)
    if rollout.strategy == Strategy.AB_TEST:
        return steps[index]
    return steps[index + 1] if index + 1 < len(steps) else 100.0


def sized_replacement(ctx: TickContext) -> VariantRef:
    """allAtOnce: the new variant takes all traffic in one update, so it starts with the
    stable's live capacity (within the declared range), not ``instanceCount``."""
    candidate = ctx.status.candidate
    if declared(ctx) is None or ctx.status.stable is None or candidate.instance_count == 0:
        return candidate
    count = candidate_floor(ctx, 100.0)
    if count != candidate.instance_count:
        ctx.notes.append(f"the new variant starts with {count} instance(s), as the stable runs")
    return candidate.model_copy(update={"instance_count": count})


def floor_share(ctx: TickContext) -> float | None:
    """The share the candidate is sized for in the current phase (None: not sized now)."""
    status = ctx.status
    if status.phase == Phase.PROMOTING:
        return 100.0
    if status.phase in {Phase.PROGRESSING, Phase.PAUSED} and status.step_index >= 0:
        return None if status.shadow else share_ahead(ctx, status.step_index)
    return None


def floor_missing(ctx: TickContext, percent: float) -> bool:
    """The candidate serves and its registered floor is below what ``percent`` % needs (or it
    has no target yet, or this tick could not read it)."""
    spec = declared(ctx)
    candidate = ctx.status.candidate.name
    if spec is None or ctx.endpoint is None or ctx.endpoint.variant(candidate) is None:
        return False
    current = observed(ctx, candidate)
    return (
        current is None
        or current.min_capacity < candidate_floor(ctx, percent)
        or current.max_capacity != spec.max_instances
    )


def ensure_floor(ctx: TickContext) -> list[Action]:
    """During a bake: the candidate's target raised to its floor if it is not there yet. Never
    in the tick that shifts traffic: a raised floor makes Application Auto Scaling scale the
    variant at once (UpdateEndpointWeightsAndCapacities on its behalf), which leaves the
    endpoint Updating, and SageMaker refuses a weights change until that is done. A bake's
    tick sees the endpoint InService (busy ones wait first), when the service reads the
    targets whenever autoscaling is declared."""
    share = floor_share(ctx)
    if share is None or not floor_missing(ctx, share):
        return []
    return size_candidate(ctx, share)


def size_candidate(ctx: TickContext, percent: float) -> list[Action]:
    """Register (or raise) the candidate's target for ``percent`` % of the traffic."""
    spec = declared(ctx)
    candidate = ctx.status.candidate.name
    if spec is None or ctx.endpoint is None or ctx.endpoint.variant(candidate) is None:
        return []
    floor = candidate_floor(ctx, percent)
    ctx.notes.append(f"candidate scaled for {percent:g} %: at least {floor} instance(s)")
    return [
        RegisterScaling(
            endpoint=ctx.status.endpoint,
            variant=candidate,
            min_capacity=floor,
            max_capacity=spec.max_instances,
            policies=[policy(ctx, candidate)],
        )
    ]


def settle(ctx: TickContext, variant: str) -> list[Action]:
    """The serving variant's target and policy as declared (after a first deploy, a promotion,
    or when the declared variant is already live); none declared: nothing."""
    spec = declared(ctx)
    if spec is None:
        return []
    return [
        RegisterScaling(
            endpoint=ctx.status.endpoint,
            variant=variant,
            min_capacity=spec.min_instances,
            max_capacity=spec.max_instances,
            suspended={},
            policies=[policy(ctx, variant)],
        )
    ]


def release(ctx: TickContext, variant: str) -> list[Action]:
    """Deregister ``variant``'s target before an update removes the variant (it is known to
    have one: seen this tick, or recorded as the stable's when the rollout began)."""
    recorded = ctx.status.stable_scaling
    known = observed(ctx, variant) is not None or (
        recorded is not None and recorded.variant == variant and ctx.observation.scaling is None
    )
    if not known:
        return []
    ctx.notes.append(f"deregistering {variant} from autoscaling before it is removed")
    if declared(ctx) is None and variant != ctx.status.candidate.name:
        ctx.notes.append(
            f"{variant} was a scalable target registered outside smgitops: the new variant is "
            "not scaled; declare spec.autoscaling to carry scaling through rollouts"
        )
    return [DeregisterScaling(endpoint=ctx.status.endpoint, variant=variant)]


def hold_stable(ctx: TickContext, stable: VariantScaling | None) -> list[Action]:
    """Suspend the stable variant's scale-in while traffic moves (its capacity is the rollback's
    safety net); its scale-out keeps working."""
    rollout = ctx.declaration.spec.rollout
    holds = rollout.strategy in HOLDS_STABLE or (
        rollout.strategy == Strategy.SHADOW and rollout.shadow.then == "canary"
    )
    if stable is None or not holds or stable.suspended.get(SCALE_IN):
        return []
    ctx.notes.append(f"stable {stable.variant}: scale-in suspended until the rollout ends")
    return [
        RegisterScaling(
            endpoint=ctx.status.endpoint,
            variant=stable.variant,
            suspended={**stable.suspended, SCALE_IN: True},
        )
    ]


def restore_stable(ctx: TickContext) -> list[Action]:
    """The stable variant's target as it was when the rollout began (a rollback's end)."""
    recorded = ctx.status.stable_scaling
    if recorded is None:
        return []
    ctx.notes.append(f"stable {recorded.variant}: autoscaling as it was before the rollout")
    return [
        RegisterScaling(
            endpoint=ctx.status.endpoint,
            variant=recorded.variant,
            min_capacity=recorded.min_capacity,
            max_capacity=recorded.max_capacity,
            suspended=dict(recorded.suspended),
            policies=list(recorded.policies or []),
        )
    ]


def owned_policy(scaling: VariantScaling | None) -> bool:
    """The target carries smgitops' policy (so smgitops registered it)."""
    return scaling is not None and any(p.name == POLICY_NAME for p in scaling.policies or [])
