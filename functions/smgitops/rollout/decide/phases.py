"""One function per phase, the PHASES table, and decide()."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from smgitops.declaration.models import Declaration, Strategy
from smgitops.errors import ImageResolutionError
from smgitops.rollout.actions import (
    Action,
    CreateEndpoint,
    DeregisterScaling,
    PutAlarms,
    UpdateEndpoint,
)
from smgitops.rollout.decide import scaling
from smgitops.rollout.decide.checks import (
    approval,
    busy,
    checked,
    elapsed_in_step,
    failing_alarms,
    freeze_window,
    hold_weights,
    judge,
    validate,
)
from smgitops.rollout.decide.context import PAUSE_CAP_S, Decision, TickContext
from smgitops.rollout.decide.gates import (
    BEFORE_FIRST_STEP,
    BEFORE_PROMOTION,
    after_shadow,
    at_gate,
    pause_at_gate,
    resumed_deadline,
    start_shadow,
)
from smgitops.rollout.decide.quota import quota_refusal
from smgitops.rollout.decide.requests import hand_over
from smgitops.rollout.decide.resources import (
    both_config,
    both_live,
    cleanup,
    create_model,
    final_config,
    generated_alarms,
    managed_tags,
    resolve_image,
    serverless_refusal,
    set_weights,
    shadow_config,
    stable_only_config,
    swapped,
    weights_at,
    weights_live,
)
from smgitops.rollout.decide.transitions import (
    enter_finalizing,
    enter_promoting,
    enter_step,
    rollback,
)
from smgitops.rollout.observation import (
    BUSY,
    FAILURES,
    IN_SERVICE,
    EndpointView,
    Observation,
    failed_checks_reason,
)
from smgitops.rollout.status import Phase, RolloutStatus, VariantRef, VariantScaling
from smgitops.rollout.strategies import traffic_steps

if TYPE_CHECKING:
    from collections.abc import Callable


def _pending(ctx: TickContext) -> Decision:
    if ctx.status.abort_requested and ctx.endpoint is None:
        return _ended_before_start(ctx, [final_config(ctx).name])
    try:
        resolve_image(ctx.declaration.spec.model, ctx.observation.region)
    except ImageResolutionError as exc:
        return _fails_before_start(ctx, str(exc))
    waiting = approval(ctx) or freeze_window(ctx)
    if waiting is not None:
        return waiting
    # The rollout begins now: waiting for approval or a freeze to end is not rolling out.
    ctx.update(reason="", deadline_at=resumed_deadline(ctx))
    ep = ctx.endpoint
    if ep is None:
        return _refused(ctx, quota_refusal(ctx, None, None)) or _first_deploy(ctx)
    if ep.status in BUSY:
        return ctx.wait(f"waiting for the endpoint to leave {ep.status}")
    if ep.status != IN_SERVICE:
        return _fails_before_start(
            ctx, f"endpoint is {ep.status}: {ep.failure_reason}".rstrip(": ")
        )
    if ctx.status.first_deploy:
        return _created(ctx)
    if ctx.observation.config_missing:
        return _fails_before_start(
            ctx,
            f"the endpoint's live config {ep.config} no longer exists (deleted outside "
            "smgitops), so its variants cannot be kept as the stable one; recreate that config, "
            "or update the endpoint to an existing one, and push again",
        )
    live = ctx.observation.config_variants
    if live is None:
        return ctx.wait("endpoint config not observed yet")
    return _from_live(ctx, ep, live)


def _fails_before_start(ctx: TickContext, reason: str) -> Decision:
    """The rollout fails before anything is created, saying ``reason``."""
    ctx.notes.append(reason)
    return ctx.decision(ctx.status.evolve(phase=Phase.FAILED, reason=reason), 0)


def _refused(ctx: TickContext, reason: str) -> Decision | None:
    """The rollout fails before anything is created, with ``reason`` (None: no reason)."""
    return _fails_before_start(ctx, reason) if reason else None


def _from_live(ctx: TickContext, ep: EndpointView, live: list[VariantRef]) -> Decision:
    """The endpoint serves: its heaviest other variant becomes the stable one.

    The stable variant, the config live before the rollout and the stable's scaling are
    written ahead of the first tick's actions (``Decision.ahead``): that tick changes the
    endpoint, so a replay of it (the tick died before persisting) could not observe them any
    more — an allAtOnce update has even removed the stable variant."""
    before = ctx.status
    candidate = before.candidate
    others = [v for v in live if v.name != candidate.name]
    recorded = before.stable  # set only by this rollout's own first tick, written ahead
    if not others and recorded is None:
        return _already_live(ctx, ep)
    weights_by_name = {v.name: v.desired_weight for v in ep.variants}
    stable = max(others, key=lambda v: weights_by_name.get(v.name, 0.0)) if others else recorded
    assert stable is not None  # noqa: S101 - others, or recorded
    stable_config = before.stable_config or (
        ep.config if ep.variant(candidate.name) is None else ""
    )
    stable_scaling = before.stable_scaling or scaling.observed(ctx, stable.name)
    ctx.update(stable=stable, stable_config=stable_config, stable_scaling=stable_scaling)
    if ctx.status.abort_requested:
        if not ep.hosts(candidate.name):
            made = [both_config(ctx).name, shadow_config(ctx).name, final_config(ctx).name]
            return _ended_before_start(ctx, made)
        # the first tick changed the endpoint and died: the state machine asks for the abort;
        # the rollback deletes what that tick may have made, its alarms too
        made = [a.name for a in generated_alarms(ctx.declaration, candidate.name)]
        return rollback(ctx, ctx.status.abort_requested, generated_alarms=made)
    decision = _begin(ctx, ep, stable, stable_scaling, replay=not others)
    if decision.status.done or not decision.actions or _recorded(ctx.status) == _recorded(before):
        return decision
    # phase_since: a replay's Pending time (its deadline's extension) counts from here
    now = ctx.observation.now
    return replace(decision, ahead=ctx.status.evolve(phase_since=now, updated_at=now))


def _recorded(status: RolloutStatus) -> tuple[object, ...]:
    """What the first tick writes ahead of its actions."""
    return (status.stable, status.stable_config, status.stable_scaling, status.candidate)


def _begin(
    ctx: TickContext,
    ep: EndpointView,
    stable: VariantRef,
    stable_scaling: VariantScaling | None,
    *,
    replay: bool,
) -> Decision:
    """The first tick's changes, by strategy (``replay``: the tick that replaced the stable
    variant died before persisting; its update is done, the rest is done again)."""
    candidate = ctx.status.candidate
    strategy = ctx.declaration.spec.rollout.strategy
    refused = serverless_refusal(stable, candidate, strategy) or quota_refusal(ctx, ep, stable)
    if refused:
        return _fails_before_start(ctx, refused)
    if strategy == Strategy.ALL_AT_ONCE:
        ctx.notes.append("allAtOnce: replacing the model in one update")
        if not replay:  # sized from the stable's live count (recorded with the candidate)
            ctx.update(candidate=scaling.sized_replacement(ctx))
        return _replace_all(ctx)
    if swapped(ctx):
        return _swap(ctx)
    if strategy == Strategy.SHADOW:
        return start_shadow(ctx)
    both = both_config(ctx)
    actions: list[Action] = [
        create_model(ctx.declaration, ctx.observation.region, ctx.status.owner),
        both,
    ]
    if ep.config != both.name:
        actions += scaling.hold_stable(ctx, stable_scaling)
        actions.append(UpdateEndpoint(endpoint=ctx.status.endpoint, config=both.name))
    alarms = generated_alarms(ctx.declaration, candidate.name)
    if alarms:
        actions.append(PutAlarms(alarms=alarms))
    ctx.notes.append(f"adding candidate {candidate.name} at 0 % beside stable {stable.name}")
    status = ctx.status.evolve(
        phase=Phase.INITIALIZING,
        weights={stable.name: 100.0, candidate.name: 0.0},
        generated_alarms=[a.name for a in alarms],
        watched_alarms=[*ctx.declaration.spec.rollout.analysis.alarms, *(a.name for a in alarms)],
    )
    return ctx.decision(status, ctx.poll, actions)


def _ended_before_start(ctx: TickContext, configs: list[str]) -> Decision:
    """Aborted while Pending: nothing reached the endpoint; remove what a crashed tick made."""
    ctx.notes.append("ended before any change to the endpoint")
    ended = ctx.status.evolve(phase=Phase.ROLLED_BACK, reason=ctx.status.abort_requested)
    # the stable's scaling as recorded: a crashed tick may have suspended its scale-in
    restore = scaling.restore_stable(ctx)
    return ctx.decision(ended, 0, restore + cleanup(ctx, configs, [ctx.status.candidate.model]))


def _already_live(ctx: TickContext, ep: EndpointView) -> Decision:
    """The declared model is the endpoint's only variant: restore its capacity and weight."""
    candidate = ctx.status.candidate
    ctx.notes.append("the declared model is already live")
    status = ctx.status.evolve(
        phase=Phase.SUCCEEDED, stable=candidate, weights={candidate.name: 100.0}
    )
    live_variant = ep.variant(candidate.name)
    if live_variant is None:
        return ctx.decision(status, 0)
    if ctx.declaration.spec.autoscaling is not None:
        # its instance count is the autoscaler's: the target and policy as declared (which
        # moves the count into the declared range), and the weight
        actions = scaling.settle(ctx, candidate.name)
        if not weights_live(ctx, {candidate.name: 100.0}):
            actions.append(set_weights(ctx, {candidate.name: 100.0}))
        return ctx.decision(status, 0, actions)
    actions = []
    if scaling.owned_policy(scaling.observed(ctx, candidate.name)):
        ctx.notes.append(
            f"autoscaling removed from the declaration: deregistering {candidate.name}"
        )
        actions.append(DeregisterScaling(endpoint=ctx.status.endpoint, variant=candidate.name))
    elif scaling.observed(ctx, candidate.name) is not None:
        ctx.notes.append("instance count left to the scalable target registered outside smgitops")
        if not weights_live(ctx, {candidate.name: 100.0}):
            actions.append(set_weights(ctx, {candidate.name: 100.0}))
        return ctx.decision(status, 0, actions)
    if live_variant.desired_instance_count != candidate.instance_count or not weights_live(
        ctx, {candidate.name: 100.0}
    ):
        ctx.notes.append(f"restoring {candidate.instance_count} instance(s) at 100 %")
        counts = {candidate.name: candidate.instance_count}
        actions.append(set_weights(ctx, {candidate.name: 100.0}, counts))
    return ctx.decision(status, 0, actions)


