"""Requests from outside the loop, pure too: a new rollout's status, a newer commit queued
behind the active one (and the hand-over to it), an abort, and an action AWS refused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smgitops.declaration.models import Declaration
from smgitops.rollout.decide import scaling
from smgitops.rollout.decide.checks import failed_check
from smgitops.rollout.decide.context import Decision, TickContext
from smgitops.rollout.decide.resources import candidate_ref
from smgitops.rollout.decide.transitions import rollback
from smgitops.rollout.status import Context, Phase, QueuedRollout, RolloutStatus
from smgitops.rollout.strategies import default_deadline

if TYPE_CHECKING:
    from smgitops.rollout.observation import Observation


def hand_over(decision: Decision, now: float) -> Decision:
    """The active rollout ended with a newer one queued: the newer one starts from stable."""
    old = decision.status
    queued = old.next
    assert queued is not None  # noqa: S101
    phase = Phase.SUCCEEDED if old.phase == Phase.SUCCEEDED else Phase.SUPERSEDED
    final_old = old.evolve(phase=phase, next=None)
    fresh = new_status(
        Declaration.model_validate(queued.declaration),
        rollout_id=queued.rollout_id,
        commit=queued.commit,
        pushed_at=queued.pushed_at,
        source=queued.source,
        now=now,
        context=queued.context,
        owner=old.owner,  # queued by the owner's push; a transfer since then moved it
    ).evolve(version=old.version)
    notes = (*decision.notes, f"superseded by {queued.commit[:12]}")
    return Decision(decision.actions, fresh, 1, notes, superseded=final_old)


def new_status(
    declaration: Declaration,
    *,
    rollout_id: str,
    commit: str,
    pushed_at: float,
    source: dict[str, str],
    now: float,
    context: Context | None = None,
    owner: str | None = None,
) -> RolloutStatus:
    """A Pending rollout of ``declaration``, owned by ``owner`` (default: the pushing
    repository's identity in ``source``)."""
    context = context or Context()
    return RolloutStatus(
        owner=source.get("identity", "") if owner is None else owner,
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
    if status.phase == Phase.PENDING:
        # Nothing was done yet (a rollout leaves Pending in the tick that first acts): the newer
        # one simply replaces it.
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

    An alarm event counts as one failed check (``maxFailedChecks`` still applies: below it the
    step is held, :func:`checks.failed_check`); an operator's abort rolls back at once.
    """
    ctx = TickContext(status, declaration, observation)
    if status.done or status.phase == Phase.ROLLING_BACK:
        return ctx.decision(status, 1)  # no wait once it is done
    if status.phase == Phase.PENDING:  # nothing shifted yet: the next tick ends it cleanly
        ctx.notes.append(f"abort requested before the rollout began: {reason}")
        return ctx.decision(status.evolve(abort_requested=status.abort_requested or reason), 1)
    if count_as_check:  # below the limit the step is held, from the event on
        return failed_check(ctx, reason) or ctx.decision(ctx.status, 1)
    return rollback(ctx, reason, abort_requested=status.abort_requested or reason)


def rejected(status: RolloutStatus, observation: Observation, action: str, reason: str) -> Decision:
    """AWS refused an action for good: roll back (or fail when there is nothing to return to)."""
    declaration = status.spec()
    ctx = TickContext(status, declaration, observation)
    message = f"{action} rejected: {reason}"
    if status.phase == Phase.ROLLING_BACK or status.stable is None:
        ctx.notes.append(message)
        failed = status.evolve(phase=Phase.FAILED, reason=message)
        # the stable's scaling as it was (its scale-in is not left suspended); tried once
        return ctx.decision(failed, 0, scaling.restore_stable(ctx))
    return rollback(ctx, message)
