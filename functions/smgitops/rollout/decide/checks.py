"""Checks a phase runs before it may progress. Each answers ``Decision | None`` (``None``: carry
on) and may update the tick's working status.

The guard (abort, alarms, deadline, endpoint health), a busy endpoint, weights drifted from
their intent, Model Registry approval, freeze windows, and the two checks that need I/O,
golden requests (validation) and the step's judgement: :func:`needs` names those for the
service from the same predicates the phases ask, so what is run and what is read agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smgitops.rollout import freeze
from smgitops.rollout.decide import scaling
from smgitops.rollout.decide.context import BACKOFF_CAP_S, Decision, TickContext
from smgitops.rollout.decide.resources import (
    both_config,
    set_weights,
    stable_only_config,
    weights_live,
)
from smgitops.rollout.decide.transitions import rollback
from smgitops.rollout.observation import (
    BUSY,
    FAILURES,
    IN_SERVICE,
    AlarmView,
    Observation,
    failed_checks_reason,
)
from smgitops.rollout.status import Phase, RolloutStatus

if TYPE_CHECKING:
    from collections.abc import Callable

    from smgitops.declaration.models import Declaration
    from smgitops.rollout.golden import ValidationOutcome


def guard(ctx: TickContext) -> Decision | None:
    """Abort requests, failed checks and the deadline, checked before any progress."""
    status = ctx.status
    if status.abort_requested:
        return rollback(ctx, status.abort_requested)
    percent = status.weights.get(status.candidate.name, 0.0)
    failing = failing_alarms(ctx)
    if failing:
        stop = failed_check(ctx, failed_checks_reason(failing, f"at {percent:g} %"))
        if stop is not None:
            return stop
    if ctx.observation.now > status.deadline_at and status.phase != Phase.PAUSED:
        return rollback(ctx, "deadline exceeded")  # a pause has its own timeout
    if ctx.endpoint is None:
        return rollback(ctx, "endpoint disappeared")
    if ctx.endpoint.status in FAILURES:
        why = ctx.endpoint.failure_reason or f"endpoint is {ctx.endpoint.status}"
        return rollback(ctx, f"endpoint failed: {why}")
    if (
        not ctx.endpoint.hosts(status.candidate.name)
        and ctx.endpoint.status == IN_SERVICE
        and not shadow_reported(ctx)
    ):
        return rollback(ctx, "candidate variant is no longer on the endpoint")
    return None


# The phases whose bake a failed check starts again: a step (a shadow run's included) and the
# promotion's interval with the stable variant kept warm.
HELD = frozenset({Phase.PROGRESSING, Phase.PROMOTING})


def failed_check(ctx: TickContext, reason: str) -> Decision | None:
    """One failed check counted (Flagger's ``failedChecks``): at ``maxFailedChecks`` the rollout
    rolls back; below it the candidate keeps its weight and the step's bake starts again, so
    only a whole interval that passes its checks moves traffic on. The count is the rollout's:
    a step that passes does not reset it. The deadline is not moved."""
    status = ctx.status
    failed = status.failed_checks + 1
    limit = ctx.declaration.spec.rollout.max_failed_checks
    if failed >= limit:
        return rollback(ctx, reason, failed_checks=failed)
    said = f"failed check {failed}/{limit}: {_holding(ctx)}{reason}"
    ctx.notes.append(said)
    if status.phase in HELD:  # status and history say why the step is baked again
        ctx.update(failed_checks=failed, step_since=ctx.observation.now, reason=said)
    else:  # paused (nothing moves on without promote), or an alarm event between the phases
        ctx.update(failed_checks=failed)
    return None


def _holding(ctx: TickContext) -> str:
    """What the hold does, as ``holding …: `` (empty where nothing is held: an alarm event
    while the candidate is being added or the stable removed)."""
    status = ctx.status
    percent = f"holding at {status.weights.get(status.candidate.name, 0.0):g} %"
    if status.phase == Phase.PAUSED:
        return f"{percent}: "
    if status.phase not in HELD:
        return ""
    if status.shadow:
        return f"holding the shadow run for another {ctx.step_interval}s: "
    return f"{percent} for another {ctx.step_interval}s: "


def shadow_reported(ctx: TickContext) -> bool:
    """A shadow report (``then: stop``) past its duration with its stable-only config live: the
    tick that ended the run removed the shadow variant and died before persisting. Its replay
    judges the run again and goes on as that tick did (never a rollback for a variant it
    removed itself)."""
    status, ep = ctx.status, ctx.endpoint
    return (
        status.shadow
        and status.phase == Phase.PROGRESSING
        and ctx.declaration.spec.rollout.shadow.then == "stop"
        and ep is not None
        and ep.config == stable_only_config(ctx).name
        and elapsed_in_step(ctx) >= ctx.step_interval
    )


def failing_alarms(ctx: TickContext) -> list[AlarmView]:
    """Watched alarms whose check fails: in ALARM, gone, or seeing no data beyond the grace."""
    grace = ctx.declaration.spec.rollout.analysis.grace_seconds(ctx.interval)
    return ctx.observation.failing(ctx.status.watched_alarms, grace, ctx.status.started_at)


def busy(ctx: TickContext) -> Decision | None:
    """Wait while the endpoint is being created or updated (a missing endpoint is its callers'
    case: guard rolls back, Initializing waits a minute for it, before they ask)."""
    ep = ctx.endpoint
    if ep is not None and ep.status in BUSY:
        return ctx.wait(f"endpoint is {ep.status}")
    return None


def checked(ctx: TickContext) -> Decision | None:
    """The checks of every phase in which the candidate may take traffic: guard, then busy."""
    return guard(ctx) or busy(ctx)


def hold_weights(ctx: TickContext, wait: float) -> Decision:
    """Re-apply the intended weights if they are not live (crash replay, manual edit); with
    autoscaling, raise the candidate's floor for the share ahead once the weights are live."""
    if not weights_live(ctx, ctx.status.weights):
        ctx.notes.append("re-applying intended weights")
        return ctx.decision(ctx.status, min(wait, ctx.poll), [set_weights(ctx, ctx.status.weights)])
    return ctx.decision(ctx.status, wait, scaling.ensure_floor(ctx))


def elapsed_in_step(ctx: TickContext) -> float:
    return ctx.observation.now - (ctx.status.step_since or ctx.observation.now)


APPROVED = "Approved"
REJECTED = "Rejected"


def approval(ctx: TickContext) -> Decision | None:
    """Model Registry: only an Approved package version ever takes traffic."""
    arn = ctx.declaration.spec.model.model_package_arn
    if arn is None:
        return None
    state = ctx.observation.package_approval
    version = (
        f" (version {ctx.observation.package_version})" if ctx.observation.package_version else ""
    )
    if state == APPROVED:
        if ctx.status.reason.startswith("waiting for approval"):
            ctx.notes.append(f"model package {arn}{version} approved")
        else:
            ctx.notes.append(f"model package {arn}{version} is Approved")
        return None
    if state in {REJECTED, "NotFound"}:
        reason = f"model package {arn}{version} is {state}"
        ctx.notes.append(reason)
        return ctx.decision(ctx.status.evolve(phase=Phase.FAILED, reason=reason), 0)
    timeout = ctx.declaration.spec.rollout.approval_timeout_seconds
    if ctx.observation.now - ctx.status.started_at > timeout:
        reason = f"model package {arn}{version} still {state} after {timeout}s: not deployed"
        return ctx.decision(ctx.status.evolve(phase=Phase.FAILED, reason=reason), 0)
    reason = f"waiting for approval: {arn}{version} is {state or 'unknown'}"
    # up to 720 h: polls back off to 1/1000 of the timeout (and at least 5 minutes), counted
    # from the push (a rollout is Pending from its start)
    wait = ctx.backoff(max(ctx.poll, min(60, ctx.interval)), max(BACKOFF_CAP_S, timeout / 1000))
    return ctx.decision(ctx.status.evolve(reason=reason), wait)


def freeze_window(ctx: TickContext) -> Decision | None:
    """A push during a freeze window waits Pending until it opens (or the commit overrides)."""
    if not ctx.status.freeze:
        return None
    check = freeze.check(ctx.status.freeze, ctx.observation.now)
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


def validation_due(ctx: TickContext) -> bool:
    """Golden requests are due: declared and not passed yet, with the candidate live at 0 %
    beside stable while Initializing (never for a first deploy or a shadow run)."""
    status, ep = ctx.status, ctx.endpoint
    return (
        status.phase == Phase.INITIALIZING
        and ctx.declaration.spec.rollout.validation is not None
        and not status.validated
        # a first deploy has no stable variant; a shadow run serves from its shadow config
        and status.stable is not None
        and ep is not None
        and ep.config == both_config(ctx).name
    )


def judgement_due(ctx: TickContext) -> bool:
    """A step has baked and its checks need traffic to mean anything: judge candidate against
    stable (``compare``), or count the candidate's traffic (alarms and metrics see nothing of a
    variant nobody calls). Not at 0 % (blueGreen's bake serves no user by design), nor when an
    operator promoted."""
    status = ctx.status
    analysis = ctx.declaration.spec.rollout.analysis
    serves = status.shadow or status.weights.get(status.candidate.name, 0.0) > 0
    return (
        status.phase == Phase.PROGRESSING
        and analysis.floor is not None
        and (analysis.compare is not None or serves)
        and not status.promote
        and elapsed_in_step(ctx) >= ctx.step_interval
    )


# The checks that need I/O, by the name the service runs them under; the phases ask the same
# predicates (``validate``, ``judge``), so what is run and what is read cannot drift apart.
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


def validate(ctx: TickContext) -> Decision | None:
    """Golden requests to the candidate alone, before a single user request reaches it."""
    if not validation_due(ctx):
        return None
    outcome = ctx.observation.validation
    if outcome is None:
        return ctx.wait("waiting for the golden requests to be sent")
    ctx.details["validation"] = outcome.as_dict()
    reason = _validation_reason(outcome)
    if not outcome.ok:
        return rollback(ctx, f"validation failed before any traffic: {reason}")
    ctx.notes.append(f"validation passed: {reason}")
    ctx.update(validated=True)
    return None


def _validation_reason(outcome: ValidationOutcome) -> str:
    head = (
        f"{outcome.passed}/{outcome.total} golden requests passed "
        f"(score {outcome.score:.2f}, minScore {outcome.min_score})"
    )
    failures = outcome.failures
    return f"{head}: {'; '.join(failures[:3])}" if failures else head


def judge(ctx: TickContext) -> Decision | None:
    """The end of a step: candidate against stable, or its traffic counted. Fail rolls back;
    too little traffic extends the step, then follows ``inconclusive`` (default: fail)."""
    if not judgement_due(ctx):
        return None
    judgement = ctx.observation.judgement
    if judgement is None:
        return ctx.wait("waiting for the step's metrics")
    ctx.details["judgement"] = judgement.as_dict()
    verdict, reason = judgement.verdict, judgement.reason
    # the reason says which policy applied, or that only the traffic was counted
    as_said = judgement.inconclusive or not judgement.compared
    if verdict == "fail":
        return rollback(ctx, reason if as_said else f"judged worse than stable: {reason}")
    if verdict == "extend":
        ctx.notes.append(f"step extended: {reason}")
        # the reason shows in `smgitops status` while the step bakes one interval more
        extended = ctx.status.evolve(
            extensions=ctx.status.extensions + 1, reason=f"step extended: {reason}"
        )
        return ctx.decision(extended, ctx.step_interval)
    ctx.notes.append(reason if as_said else f"judged no worse than stable: {reason}")
    ctx.update(extensions=0)  # the step passed: its caller clears the extension's reason
    return None