def _created(ctx: TickContext) -> Decision:
    """The endpoint this rollout created (``first_deploy`` written ahead): the tick that
    created it died before persisting. An abort (the state machine's, for that tick) has
    nothing to roll back to: Failed, the new endpoint left for a person; otherwise on as the
    tick would have gone, to Initializing — never "already live"."""
    if ctx.status.abort_requested:
        return rollback(ctx, ctx.status.abort_requested)
    candidate = ctx.status.candidate.name
    ctx.notes.append(f"endpoint {ctx.status.endpoint} created with {candidate}")
    status = ctx.status.evolve(phase=Phase.INITIALIZING, weights={candidate: 100.0})
    return ctx.decision(status, ctx.poll)


def _first_deploy(ctx: TickContext) -> Decision:
    final = final_config(ctx)
    ctx.notes.append(f"creating endpoint {ctx.status.endpoint} with {ctx.status.candidate.name}")
    actions: list[Action] = [
        create_model(ctx.declaration, ctx.observation.region, ctx.status.owner),
        final,
        CreateEndpoint(
            endpoint=ctx.status.endpoint,
            config=final.name,
            tags=managed_tags(ctx.declaration, ctx.status.owner),
        ),
    ]
    status = ctx.status.evolve(
        phase=Phase.INITIALIZING,
        first_deploy=True,
        weights={ctx.status.candidate.name: 100.0},
    )
    decision = ctx.decision(status, ctx.poll, actions)
    if ctx.status.first_deploy:
        return decision
    # written ahead: a replay finds the endpoint its own, not an endpoint already live
    now = ctx.observation.now
    ahead = ctx.status.evolve(first_deploy=True, phase_since=now, updated_at=now)
    return replace(decision, ahead=ahead)


