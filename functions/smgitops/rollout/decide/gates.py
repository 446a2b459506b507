"""Manual gates (pause until ``smgitops promote``) and the shadow run (the candidate receives a
sampled copy of the traffic, never answers a user)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smgitops.rollout.actions import Action, PutAlarms, UpdateEndpoint
from smgitops.rollout.decide import scaling
from smgitops.rollout.decide.resources import (
    both_config,
    create_model,
    generated_alarms,
    shadow_config,
    stable_only_config,
    weights_at,
)
from smgitops.rollout.decide.transitions import enter_promoting, enter_step, rollback
from smgitops.rollout.status import Phase

if TYPE_CHECKING:
    from smgitops.rollout.decide.context import Decision, TickContext

BEFORE_FIRST_STEP = "beforeFirstStep"
BEFORE_PROMOTION = "beforePromotion"


def pause_at_gate(ctx: TickContext, gate: str) -> Decision | None:
    """Pause at a declared manual gate until ``promote`` (or ``abort``, or the timeout)."""
    rollout = ctx.declaration.spec.rollout
    if gate not in rollout.gates or gate in ctx.status.gates_passed:
        return None
    reason = f"waiting at gate {gate}: smgitops promote {ctx.status.endpoint} (or abort)"
    ctx.notes.append(reason)
    paused = ctx.status.evolve(phase=Phase.PAUSED, gate=gate, reason=reason, promote="")
    return ctx.decision(paused, rollout.gate_timeout_seconds, gate=True)


def at_gate(ctx: TickContext) -> Decision:
    gate = ctx.status.gate
    timeout = ctx.declaration.spec.rollout.gate_timeout_seconds
    if ctx.status.promote:
        full = ctx.status.promote == "full"
        ctx.notes.append(f"gate {gate} released by an operator" + (", to 100 %" if full else ""))
        ctx.update(
            gate="",
            gates_passed=[*ctx.status.gates_passed, gate],
            reason="",
            deadline_at=resumed_deadline(ctx),
        )
        if gate == BEFORE_FIRST_STEP and not full:  # --full skips the steps too
            return enter_step(ctx, 0)
        return enter_promoting(ctx)
    waited = ctx.observation.now - ctx.status.phase_since
    if waited >= timeout:
        return rollback(ctx, f"manual gate {gate} timed out after {timeout}s")
    return ctx.decision(ctx.status, timeout - waited, gate=True)


def resumed_deadline(ctx: TickContext) -> float:
    """Time spent paused (or Pending) does not count against the rollout's deadline."""
    return ctx.status.deadline_at + max(0.0, ctx.observation.now - ctx.status.phase_since)


def start_shadow(ctx: TickContext) -> Decision:
    stable = ctx.status.stable
    assert stable is not None  # noqa: S101 - a shadow starts beside the live variant
    config = shadow_config(ctx)
    actions: list[Action] = [
        create_model(ctx.declaration, ctx.observation.region, ctx.status.owner),
        config,
        *_update_to(ctx, config.name),
    ]
    alarms = generated_alarms(ctx.declaration, ctx.status.candidate.name)
    if alarms:
        actions.append(PutAlarms(alarms=alarms))
    sampling = ctx.declaration.spec.rollout.shadow.sampling_percent
    ctx.notes.append(f"shadow: {sampling} % of requests copied to {ctx.status.candidate.name}")
    status = ctx.status.evolve(
        phase=Phase.INITIALIZING,
        shadow=True,
        weights={stable.name: 100.0},
        generated_alarms=[a.name for a in alarms],
        watched_alarms=[*ctx.declaration.spec.rollout.analysis.alarms, *(a.name for a in alarms)],
    )
    return ctx.decision(status, ctx.poll, actions)


def after_shadow(ctx: TickContext) -> Decision:
    """The shadow run passed: report only (``then: stop``) or continue into a canary."""
    if ctx.declaration.spec.rollout.shadow.then == "canary":
        both = both_config(ctx)
        ctx.notes.append("shadow passed: continuing as a canary from 0 %")
        status = ctx.status.evolve(
            phase=Phase.INITIALIZING,
            shadow=False,
            step_index=-1,
            weights=weights_at(ctx, 0.0),
            extensions=0,
        )
        hold = scaling.hold_stable(ctx, ctx.status.stable_scaling)
        return ctx.decision(status, ctx.poll, [both, *hold, *_update_to(ctx, both.name)])
    stable_only = stable_only_config(ctx)
    ctx.notes.append("shadow report complete (then: stop): removing the shadow variant")
    status = ctx.status.evolve(phase=Phase.FINALIZING, reason="shadow report: passed, not promoted")
    return ctx.decision(status, ctx.poll, [stable_only, *_update_to(ctx, stable_only.name)])


def _update_to(ctx: TickContext, config: str) -> list[Action]:
    """The endpoint onto ``config``, unless it is live already (a replay of a tick that died
    after its update: SageMaker would start the same update again)."""
    if ctx.endpoint is not None and ctx.endpoint.config == config:
        return []
    return [UpdateEndpoint(endpoint=ctx.status.endpoint, config=config)]
