"""Starting rollouts: a push's declarations → one rollout per changed endpoint (or queued behind
the running one, or refused, unchanged, stale), and the state machine's execution for each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from smgitops.declaration.models import Declaration
from smgitops.errors import ConflictError
from smgitops.observability import logger
from smgitops.rollout import naming, ownership
from smgitops.rollout.decide import new_status, queue
from smgitops.rollout.engine import CONFLICT_RETRIES, Engine
from smgitops.rollout.observation import missing_alarms_reason
from smgitops.rollout.status import Context, Phase, QueuedRollout, RolloutStatus

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


@dataclass(frozen=True)
class StartRequest:
    declaration: Declaration
    commit: str
    pushed_at: float
    source: dict[str, str]
    context: Context
    force: bool = False

    @property
    def owner(self) -> str:
        """The pushing repository's identity (the allowlisted clone URL, normalised)."""
        return self.source.get("identity", "")


@dataclass(frozen=True)
class StartOutcome:
    endpoint: str
    kind: Literal["started", "queued", "unchanged", "stale", "failed", "refused"]
    rollout_id: str
    reason: str = ""


class Starting(Engine):
    """The start use case (``handlers/reconcile.py`` through the reconciler, drift's heal)."""

    def reconcile(
        self,
        declarations: Sequence[Declaration],
        *,
        commit: str,
        pushed_at: float,
        source: dict[str, str],
        contexts: Mapping[str, Context] | None = None,
    ) -> list[StartOutcome]:
        """Start one rollout per changed endpoint; a batch read, no SageMaker call for the rest.

        ``contexts``: per endpoint, what the rollout needs from the repository besides the
        declaration (golden requests, freeze windows, a Deploy-Override).
        """
        current = self.store.get_many([d.name for d in declarations])
        contexts = contexts or {}
        return [
            self._start_one(
                StartRequest(d, commit, pushed_at, source, contexts.get(d.name, Context())),
                current.get(d.name),
            )
            for d in declarations
        ]

    def start(
        self,
        declaration: Declaration,
        *,
        commit: str,
        pushed_at: float,
        source: dict[str, str],
        force: bool = False,
        context: Context | None = None,
    ) -> StartOutcome:
        """``force``: start even when the declaration's hash is the one applied (drift repair)."""
        request = StartRequest(declaration, commit, pushed_at, source, context or Context(), force)
        return self._start_one(request, self.store.get(declaration.name))

    def _start_one(self, request: StartRequest, current: RolloutStatus | None) -> StartOutcome:
        for _ in range(CONFLICT_RETRIES):
            try:
                return self._start_attempt(request, current)
            except ConflictError:
                current = self.store.get(request.declaration.name)
        raise ConflictError(
            f"could not start a rollout for {request.declaration.name}: status keeps changing"
        )

    def _start_attempt(self, request: StartRequest, current: RolloutStatus | None) -> StartOutcome:
        decl, commit = request.declaration, request.commit
        spec_hash = decl.content_hash()
        rollout_id = naming.rollout_id(decl.name, commit, spec_hash, request.pushed_at)
        now = self.clock()
        if not request.force:  # a retry or a heal starts the status' own declaration
            not_owner = self._not_owner(request, current, rollout_id, now)
            if not_owner is not None:
                return not_owner
        if request.force:
            if current is not None and (current.active or current.next is not None):
                return StartOutcome(
                    decl.name, "unchanged", current.rollout_id, "a rollout is active"
                )
            rollout_id = naming.heal_rollout_id(rollout_id, now)
        elif current is not None and not current.deleted:
            skip = self._skip(request, current, spec_hash, rollout_id)
            if skip is not None:
                return skip
        refusal = self._refusal(request, current, rollout_id, now)
        if refusal is not None:
            return refusal
        if current is not None and not current.deleted and not request.force and current.active:
            queued = QueuedRollout(
                rollout_id=rollout_id,
                commit=commit,
                pushed_at=request.pushed_at,
                spec_hash=spec_hash,
                declaration=decl.model_dump(mode="json", by_alias=True),
                source=request.source,
                context=request.context,
            )
            after = queue(current, queued, now)
            saved = self._save(current, after, [f"superseded by {commit[:12]} (queued)"])
            if not self._start_execution(decl.name, rollout_id):
                return self._not_started(saved, rollout_id)
            return StartOutcome(decl.name, "queued", rollout_id, f"supersedes {current.rollout_id}")
        fresh = new_status(
            decl,
            rollout_id=rollout_id,
            commit=commit,
            pushed_at=request.pushed_at,
            source=request.source,
            now=now,
            context=request.context,
            owner=current.owner if request.force and current is not None else request.owner,
        )
        record = self._record(fresh, f"rollout started for {commit[:12]}", {})
        saved = self.store.save(
            fresh.evolve(version=current.version if current else 0),
            expected_version=current.version if current else None,
            history=[record],
            watch=fresh.watched_alarms,  # declared alarms abort from the very start
        )
        if self.notifier is not None:
            self.notifier.phase_changed(saved, str(current.phase) if current else "")
        if not self._start_execution(decl.name, rollout_id):
            return self._not_started(saved, rollout_id)
        return StartOutcome(decl.name, "started", rollout_id)

    def _not_owner(
        self, request: StartRequest, current: RolloutStatus | None, rollout_id: str, now: float
    ) -> StartOutcome | None:
        """Refused: the endpoint belongs to another repository, or exists and smgitops did not
        create it. Nothing moves; the owner's status says who tried (``refused``, history)."""
        name = request.declaration.name
        reason = ownership.refusal(
            name, request.owner, current, lambda: self.sagemaker.endpoint_tags(name)
        )
        if not reason:
            return None
        if current is not None and not current.deleted:
            who = f"{request.commit[:12]} from {request.owner or 'an unknown repository'}"
            after = current.evolve(refused=f"{who}: {reason}", updated_at=now)
            record = self._record(
                after, f"refused {who}: {reason}", {"refusedRepository": request.owner}
            )
            self.store.save(after, expected_version=current.version, history=[record])
        logger().warning(
            "rollout refused: not the owner",
            extra={"endpoint": name, "repository": request.owner, "reason": reason},
        )
        return StartOutcome(name, "refused", rollout_id, reason)

    def _refusal(
        self, request: StartRequest, current: RolloutStatus | None, rollout_id: str, now: float
    ) -> StartOutcome | None:
        """Refused before anything moves: a declared alarm that does not exist can never fire.

        The reason goes into the endpoint's status (``refused``, shown by ``status``) and its
        history; the running rollout, if any, carries on untouched. A first deploy gets a
        Failed status that says so; pushing again (once the alarm exists) checks again.
        """
        decl = request.declaration
        missing = self.cloudwatch.missing(list(decl.spec.rollout.analysis.alarms))
        if not missing:
            return None
        reason = missing_alarms_reason(missing)
        refused = f"{request.commit[:12]}: {reason}"
        if current is None or current.deleted:
            base = new_status(
                decl,
                rollout_id=rollout_id,
                commit=request.commit,
                pushed_at=request.pushed_at,
                source=request.source,
                now=now,
                context=request.context,
            )
            after = base.evolve(phase=Phase.FAILED, reason=f"refused: {reason}", refused=refused)
        else:
            after = current.evolve(refused=refused, updated_at=now)
        record = self._record(after, f"refused {request.commit[:12]}: {reason}", {})
        self.store.save(
            after.evolve(version=current.version if current else 0),
            expected_version=current.version if current else None,
            history=[record],
        )
        logger().warning("rollout refused", extra={"endpoint": decl.name, "reason": reason})
        return StartOutcome(decl.name, "refused", rollout_id, reason)

    def _skip(
        self, request: StartRequest, current: RolloutStatus, spec_hash: str, rollout_id: str
    ) -> StartOutcome | None:
        """Unchanged (the declared model is the one applied or queued) or stale (older push)."""
        name = request.declaration.name
        if current.refused and current.phase == Phase.FAILED and current.stable is None:
            return None  # a refused first deploy: nothing was applied; check again
        newest = max(current.pushed_at, current.next.pushed_at if current.next else 0.0)
        target = current.next or current
        if target.spec_hash == spec_hash:
            # a retry after a crash between saving and starting
            if current.active and not self._start_execution(name, target.rollout_id):
                return self._not_started(current, target.rollout_id)
            reason = f"{target.rollout_id} already declares this model"
            if not current.next and current.phase in {Phase.ROLLED_BACK, Phase.FAILED}:
                reason = (
                    f"this model was {current.phase} at {current.commit[:12]} "
                    f"({current.reason}); change the declaration to try again"
                )
            self._keep_self_heal(request, current)
            return StartOutcome(name, "unchanged", target.rollout_id, reason)
        if request.pushed_at < newest:
            return StartOutcome(
                name,
                "stale",
                rollout_id,
                f"push of {request.commit[:12]} is older than the one applied "
                f"({target.commit[:12]})",
            )
        return None

    def _keep_self_heal(self, request: StartRequest, current: RolloutStatus) -> None:
        """``selfHeal`` is the repository's setting, not the model's: a push that changes only
        ``.smgitops.yaml`` still reaches the endpoints it leaves unchanged (the drift function
        reads it from the status). Not for a stale push, nor over a queued one's context."""
        wanted = request.context.self_heal
        if current.next is not None or current.self_heal == wanted:
            return
        said = "not set" if wanted is None else str(wanted).lower()
        note = f"selfHeal {said} at {request.commit[:12]} (.smgitops.yaml)"
        self._save(current, current.evolve(self_heal=wanted), [note])

    def _start_execution(self, endpoint: str, rollout_id: str) -> bool:
        """False when Step Functions refuses the execution (its name is spent)."""
        return self.executions is None or self.executions.start(endpoint, rollout_id)

    def _not_started(self, saved: RolloutStatus, rollout_id: str) -> StartOutcome:
        """The rollout's execution cannot start: the rollout ends here (or leaves the queue),
        so no status waits for an execution that does not exist."""
        reason = (
            f"Step Functions refused execution {rollout_id}: an execution of that name has "
            "ended (names are kept 90 days)"
        )
        if saved.next is not None and saved.next.rollout_id == rollout_id:
            after = saved.evolve(next=None)
        else:
            after = saved.evolve(phase=Phase.FAILED, reason=reason)
        self._save(saved, after, [reason])
        return StartOutcome(saved.endpoint, "failed", rollout_id, reason)