def _replace_all(ctx: TickContext) -> Decision:
    final = final_config(ctx)
    # never live yet: an endpoint on the candidate-only config took the _already_live path
    actions: list[Action] = [
        create_model(ctx.declaration, ctx.observation.region, ctx.status.owner),
        final,
    ]
    if ctx.endpoint is None or ctx.endpoint.config != final.name:  # not already replaced
        if ctx.status.stable is not None:
            actions += scaling.release(ctx, ctx.status.stable.name)
        actions.append(UpdateEndpoint(endpoint=ctx.status.endpoint, config=final.name))
    status = ctx.status.evolve(phase=Phase.FINALIZING, weights={ctx.status.candidate.name: 100.0})
    return ctx.decision(status, ctx.poll, actions)


def _swap(ctx: TickContext) -> Decision:
    """Serverless blueGreen: the candidate replaces the stable variant in one update (SageMaker
    keeps the old one serving until the new one is healthy), then bakes alone."""
    final = final_config(ctx)
    # never live yet: an endpoint on the candidate-only config took the _already_live path
    actions: list[Action] = [
        create_model(ctx.declaration, ctx.observation.region, ctx.status.owner),
        final,
    ]
    if ctx.endpoint is None or ctx.endpoint.config != final.name:  # not already swapped
        actions.append(UpdateEndpoint(endpoint=ctx.status.endpoint, config=final.name))
    alarms = generated_alarms(ctx.declaration, ctx.status.candidate.name)
    if alarms:
        actions.append(PutAlarms(alarms=alarms))
    ctx.notes.append(
        "serverless blueGreen: the candidate replaces the stable variant (one production "
        "variant on a serverless endpoint), then bakes alone; a failure swaps the stable back"
    )
    status = ctx.status.evolve(
        phase=Phase.INITIALIZING,
        weights={ctx.status.candidate.name: 100.0},
        generated_alarms=[a.name for a in alarms],
        watched_alarms=[*ctx.declaration.spec.rollout.analysis.alarms, *(a.name for a in alarms)],
    )
    return ctx.decision(status, ctx.poll, actions)


