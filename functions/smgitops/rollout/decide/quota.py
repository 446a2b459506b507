"""A limit we cannot honour is refused up front with a reason, never discovered mid-rollout:
before anything is created, the rollout's peak instances per type (rollout/capacity.py, the same
figure the pull-request plan shows) against the account's "<type> for endpoint usage" quota
less what its other endpoints hold (Observation.quotas, read by the tick in Pending).

A quota that could not be read for lack of permission refuses the rollout with a reason naming
the permission (a check that cannot observe is a failed check); a quota Service Quotas does not
list, or a use too large to count, is not checked here (SageMaker's own ResourceLimitExceeded
still ends the rollout before any traffic moves).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smgitops.rollout.capacity import of_live, of_spec, quota_name, rollout_capacity

if TYPE_CHECKING:
    from smgitops.rollout.decide.context import TickContext
    from smgitops.rollout.observation import EndpointView
    from smgitops.rollout.status import VariantRef


def quota_refusal(ctx: TickContext, ep: EndpointView | None, stable: VariantRef | None) -> str:
    """Why the rollout cannot fit the account's instance quotas ("" when it can, or when
    nothing is known against it)."""
    observation = ctx.observation
    if observation.quota_unreadable:
        return (
            "the instance quota could not be read, so the rollout's peak cannot be checked "
            f"against it: {observation.quota_unreadable}"
        )
    if not observation.quotas:
        return ""
    held = None
    if stable is not None:
        live = ep.variant(stable.name) if ep is not None else None
        count = max(stable.instance_count, live.current_instance_count if live else 0)
        held = of_live(stable.instance_type, count)
    spec = ctx.declaration.spec
    peak = rollout_capacity(spec.rollout, of_spec(spec), held).peak()
    for quota in observation.quotas:
        need = peak.get(quota.instance_type, 0)
        others = quota.others or 0
        if need and need + others > quota.quota:
            return (
                f"the rollout needs up to {need} × {quota.instance_type} at once "
                f"({spec.rollout.strategy}), and the account's quota "
                f"'{quota_name(quota.instance_type)}' is {quota.quota} with {others} held by "
                "other endpoints: nothing was created; request a quota increase (Service "
                "Quotas), free instances, or choose a strategy with a smaller peak (plan shows it)"
            )
    return ""
