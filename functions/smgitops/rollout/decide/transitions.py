"""Transitions shared by phases: into a traffic step, into promotion, into the final config,
and the rollback (all traffic back to stable in one call)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smgitops.rollout.actions import Action, UpdateEndpoint
from smgitops.rollout.decide import scaling
from smgitops.rollout.decide.resources import (
    both_live,
    final_config,
    set_weights,
    swapped,
    weights_at,
    weights_live,
)
from smgitops.rollout.status import Phase
from smgitops.rollout.strategies import traffic_steps

if TYPE_CHECKING:
    from smgitops.rollout.decide.context import Decision, TickContext


def enter_step(ctx: TickContext, index: int) -> Decision:
    percent = traffic_steps(ctx.declaration.spec.rollout)[index]
    weights = weights_at(ctx, percent)
    ctx.notes.append(f"step {index + 1}: {percent:g} % on the candidate")
    actions: list[Action] = [] if weights_live(ctx, weights) else [set_weights(ctx, weights)]
    status = ctx.status.evolve(
        phase=Phase.PROGRESSING,
        step_index=index,
        weights=weights,
        step_since=ctx.observation.now,
        promote="",
    )
    return ctx.decision(status, _bake(ctx, scaling.share_ahead(ctx, index)), actions)


def _bake(ctx: TickContext, share: float) -> float:
    """How long to wait after moving traffic: the interval, or a poll when the candidate's floor
    must be raised for ``share`` % (the next tick does it, once the weights are applied)."""
    return ctx.poll if scaling.floor_missing(ctx, share) else ctx.interval


def enter_promoting(ctx: TickContext) -> Decision:
    if swapped(ctx):  # the candidate already serves alone: its config is the final one
        ctx.notes.append("the candidate passed its bake; removing the old variant's resources")
        return enter_finalizing(ctx)
    weights = weights_at(ctx, 100.0)
    ctx.notes.append("100 % on the candidate; stable kept warm for one interval")
    actions: list[Action] = [] if weights_live(ctx, weights) else [set_weights(ctx, weights)]
    status = ctx.status.evolve(
        phase=Phase.PROMOTING, weights=weights, step_since=ctx.observation.now, promote=""
    )
    return ctx.decision(status, _bake(ctx, 100.0), actions)


def enter_finalizing(ctx: TickContext) -> Decision:
    final = final_config(ctx)
    ctx.notes.append(f"replacing the endpoint config with {final.name} (candidate only)")
    actions: list[Action] = [final]
    if ctx.endpoint is None or ctx.endpoint.config != final.name:
        if ctx.status.stable is not None:  # SageMaker refuses to remove a scaled variant
            actions += scaling.release(ctx, ctx.status.stable.name)
        actions.append(UpdateEndpoint(endpoint=ctx.status.endpoint, config=final.name))
    status = ctx.status.evolve(phase=Phase.FINALIZING)
    return ctx.decision(status, ctx.poll, actions)


def rollback(ctx: TickContext, reason: str, **changes: Any) -> Decision:
    """All traffic back to the stable variant now, in one weights call."""
    ctx.update(reason=reason, **changes)
    status = ctx.status
    if status.stable is None:
        ctx.notes.append(f"cannot roll back a first deploy: {reason}")
        return ctx.decision(status.evolve(phase=Phase.FAILED), 0)
    weights = weights_at(ctx, 0.0)
    actions: list[Action] = []
    if both_live(ctx) and not weights_live(ctx, weights):
        actions.append(set_weights(ctx, weights))
    ctx.notes.append(f"rolling back: {reason}")
    return ctx.decision(status.evolve(phase=Phase.ROLLING_BACK, weights=weights), 1, actions)