def _bake_swapped(ctx: TickContext) -> Decision:
    """The swapped candidate serves alone: one bake of ``interval`` with the checks."""
    ctx.notes.append(f"the candidate serves alone; baking {ctx.step_interval}s with the checks")
    baking = ctx.status.evolve(
        phase=Phase.PROGRESSING,
        step_index=0,
        weights={ctx.status.candidate.name: 100.0},
        step_since=ctx.observation.now,
        promote="",
    )
    return ctx.decision(baking, ctx.interval)


def _initializing(ctx: TickContext) -> Decision:
    ep = ctx.endpoint
    status = ctx.status
    if ep is None:
        if ctx.observation.now - status.phase_since < 60:
            return ctx.wait("endpoint not visible yet")
        return ctx.decision(status.evolve(phase=Phase.FAILED, reason="endpoint was not created"), 0)
    if status.abort_requested or ctx.observation.now > status.deadline_at:
        return rollback(ctx, status.abort_requested or "deadline exceeded")
    return busy(ctx) or _initialized(ctx, ep)


def _initialized(ctx: TickContext, ep: EndpointView) -> Decision:
    status = ctx.status
    target = _initial_target(ctx)
    if ep.status in FAILURES or (ep.config != target and ep.failure_reason):
        reason = f"endpoint update failed: {ep.failure_reason or ep.status}"
        if status.first_deploy:
            return ctx.decision(status.evolve(phase=Phase.FAILED, reason=reason), 0)
        return rollback(ctx, reason)
    if ep.config != target:
        return ctx.wait(f"waiting for config {target} to be live")
    if status.first_deploy:
        ctx.notes.append("endpoint created and InService")
        done = status.evolve(phase=Phase.SUCCEEDED, stable=status.candidate, reason="created")
        return ctx.decision(done, 0, scaling.settle(ctx, status.candidate.name))
    if status.shadow:
        duration = ctx.step_interval
        ctx.notes.append(f"shadow run: observing the candidate for {duration}s, no user traffic")
        observing = status.evolve(
            phase=Phase.PROGRESSING, step_index=0, step_since=ctx.observation.now
        )
        return ctx.decision(observing, duration)
    failing = failing_alarms(ctx)
    if failing:  # already in ALARM, or blind: not a single request for the candidate
        return rollback(ctx, failed_checks_reason(failing, "before the first step"))
    if swapped(ctx):
        return _bake_swapped(ctx)
    return validate(ctx) or pause_at_gate(ctx, BEFORE_FIRST_STEP) or enter_step(ctx, 0)


