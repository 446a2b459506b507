"""decide(declaration, status, observation) -> Decision: the whole rollout logic, pure.

One function per phase (a table, not an if-chain). No boto3, no clock, no I/O: the clock is
``observation.now``. Every decision is safe to repeat: actions are idempotent (content-addressed
names, weights compared with what is live), so a tick that crashed between acting and persisting
converges when it runs again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smgitops.declaration import images
from smgitops.declaration.extensions import FreezeWindow
from smgitops.declaration.models import Declaration, Strategy
from smgitops.errors import ImageResolutionError
from smgitops.rollout import freeze, naming
from smgitops.rollout.actions import (
    Action,
    AlarmSpec,
    CreateEndpoint,
    CreateEndpointConfig,
    CreateModel,
    DeleteAlarms,
    DeleteUnused,
    PutAlarms,
    SetWeights,
    UpdateEndpoint,
    VariantSpec,
)
from smgitops.rollout.observation import BUSY, FAILED, IN_SERVICE, EndpointView, Observation
from smgitops.rollout.status import (
    TERMINAL_PHASES,
    TRAFFIC_PHASES,
    Context,
    Phase,
    QueuedRollout,
    RolloutStatus,
    VariantRef,
)
from smgitops.rollout.strategies import STEPPED, default_deadline, traffic_steps

if TYPE_CHECKING:
    from collections.abc import Callable

MANAGED_TAGS = {"smgitops:managed": "true"}
SUPPORTED = STEPPED | {Strategy.ALL_AT_ONCE, Strategy.SHADOW}
BEFORE_FIRST_STEP = "beforeFirstStep"
BEFORE_PROMOTION = "beforePromotion"
WEIGHT_TOLERANCE = 0.5  # percent


@dataclass(frozen=True)
class Decision:
    actions: tuple[Action, ...]
    status: RolloutStatus
    wait_seconds: int
    notes: tuple[str, ...] = ()
    gate: bool = False
    # The final snapshot of a rollout that handed over to a newer one in this tick.
    superseded: RolloutStatus | None = None
    details: dict[str, Any] = field(default_factory=dict)  # for the history (judgements...)


@dataclass
class TickContext:
    """The working state of one tick (Argo Rollouts' ``rolloutContext``).

    ``status`` starts as the persisted status and is honestly mutable: a check that changes
    it (a failed check counted, validation passed, a gate released) assigns it through
    :meth:`update`, and every check answers ``Decision | None`` (``None``: carry on). ``notes``
    and ``details`` collect what the history records for this tick.
    """

    status: RolloutStatus
    declaration: Declaration
    observation: Observation
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    # the phase the tick began in: a decision in another phase restarts ``phase_since``
    started_in: Phase = field(init=False)

    def __post_init__(self) -> None:
        self.started_in = self.status.phase

    @property
    def interval(self) -> int:
        return self.declaration.spec.rollout.interval_seconds

    @property
    def step_interval(self) -> int:
        """The bake time of the current step: a shadow run lasts ``shadow.duration``."""
        if self.status.shadow:
            return self.declaration.spec.rollout.shadow.duration_seconds(self.interval)
        return self.interval

    def update(self, **changes: Any) -> None:
        """The working status with ``changes`` (validated, as every transition is written)."""
        self.status = self.status.evolve(**changes)

    @property
    def poll(self) -> int:
        return max(1, min(15, self.interval // 5))

    @property
    def endpoint(self) -> EndpointView | None:
        """The endpoint as this tick saw it (``status.endpoint`` is its name)."""
        return self.observation.endpoint

    def decision(
        self,
        status: RolloutStatus,
        wait: float,
        actions: list[Action] | None = None,
        *,
        gate: bool = False,
    ) -> Decision:
        if status.phase != self.started_in:
            status = status.evolve(phase_since=self.observation.now)
        status = status.evolve(updated_at=self.observation.now)
        wait_s = 0 if status.done else max(1, math.ceil(wait))
        return Decision(
            tuple(actions or ()), status, wait_s, tuple(self.notes), gate, details=self.details
        )

    def wait(self, note: str | None = None, seconds: float | None = None) -> Decision:
        if note:
            self.notes.append(note)
        return self.decision(self.status, self.poll if seconds is None else seconds)


# --- resources ------------------------------------------------------------------------------


def _tags(decl: Declaration) -> dict[str, str]:
    return {**decl.metadata.tags, **MANAGED_TAGS, "smgitops:endpoint": decl.name}


def candidate_ref(decl: Declaration) -> VariantRef:
    return VariantRef(
        name=naming.variant_name(decl),
        model=naming.model_name(decl),
        instance_type=decl.spec.instance_type,
        instance_count=decl.spec.instance_count,
    )


def _create_model(decl: Declaration, region: str) -> CreateModel:
    model = decl.spec.model
    return CreateModel(
        name=naming.model_name(decl),
        execution_role_arn=model.execution_role_arn or "",
        image=images.resolve_image(model, region),
        model_data_url=model.model_data_url,
        model_package_arn=model.model_package_arn,
        environment=dict(model.environment),
        tags=_tags(decl),
    )


def _variant(ref: VariantRef, weight: float) -> VariantSpec:
    return VariantSpec(
        name=ref.name,
        model=ref.model,
        instance_type=ref.instance_type,
        instance_count=ref.instance_count,
        weight=weight,
    )


def _config(decl: Declaration, *weighted: tuple[VariantRef, float]) -> CreateEndpointConfig:
    refs = [ref for ref, _ in weighted]
    weights = {ref.name: w for ref, w in weighted}
    extra = {"weights": weights} if len(weighted) > 1 else None
    return CreateEndpointConfig(
        name=naming.config_name(decl.name, refs, extra),
        variants=[_variant(ref, w) for ref, w in weighted],
        tags=_tags(decl),
    )


def _both_config(ctx: TickContext) -> CreateEndpointConfig:
    assert ctx.status.stable is not None  # noqa: S101 - phases after Pending always have one
    return _config(ctx.declaration, (ctx.status.stable, 100.0), (ctx.status.candidate, 0.0))


def _final_config(ctx: TickContext) -> CreateEndpointConfig:
    return _config(ctx.declaration, (ctx.status.candidate, 100.0))


def _shadow_config(ctx: TickContext) -> CreateEndpointConfig:
    """The stable variant serving all traffic, the candidate receiving a sampled copy of it."""
    assert ctx.status.stable is not None  # noqa: S101
    sampling = float(ctx.declaration.spec.rollout.shadow.sampling_percent)
    base = _config(ctx.declaration, (ctx.status.stable, 100.0))
    extra = {"shadow": ctx.status.candidate.model_dump(), "sampling": sampling}
    return base.model_copy(
        update={
            "name": naming.config_name(ctx.declaration.name, [ctx.status.stable], extra),
            "shadow_variants": [_variant(ctx.status.candidate, sampling)],
        }
    )


def _stable_config(ctx: TickContext) -> CreateEndpointConfig:
    assert ctx.status.stable is not None  # noqa: S101
    return _config(ctx.declaration, (ctx.status.stable, 100.0))


def generated_alarms(decl: Declaration, variant: str) -> list[AlarmSpec]:
    return [
        AlarmSpec(
            name=naming.alarm_name(decl.name, variant, m.metric, m.statistic),
            endpoint=decl.name,
            variant=variant,
            metric=m.metric,
            statistic=m.statistic,
            threshold=m.max,
            period=m.period,
            namespace=namespace_of(m.metric),
        )
        for m in decl.spec.rollout.analysis.metrics
    ]


INSTANCE_METRICS = frozenset(
    {
        "CPUUtilization",
        "MemoryUtilization",
        "DiskUtilization",
        "GPUUtilization",
        "GPUMemoryUtilization",
    }
)


def namespace_of(metric: str) -> str:
    return "/aws/sagemaker/Endpoints" if metric in INSTANCE_METRICS else "AWS/SageMaker"


def _weights(ctx: TickContext, candidate_percent: float) -> dict[str, float]:
    weights = {ctx.status.candidate.name: candidate_percent}
    if ctx.status.stable is not None:
        weights[ctx.status.stable.name] = 100.0 - candidate_percent
    return weights


def _set_weights(ctx: TickContext, weights: dict[str, float]) -> SetWeights:
    refs = [ctx.status.candidate] + ([ctx.status.stable] if ctx.status.stable else [])
    return SetWeights(
        endpoint=ctx.status.endpoint,
        weights=weights,
        counts={ref.name: ref.instance_count for ref in refs if ref.name in weights},
    )


def _weights_live(ctx: TickContext, weights: dict[str, float]) -> bool:
    """True when the endpoint's desired weights already are ``weights``."""
    if ctx.endpoint is None:
        return False
    live = ctx.endpoint.desired_percent()
    return all(abs(live.get(name, -1000.0) - w) <= WEIGHT_TOLERANCE for name, w in weights.items())


def _cleanup(ctx: TickContext, configs: list[str], models: list[str]) -> list[Action]:
    actions: list[Action] = []
    if ctx.status.generated_alarms:
        actions.append(DeleteAlarms(names=list(ctx.status.generated_alarms)))
    configs = [c for c in dict.fromkeys(configs) if c.startswith(naming.PREFIX)]
    models = [m for m in dict.fromkeys(models) if m.startswith(naming.PREFIX)]
    if configs or models:
        actions.append(DeleteUnused(endpoint=ctx.status.endpoint, configs=configs, models=models))
    return actions


# --- transitions shared by phases -------------------------------------------------------------


def _enter_step(ctx: TickContext, index: int) -> Decision:
    percent = traffic_steps(ctx.declaration.spec.rollout)[index]
    weights = _weights(ctx, percent)
    actions: list[Action] = [] if _weights_live(ctx, weights) else [_set_weights(ctx, weights)]
    ctx.notes.append(f"step {index + 1}: {percent:g} % on the candidate")
    status = ctx.status.evolve(
        phase=Phase.PROGRESSING,
        step_index=index,
        weights=weights,
        step_since=ctx.observation.now,
        promote="",
    )
    return ctx.decision(status, ctx.interval, actions)


def _enter_promoting(ctx: TickContext) -> Decision:
    weights = _weights(ctx, 100.0)
    actions: list[Action] = [] if _weights_live(ctx, weights) else [_set_weights(ctx, weights)]
    ctx.notes.append("100 % on the candidate; stable kept warm for one interval")
    status = ctx.status.evolve(
        phase=Phase.PROMOTING, weights=weights, step_since=ctx.observation.now, promote=""
    )
    return ctx.decision(status, ctx.interval, actions)


def _enter_finalizing(ctx: TickContext) -> Decision:
    final = _final_config(ctx)
    ctx.notes.append(f"replacing the endpoint config with {final.name} (candidate only)")
    actions: list[Action] = [final]
    if ctx.endpoint is None or ctx.endpoint.config != final.name:
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
    weights = _weights(ctx, 0.0)
    actions: list[Action] = []
    if _both_live(ctx) and not _weights_live(ctx, weights):
        actions.append(_set_weights(ctx, weights))
    ctx.notes.append(f"rolling back: {reason}")
    return ctx.decision(status.evolve(phase=Phase.ROLLING_BACK, weights=weights), 1, actions)


def _both_live(ctx: TickContext) -> bool:
    """Stable and candidate are both production variants: a weights call can move traffic."""
    ep, status = ctx.endpoint, ctx.status
    return (
        ep is not None
        and ep.status == IN_SERVICE
        and status.stable is not None
        and ep.variant(status.stable.name) is not None
        and ep.variant(status.candidate.name) is not None
    )


def _guard(ctx: TickContext) -> Decision | None:
    """Abort requests, failed checks and the deadline, checked before any progress."""
    status = ctx.status
    if status.abort_requested:
        return rollback(ctx, status.abort_requested)
    percent = status.weights.get(status.candidate.name, 0.0)
    firing = ctx.observation.firing(status.watched_alarms)
    if firing:
        failed = status.failed_checks + 1
        names = ", ".join(f"{a.name}" for a in firing)
        reason = f"alarm {names} in ALARM at {percent:g} %: {firing[0].reason}".strip()
        limit = ctx.declaration.spec.rollout.max_failed_checks
        if failed >= limit:
            return rollback(ctx, reason, failed_checks=failed)
        ctx.notes.append(f"failed check {failed}/{limit}: {reason}")
        ctx.update(failed_checks=failed)
    if ctx.observation.now > status.deadline_at and status.phase != Phase.PAUSED:
        return rollback(ctx, "deadline exceeded")  # a pause has its own timeout
    if ctx.endpoint is None:
        return rollback(ctx, "endpoint disappeared")
    if ctx.endpoint.status == FAILED:
        return rollback(ctx, f"endpoint failed: {ctx.endpoint.failure_reason}")
    if not ctx.endpoint.hosts(status.candidate.name) and ctx.endpoint.status == IN_SERVICE:
        return rollback(ctx, "candidate variant is no longer on the endpoint")
    return None


def _busy(ctx: TickContext) -> Decision | None:
    if ctx.endpoint is None or ctx.endpoint.status in BUSY:
        return ctx.wait(f"endpoint is {ctx.endpoint.status if ctx.endpoint else 'missing'}")
    return None


def _checked(ctx: TickContext) -> Decision | None:
    """The checks of every phase in which the candidate may take traffic: guard, then busy."""
    return _guard(ctx) or _busy(ctx)


def _hold_weights(ctx: TickContext, wait: float) -> Decision:
    """Re-apply the intended weights if they are not live (crash replay, manual edit)."""
    if not _weights_live(ctx, ctx.status.weights):
        ctx.notes.append("re-applying intended weights")
        return ctx.decision(
            ctx.status, min(wait, ctx.poll), [_set_weights(ctx, ctx.status.weights)]
        )
    return ctx.decision(ctx.status, wait)


def _elapsed(ctx: TickContext) -> float:
    return ctx.observation.now - (ctx.status.step_since or ctx.observation.now)


# --- beyond alarms: freeze windows, golden requests, judgements, gates, shadow ---------------


def _frozen(ctx: TickContext) -> Decision | None:
    """A push during a freeze window waits Pending until it opens (or the commit overrides)."""
    if not ctx.status.freeze:
        return None
    windows = [FreezeWindow.model_validate(w) for w in ctx.status.freeze]
    check = freeze.check(windows, ctx.observation.now)
    if check.window is None:
        return None
    if ctx.status.override:
        note = f"{check.reason}; overridden: Deploy-Override: {ctx.status.override}"
        ctx.notes.append(note)
        ctx.details["override"] = ctx.status.override
        return None
    return ctx.decision(
        ctx.status.evolve(reason=check.reason), check.wait_seconds(ctx.observation.now)
    )


def _validate(ctx: TickContext) -> Decision | None:
    """Golden requests to the candidate alone, before a single user request reaches it."""
    if not validation_due(ctx):
        return None
    outcome = ctx.observation.validation
    if outcome is None:
        return ctx.wait("waiting for the golden requests to be sent")
    ctx.details["validation"] = outcome
    reason = _validation_reason(outcome)
    if not outcome.get("ok"):
        return rollback(ctx, f"validation failed before any traffic: {reason}")
    ctx.notes.append(f"validation passed: {reason}")
    ctx.update(validated=True)
    return None


def _validation_reason(outcome: dict[str, Any]) -> str:
    head = (
        f"{outcome.get('passed', 0)}/{outcome.get('total', 0)} golden requests passed "
        f"(score {float(outcome.get('score', 0.0)):.2f}, minScore {outcome.get('minScore', 1)})"
    )
    failures = outcome.get("failures") or []
    return f"{head}: {'; '.join(failures[:3])}" if failures else head


def _judge(ctx: TickContext) -> Decision | None:
    """The end of a step: candidate against stable. Fail rolls back; too little data extends."""
    if not judgement_due(ctx):
        return None
    judgement = ctx.observation.judgement
    if judgement is None:
        return ctx.wait("waiting for the step's metrics")
    ctx.details["judgement"] = judgement
    verdict, reason = judgement.get("verdict"), str(judgement.get("reason", ""))
    inconclusive = bool(judgement.get("inconclusive"))  # the reason says which policy applied
    if verdict == "fail":
        return rollback(ctx, reason if inconclusive else f"judged worse than stable: {reason}")
    if verdict == "extend":
        ctx.notes.append(f"step extended: {reason}")
        # the reason shows in `smgitops status` while the step bakes one interval more
        extended = ctx.status.evolve(
            extensions=ctx.status.extensions + 1, reason=f"step extended: {reason}"
        )
        return ctx.decision(extended, ctx.step_interval)
    ctx.notes.append(reason if inconclusive else f"judged no worse than stable: {reason}")
    ctx.update(extensions=0, reason="")
    return None


def _gate(ctx: TickContext, gate: str) -> Decision | None:
    """Pause at a declared manual gate until ``promote`` (or ``abort``, or the timeout)."""
    rollout = ctx.declaration.spec.rollout
    if gate not in rollout.gates or gate in ctx.status.gates_passed:
        return None
    reason = f"waiting at gate {gate}: smgitops promote {ctx.status.endpoint} (or abort)"
    ctx.notes.append(reason)
    paused = ctx.status.evolve(phase=Phase.PAUSED, gate=gate, reason=reason, promote="")
    return ctx.decision(paused, rollout.gate_timeout_seconds, gate=True)


def _at_gate(ctx: TickContext) -> Decision:
    gate = ctx.status.gate
    timeout = ctx.declaration.spec.rollout.gate_timeout_seconds
    if ctx.status.promote:
        ctx.notes.append(f"gate {gate} released by an operator")
        ctx.update(
            gate="",
            gates_passed=[*ctx.status.gates_passed, gate],
            reason="",
            promote="",
            deadline_at=_resumed_deadline(ctx),
        )
        if gate == BEFORE_FIRST_STEP:
            return _enter_step(ctx, 0)
        return _enter_promoting(ctx)
    waited = ctx.observation.now - ctx.status.phase_since
    if waited >= timeout:
        return rollback(ctx, f"manual gate {gate} timed out after {timeout}s")
    return ctx.decision(ctx.status, timeout - waited, gate=True)


def _resumed_deadline(ctx: TickContext) -> float:
    """Time spent paused does not count against the rollout's deadline."""
    return ctx.status.deadline_at + max(0.0, ctx.observation.now - ctx.status.phase_since)


def _start_shadow(ctx: TickContext) -> Decision:
    config = _shadow_config(ctx)
    actions: list[Action] = [_create_model(ctx.declaration, ctx.observation.region), config]
    if ctx.endpoint is None or ctx.endpoint.config != config.name:
        actions.append(UpdateEndpoint(endpoint=ctx.status.endpoint, config=config.name))
    alarms = generated_alarms(ctx.declaration, ctx.status.candidate.name)
    if alarms:
        actions.append(PutAlarms(alarms=alarms))
    sampling = ctx.declaration.spec.rollout.shadow.sampling_percent
    ctx.notes.append(f"shadow: {sampling} % of requests copied to {ctx.status.candidate.name}")
    status = ctx.status.evolve(
        phase=Phase.INITIALIZING,
        shadow=True,
        weights={ctx.status.stable.name: 100.0} if ctx.status.stable else {},
        generated_alarms=[a.name for a in alarms],
        watched_alarms=[*ctx.declaration.spec.rollout.analysis.alarms, *(a.name for a in alarms)],
    )
    return ctx.decision(status, ctx.poll, actions)


def _after_shadow(ctx: TickContext) -> Decision:
    """The shadow run passed: report only (``then: stop``) or continue into a canary."""
    if ctx.declaration.spec.rollout.shadow.then == "canary":
        both = _both_config(ctx)
        ctx.notes.append("shadow passed: continuing as a canary from 0 %")
        status = ctx.status.evolve(
            phase=Phase.INITIALIZING,
            shadow=False,
            step_index=-1,
            weights=_weights(ctx, 0.0),
            extensions=0,
        )
        update = UpdateEndpoint(endpoint=ctx.status.endpoint, config=both.name)
        return ctx.decision(status, ctx.poll, [both, update])
    stable_only = _stable_config(ctx)
    ctx.notes.append("shadow report complete (then: stop): removing the shadow variant")
    status = ctx.status.evolve(phase=Phase.FINALIZING, reason="shadow report: passed, not promoted")
    update = UpdateEndpoint(endpoint=ctx.status.endpoint, config=stable_only.name)
    return ctx.decision(status, ctx.poll, [stable_only, update])


def validation_due(ctx: TickContext) -> bool:
    """Golden requests are due: declared and not passed yet, with the candidate live at 0 %
    beside stable while Initializing (never for a first deploy or a shadow run)."""
    status, ep = ctx.status, ctx.endpoint
    return (
        status.phase == Phase.INITIALIZING
        and ctx.declaration.spec.rollout.validation is not None
        and not (status.validated or status.shadow or status.first_deploy)
        and status.stable is not None
        and ep is not None
        and ep.config == _both_config(ctx).name
    )


def judgement_due(ctx: TickContext) -> bool:
    """A compared step has baked: judge candidate against stable (not when an operator promoted)."""
    status = ctx.status
    return (
        status.phase == Phase.PROGRESSING
        and ctx.declaration.spec.rollout.analysis.compare is not None
        and not status.promote
        and _elapsed(ctx) >= ctx.step_interval
    )


# The checks that need I/O, by the name the service runs them under; the phases ask the same
# predicates (``_validate``, ``_judge``), so what is run and what is read cannot drift apart.
DUE: dict[str, Callable[[TickContext], bool]] = {
    "validation": validation_due,
    "judgement": judgement_due,
}


def needs(declaration: Declaration, status: RolloutStatus, observation: Observation) -> set[str]:
    """The checks that need I/O this tick ("validation", "judgement"), for the service to run."""
    ctx = TickContext(status, declaration, observation)
    ep = ctx.endpoint
    if ep is None or ep.status != IN_SERVICE or status.abort_requested:
        return set()  # the tick rolls back or waits before any check
    return {name for name, due in DUE.items() if due(ctx)}


# --- one function per phase -------------------------------------------------------------------


def _pending(ctx: TickContext) -> Decision:
    if ctx.status.abort_requested and ctx.endpoint is None:
        return _ended_before_start(ctx, [_final_config(ctx).name])
    strategy = ctx.declaration.spec.rollout.strategy
    reason = "" if strategy in SUPPORTED else f"strategy {strategy} is not yet supported"
    try:
        images.resolve_image(ctx.declaration.spec.model, ctx.observation.region)
    except ImageResolutionError as exc:
        reason = str(exc)
    if reason:  # nothing is created
        ctx.notes.append(reason)
        return ctx.decision(ctx.status.evolve(phase=Phase.FAILED, reason=reason), 0)
    waiting = _approval(ctx) or _frozen(ctx)
    if waiting is not None:
        return waiting
    ep = ctx.endpoint
    if ep is None:
        return _first_deploy(ctx)
    if ep.status in BUSY:
        return ctx.wait(f"waiting for the endpoint to leave {ep.status}")
    if ep.status != IN_SERVICE:
        reason = f"endpoint is {ep.status}: {ep.failure_reason}".rstrip(": ")
        return ctx.decision(ctx.status.evolve(phase=Phase.FAILED, reason=reason), 0)
    live = ctx.observation.config_variants
    if live is None:
        return ctx.wait("endpoint config not observed yet")
    return _from_live(ctx, ep, live)


def _from_live(ctx: TickContext, ep: EndpointView, live: list[VariantRef]) -> Decision:
    """The endpoint serves: its heaviest other variant becomes the stable one."""
    candidate = ctx.status.candidate
    others = [v for v in live if v.name != candidate.name]
    if not others:
        return _already_live(ctx, ep)
    weights_by_name = {v.name: v.desired_weight for v in ep.variants}
    stable = max(others, key=lambda v: weights_by_name.get(v.name, 0.0))
    stable_config = ctx.status.stable_config or (
        ep.config if ep.variant(candidate.name) is None else ""
    )
    ctx.update(stable=stable, stable_config=stable_config)
    if ctx.status.abort_requested and not ep.hosts(candidate.name):
        return _ended_before_start(ctx, [_both_config(ctx).name, _shadow_config(ctx).name])
    strategy = ctx.declaration.spec.rollout.strategy
    if strategy == Strategy.ALL_AT_ONCE:
        ctx.notes.append("allAtOnce: replacing the model in one update")
        return _replace_all(ctx)
    if strategy == Strategy.SHADOW:
        return _start_shadow(ctx)
    both = _both_config(ctx)
    actions: list[Action] = [_create_model(ctx.declaration, ctx.observation.region), both]
    if ep.config != both.name:
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


APPROVED = "Approved"
REJECTED = "Rejected"


def _approval(ctx: TickContext) -> Decision | None:
    """Model Registry: only an Approved package version ever takes traffic."""
    arn = ctx.declaration.spec.model.model_package_arn
    if arn is None:
        return None
    approval = ctx.observation.package_approval
    version = (
        f" (version {ctx.observation.package_version})" if ctx.observation.package_version else ""
    )
    if approval == APPROVED:
        if ctx.status.reason.startswith("waiting for approval"):
            ctx.notes.append(f"model package {arn}{version} approved")
        else:
            ctx.notes.append(f"model package {arn}{version} is Approved")
        return None
    if approval in {REJECTED, "NotFound"}:
        reason = f"model package {arn}{version} is {approval}"
        ctx.notes.append(reason)
        return ctx.decision(ctx.status.evolve(phase=Phase.FAILED, reason=reason), 0)
    timeout = ctx.declaration.spec.rollout.approval_timeout_seconds
    if ctx.observation.now - ctx.status.started_at > timeout:
        reason = f"model package {arn}{version} still {approval} after {timeout}s: not deployed"
        return ctx.decision(ctx.status.evolve(phase=Phase.FAILED, reason=reason), 0)
    reason = f"waiting for approval: {arn}{version} is {approval or 'unknown'}"
    return ctx.decision(ctx.status.evolve(reason=reason), max(ctx.poll, min(60, ctx.interval)))


def _ended_before_start(ctx: TickContext, configs: list[str]) -> Decision:
    """Aborted while Pending: nothing reached the endpoint; remove what a crashed tick made."""
    ctx.notes.append("ended before any change to the endpoint")
    ended = ctx.status.evolve(phase=Phase.ROLLED_BACK, reason=ctx.status.abort_requested)
    return ctx.decision(ended, 0, _cleanup(ctx, configs, [ctx.status.candidate.model]))


def _already_live(ctx: TickContext, ep: EndpointView) -> Decision:
    """The declared model is the endpoint's only variant: restore its capacity and weight."""
    candidate = ctx.status.candidate
    ctx.notes.append("the declared model is already live")
    status = ctx.status.evolve(
        phase=Phase.SUCCEEDED, stable=candidate, weights={candidate.name: 100.0}
    )
    live_variant = ep.variant(candidate.name)
    actions: list[Action] = []
    if live_variant is not None and (
        live_variant.desired_instance_count != candidate.instance_count
        or not _weights_live(ctx, {candidate.name: 100.0})
    ):
        ctx.notes.append(f"restoring {candidate.instance_count} instance(s) at 100 %")
        actions.append(_set_weights(ctx, {candidate.name: 100.0}))
    return ctx.decision(status, 0, actions)


def _first_deploy(ctx: TickContext) -> Decision:
    final = _final_config(ctx)
    ctx.notes.append(f"creating endpoint {ctx.status.endpoint} with {ctx.status.candidate.name}")
    actions: list[Action] = [
        _create_model(ctx.declaration, ctx.observation.region),
        final,
        CreateEndpoint(
            endpoint=ctx.status.endpoint, config=final.name, tags=_tags(ctx.declaration)
        ),
    ]
    status = ctx.status.evolve(
        phase=Phase.INITIALIZING,
        first_deploy=True,
        weights={ctx.status.candidate.name: 100.0},
    )
    return ctx.decision(status, ctx.poll, actions)


def _replace_all(ctx: TickContext) -> Decision:
    final = _final_config(ctx)
    actions: list[Action] = [_create_model(ctx.declaration, ctx.observation.region), final]
    if ctx.endpoint is None or ctx.endpoint.config != final.name:
        actions.append(UpdateEndpoint(endpoint=ctx.status.endpoint, config=final.name))
    status = ctx.status.evolve(phase=Phase.FINALIZING, weights={ctx.status.candidate.name: 100.0})
    return ctx.decision(status, ctx.poll, actions)


def _initializing(ctx: TickContext) -> Decision:
    ep = ctx.endpoint
    status = ctx.status
    if ep is None:
        if ctx.observation.now - status.phase_since < 60:
            return ctx.wait("endpoint not visible yet")
        return ctx.decision(status.evolve(phase=Phase.FAILED, reason="endpoint was not created"), 0)
    if status.abort_requested or ctx.observation.now > status.deadline_at:
        return rollback(ctx, status.abort_requested or "deadline exceeded")
    return _busy(ctx) or _initialized(ctx, ep)


def _initialized(ctx: TickContext, ep: EndpointView) -> Decision:
    status = ctx.status
    target = _initial_target(ctx)
    if ep.status == FAILED or (ep.config != target and ep.failure_reason):
        reason = f"endpoint update failed: {ep.failure_reason or ep.status}"
        if status.first_deploy:
            return ctx.decision(status.evolve(phase=Phase.FAILED, reason=reason), 0)
        return rollback(ctx, reason)
    if ep.config != target:
        return ctx.wait(f"waiting for config {target} to be live")
    if status.first_deploy:
        ctx.notes.append("endpoint created and InService")
        done = status.evolve(phase=Phase.SUCCEEDED, stable=status.candidate, reason="created")
        return ctx.decision(done, 0)
    if status.shadow:
        duration = ctx.step_interval
        ctx.notes.append(f"shadow run: observing the candidate for {duration}s, no user traffic")
        observing = status.evolve(
            phase=Phase.PROGRESSING, step_index=0, step_since=ctx.observation.now
        )
        return ctx.decision(observing, duration)
    firing = ctx.observation.firing(status.watched_alarms)
    if firing:  # already in ALARM: not a single request for the candidate
        names = ", ".join(a.name for a in firing)
        return rollback(ctx, f"alarm {names} in ALARM before the first step: {firing[0].reason}")
    return _validate(ctx) or _gate(ctx, BEFORE_FIRST_STEP) or _enter_step(ctx, 0)


def _initial_target(ctx: TickContext) -> str:
    if ctx.status.first_deploy:
        return _final_config(ctx).name
    if ctx.status.shadow:
        return _shadow_config(ctx).name
    return _both_config(ctx).name


def _progressing(ctx: TickContext) -> Decision:
    stop = _checked(ctx)
    if stop is not None:
        return stop
    if ctx.status.promote == "full" and not ctx.status.shadow:
        ctx.notes.append("promoted to 100 % by an operator")
        return _enter_promoting(ctx)
    elapsed = _elapsed(ctx)
    if elapsed < ctx.step_interval and ctx.status.promote != "step":
        return _hold_weights(ctx, ctx.step_interval - elapsed)
    stop = _judge(ctx)
    if stop is not None:
        return stop
    if ctx.status.shadow:
        return _after_shadow(ctx)
    ctx.notes.append(f"step {ctx.status.step_index + 1} passed its checks")
    steps = traffic_steps(ctx.declaration.spec.rollout)
    following = ctx.status.step_index + 1
    if following < len(steps):
        return _enter_step(ctx, following)
    if ctx.declaration.spec.rollout.strategy == Strategy.AB_TEST:
        percent = steps[-1]
        reason = f"holding {percent:g} % on the challenger until promote or abort"
        ctx.notes.append(reason)
        paused = ctx.status.evolve(phase=Phase.PAUSED, reason=reason, promote="")
        return ctx.decision(paused, ctx.interval)
    return _gate(ctx, BEFORE_PROMOTION) or _enter_promoting(ctx)


def _paused(ctx: TickContext) -> Decision:
    stop = _checked(ctx)
    if stop is not None:
        return stop
    if ctx.status.gate:
        return _at_gate(ctx)
    if ctx.status.promote:
        ctx.notes.append("promoted by an operator")
        ctx.update(reason="", deadline_at=_resumed_deadline(ctx))
        return _enter_promoting(ctx)
    return _hold_weights(ctx, ctx.interval)


def _promoting(ctx: TickContext) -> Decision:
    stop = _checked(ctx)
    if stop is not None:
        return stop
    elapsed = _elapsed(ctx)
    if elapsed < ctx.interval:
        return _hold_weights(ctx, ctx.interval - elapsed)
    return _enter_finalizing(ctx)


def _finalizing(ctx: TickContext) -> Decision:
    ep = ctx.endpoint
    if ep is None:
        return ctx.decision(ctx.status.evolve(phase=Phase.FAILED, reason="endpoint disappeared"), 0)
    if ep.status in BUSY:
        return ctx.wait(f"endpoint is {ep.status}")
    if ctx.status.shadow:
        return _finish_shadow_report(ctx, ep)
    final = _final_config(ctx).name
    if ep.status == FAILED or (ep.config != final and ep.failure_reason):
        return rollback(ctx, f"endpoint update failed: {ep.failure_reason or ep.status}")
    if ep.config != final:
        return ctx.wait(f"waiting for config {final} to be live")
    stable = ctx.status.stable
    configs = [ctx.status.stable_config]
    models: list[str] = []
    if stable is not None:
        configs += [_both_config(ctx).name, _stable_config(ctx).name]
        if stable.model != ctx.status.candidate.model:
            models.append(stable.model)
    ctx.notes.append("rollout succeeded; old variant removed")
    done = ctx.status.evolve(
        phase=Phase.SUCCEEDED,
        stable=ctx.status.candidate,
        weights={ctx.status.candidate.name: 100.0},
        reason=ctx.status.reason or "promoted",
    )
    return ctx.decision(done, 0, _cleanup(ctx, configs, models))


def _finish_shadow_report(ctx: TickContext, ep: EndpointView) -> Decision:
    """``then: stop``: the stable variant alone again; the candidate was only observed."""
    stable_only = _stable_config(ctx).name
    if ep.config != stable_only:
        return ctx.wait(f"waiting for config {stable_only} to be live")
    ctx.notes.append("shadow run ended; the stable model serves alone, as before")
    done = ctx.status.evolve(phase=Phase.SUCCEEDED)
    configs = [_shadow_config(ctx).name]
    return ctx.decision(done, 0, _cleanup(ctx, configs, [ctx.status.candidate.model]))


def _rolling_back(ctx: TickContext) -> Decision:
    ep = ctx.endpoint
    status = ctx.status
    if ep is None or ep.status == FAILED:
        why = "endpoint disappeared" if ep is None else f"endpoint failed: {ep.failure_reason}"
        failed = status.evolve(phase=Phase.FAILED, reason=f"{status.reason}; {why}")
        configs = (
            [
                _both_config(ctx).name,
                _final_config(ctx).name,
                _shadow_config(ctx).name,
                _stable_config(ctx).name,
            ]
            if status.stable
            else []
        )
        # Only what the failed endpoint does not use: DeleteUnused checks before deleting.
        return ctx.decision(failed, 0, _cleanup(ctx, configs, [status.candidate.model]))
    if ep.status in BUSY:
        return ctx.wait(f"endpoint is {ep.status}", 1)
    if not ep.hosts(status.candidate.name):
        configs = (
            [_both_config(ctx).name, _final_config(ctx).name, _shadow_config(ctx).name]
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
        return ctx.decision(done, 0, _cleanup(ctx, configs, models))
    weights = _weights(ctx, 0.0)
    if _both_live(ctx) and not _weights_live(ctx, weights):
        return ctx.decision(status.evolve(weights=weights), 1, [_set_weights(ctx, weights)])
    # Weights are back on stable, or stable is not on the endpoint any more (the candidate-only
    # config went live while finalizing): the stable-only config brings it back either way.
    stable_only = _stable_config(ctx)
    ctx.notes.append(f"removing the candidate: endpoint config {stable_only.name}")
    actions: list[Action] = [
        stable_only,
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
        return _hand_over(decision, observation.now)
    return decision


def _hand_over(decision: Decision, now: float) -> Decision:
    """The active rollout ended with a newer one queued: the newer one starts from stable."""
    old = decision.status
    queued = old.next
    assert queued is not None  # noqa: S101
    phase = Phase.SUCCEEDED if old.phase == Phase.SUCCEEDED else Phase.SUPERSEDED
    final_old = old.evolve(phase=phase, next=None, reason=old.reason or "superseded")
    fresh = new_status(
        Declaration.model_validate(queued.declaration),
        rollout_id=queued.rollout_id,
        commit=queued.commit,
        pushed_at=queued.pushed_at,
        source=queued.source,
        now=now,
        context=queued.context,
    ).evolve(version=old.version)
    notes = (*decision.notes, f"superseded by {queued.commit[:12]}")
    return Decision(decision.actions, fresh, 1, notes, superseded=final_old)


# --- requests from outside the loop (pure too) -----------------------------------------------


def new_status(
    declaration: Declaration,
    *,
    rollout_id: str,
    commit: str,
    pushed_at: float,
    source: dict[str, str],
    now: float,
    context: Context | None = None,
) -> RolloutStatus:
    context = context or Context()
    return RolloutStatus(
        watched_alarms=list(declaration.spec.rollout.analysis.alarms),
        golden=context.golden,
        freeze=context.freeze,
        override=context.override,
        self_heal=context.self_heal,
        endpoint=declaration.name,
        rollout_id=rollout_id,
        phase=Phase.PENDING,
        strategy=declaration.spec.rollout.strategy,
        commit=commit,
        pushed_at=pushed_at,
        spec_hash=declaration.content_hash(),
        declaration=declaration.model_dump(mode="json", by_alias=True),
        source=source,
        candidate=candidate_ref(declaration),
        started_at=now,
        phase_since=now,
        updated_at=now,
        deadline_at=now + default_deadline(declaration.spec.rollout),
    )


def queue(status: RolloutStatus, queued: QueuedRollout, now: float) -> RolloutStatus:
    """A newer declaration supersedes the active rollout: traffic returns to stable first."""
    if status.phase == Phase.PENDING and status.stable is None and not status.first_deploy:
        # Nothing was done yet: the newer one simply replaces it.
        return status.evolve(
            next=queued, phase=Phase.SUPERSEDED, reason="superseded before it began"
        )
    reason = f"superseded by commit {queued.commit[:12]}"
    if status.phase == Phase.ROLLING_BACK:
        return status.evolve(next=queued, updated_at=now)
    return status.evolve(
        next=queued, abort_requested=status.abort_requested or reason, updated_at=now
    )


def abort_now(
    declaration: Declaration,
    status: RolloutStatus,
    observation: Observation,
    reason: str,
    *,
    count_as_check: bool = False,
) -> Decision:
    """The abort path (alarm event or operator): weights to stable now, in one call.

    An alarm event counts as one failed check (``maxFailedChecks`` still applies); an operator's
    abort rolls back at once.
    """
    ctx = TickContext(status, declaration, observation)
    if status.done or status.phase == Phase.ROLLING_BACK:
        return ctx.decision(status, 1 if status.active else 0)
    if status.phase == Phase.PENDING:  # nothing shifted yet: the next tick ends it cleanly
        ctx.notes.append(f"abort requested before the rollout began: {reason}")
        return ctx.decision(status.evolve(abort_requested=status.abort_requested or reason), 1)
    if count_as_check:
        failed = status.failed_checks + 1
        limit = declaration.spec.rollout.max_failed_checks
        if failed < limit:
            ctx.notes.append(f"failed check {failed}/{limit}: {reason}")
            return ctx.decision(status.evolve(failed_checks=failed), 1)
        return rollback(ctx, reason, failed_checks=failed)
    return rollback(ctx, reason, abort_requested=status.abort_requested or reason)


def rejected(status: RolloutStatus, observation: Observation, action: str, reason: str) -> Decision:
    """AWS refused an action for good: roll back (or fail when there is nothing to return to)."""
    declaration = status.spec()
    ctx = TickContext(status, declaration, observation)
    message = f"{action} rejected: {reason}"
    if status.phase == Phase.ROLLING_BACK or status.stable is None:
        ctx.notes.append(message)
        return ctx.decision(status.evolve(phase=Phase.FAILED, reason=message), 0)
    return rollback(ctx, message)


def is_terminal(phase: Phase) -> bool:
    return phase in TERMINAL_PHASES


def carries_traffic(phase: Phase) -> bool:
    return phase in TRAFFIC_PHASES