def _initial_target(ctx: TickContext) -> str:
    if ctx.status.first_deploy or swapped(ctx):
        return final_config(ctx).name
    if ctx.status.shadow:
        return shadow_config(ctx).name
    return both_config(ctx).name


def _progressing(ctx: TickContext) -> Decision:
    stop = checked(ctx)
    if stop is not None:
        return stop
    if ctx.status.promote == "full" and not ctx.status.shadow:
        ctx.notes.append("promoted to 100 % by an operator")
        return enter_promoting(ctx)
    elapsed = elapsed_in_step(ctx)
    if elapsed < ctx.step_interval and ctx.status.promote != "step":
        return hold_weights(ctx, ctx.step_interval - elapsed)
    stop = judge(ctx)
    if stop is not None:
        return stop
    ctx.update(reason="")  # the step passed: a held step's "failed check n/m: holding" is over
    if ctx.status.shadow:
        return after_shadow(ctx)
    ctx.notes.append(f"step {ctx.status.step_index + 1} passed its checks")
    steps = traffic_steps(ctx.declaration.spec.rollout)
    following = ctx.status.step_index + 1
    if following < len(steps):
        return enter_step(ctx, following)
    if ctx.declaration.spec.rollout.strategy == Strategy.AB_TEST:
        percent = steps[-1]
        reason = f"holding {percent:g} % on the challenger until promote or abort"
        ctx.notes.append(reason)
        paused = ctx.status.evolve(phase=Phase.PAUSED, reason=reason, promote="")
        return ctx.decision(paused, ctx.interval)
    return pause_at_gate(ctx, BEFORE_PROMOTION) or enter_promoting(ctx)


def _paused(ctx: TickContext) -> Decision:
    stop = checked(ctx)
    if stop is not None:
        return stop
    if ctx.status.gate:
        return at_gate(ctx)
    if ctx.status.promote:
        ctx.notes.append("promoted by an operator")
        ctx.update(reason="", deadline_at=resumed_deadline(ctx))
        return enter_promoting(ctx)
    # an abTest holds its split until promote or abort, for days maybe: back off to an hour
    return hold_weights(ctx, ctx.backoff(ctx.interval, max(ctx.interval, PAUSE_CAP_S)))


def _promoting(ctx: TickContext) -> Decision:
    stop = checked(ctx)
    if stop is not None:
        return stop
    elapsed = elapsed_in_step(ctx)
    if elapsed < ctx.interval:
        return hold_weights(ctx, ctx.interval - elapsed)
    ctx.update(reason="")  # the warm interval passed its checks (held or not)
    return enter_finalizing(ctx)


def _finalizing(ctx: TickContext) -> Decision:
    ep = ctx.endpoint
    if ep is None:
        return ctx.decision(ctx.status.evolve(phase=Phase.FAILED, reason="endpoint disappeared"), 0)
    if ep.status in BUSY:
        return ctx.wait(f"endpoint is {ep.status}")
    if ctx.status.shadow:
        return _finish_shadow_report(ctx, ep)
    final = final_config(ctx).name
    if ep.status in FAILURES or (ep.config != final and ep.failure_reason):
        return rollback(ctx, f"endpoint update failed: {ep.failure_reason or ep.status}")
    if ep.config != final:
        return ctx.wait(f"waiting for config {final} to be live")
    stable = ctx.status.stable
    configs = [ctx.status.stable_config]
    models: list[str] = []
    if stable is not None:
        configs += [both_config(ctx).name, stable_only_config(ctx).name]
        if ctx.declaration.spec.rollout.strategy == Strategy.SHADOW:  # then: canary
            configs.append(shadow_config(ctx).name)
        if stable.model != ctx.status.candidate.model:
            models.append(stable.model)
    ctx.notes.append("rollout succeeded; old variant removed")
    done = ctx.status.evolve(
        phase=Phase.SUCCEEDED,
        stable=ctx.status.candidate,
        weights={ctx.status.candidate.name: 100.0},
        reason=ctx.status.reason or "promoted",
    )
    actions = scaling.settle(ctx, ctx.status.candidate.name)  # its floor back to minInstances
    return ctx.decision(done, 0, actions + cleanup(ctx, configs, models))


def _finish_shadow_report(ctx: TickContext, ep: EndpointView) -> Decision:
    """``then: stop``: the stable variant alone again; the candidate was only observed."""
    stable_only = stable_only_config(ctx).name
    if ep.config != stable_only:
        return ctx.wait(f"waiting for config {stable_only} to be live")
    ctx.notes.append("shadow run ended; the stable model serves alone, as before")
    done = ctx.status.evolve(phase=Phase.SUCCEEDED)
    configs = [shadow_config(ctx).name]
    return ctx.decision(done, 0, cleanup(ctx, configs, [ctx.status.candidate.model]))


def _rolling_back(ctx: TickContext) -> Decision:
    ep = ctx.endpoint
    status = ctx.status
    if ep is None or ep.status in FAILURES:
        why = "endpoint disappeared" if ep is None else f"endpoint failed: {ep.failure_reason}"
        failed = status.evolve(phase=Phase.FAILED, reason=f"{status.reason}; {why}")
        configs = (
            [
                both_config(ctx).name,
                final_config(ctx).name,
                shadow_config(ctx).name,
                stable_only_config(ctx).name,
            ]
            if status.stable
            else []
        )
        # Only what the failed endpoint does not use: DeleteUnused checks before deleting.
        cleaning = cleanup(ctx, configs, [status.candidate.model])
        # the stable's scaling as it was: a scale-in suspended for the rollout is not left so
        restore = scaling.restore_stable(ctx) if ep is not None else []
        return ctx.decision(failed, 0, restore + cleaning)
    if ep.status in BUSY:
        return ctx.wait(f"endpoint is {ep.status}")
    if not ep.hosts(status.candidate.name):
        configs = (
            [both_config(ctx).name, final_config(ctx).name, shadow_config(ctx).name]
            if status.stable
            else []
        )
        models = (
            [status.candidate.model]
            if status.stable and status.stable.model != status.candidate.model
            else []
        )
        ctx.notes.append("rolled back: the candidate is off the endpoint")
        done = status.evolve(phase=Phase.ROLLED_BACK)
        return ctx.decision(done, 0, scaling.restore_stable(ctx) + cleanup(ctx, configs, models))
    weights = weights_at(ctx, 0.0)
    if both_live(ctx) and not weights_live(ctx, weights):
        return ctx.decision(status.evolve(weights=weights), 1, [set_weights(ctx, weights)])
    # Weights are back on stable, or stable is not on the endpoint any more (the candidate-only
    # config went live while finalizing): the stable-only config brings it back either way.
    stable_only = stable_only_config(ctx)
    ctx.notes.append(f"removing the candidate: endpoint config {stable_only.name}")
    actions: list[Action] = [
        stable_only,
        *scaling.release(ctx, status.candidate.name),
        UpdateEndpoint(endpoint=status.endpoint, config=stable_only.name),
    ]
    return ctx.decision(status, 1, actions)


def _terminal(ctx: TickContext) -> Decision:
    return ctx.decision(ctx.status, 0)


PHASES: dict[Phase, Callable[[TickContext], Decision]] = {
    Phase.PENDING: _pending,
    Phase.INITIALIZING: _initializing,
    Phase.PROGRESSING: _progressing,
    Phase.PAUSED: _paused,
    Phase.PROMOTING: _promoting,
    Phase.FINALIZING: _finalizing,
    Phase.ROLLING_BACK: _rolling_back,
    Phase.SUCCEEDED: _terminal,
    Phase.ROLLED_BACK: _terminal,
    Phase.FAILED: _terminal,
    Phase.SUPERSEDED: _terminal,
}


def decide(declaration: Declaration, status: RolloutStatus, observation: Observation) -> Decision:
    """The next actions, the next status and how long to wait before the next tick."""
    decision = PHASES[status.phase](TickContext(status, declaration, observation))
    if decision.status.done and decision.status.next is not None:
        return hand_over(decision, observation.now)
    return decision
