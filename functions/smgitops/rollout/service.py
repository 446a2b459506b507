"""The rollout service: load status → observe → decide (pure) → act → persist.

The one module of ``rollout/`` with side effects, and only through the adapters it is given
(SageMaker, CloudWatch, status store, executions, notifier): it never imports boto3 itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from smgitops.clock import now as clock_now
from smgitops.declaration.models import Declaration
from smgitops.errors import (
    ActionRejectedError,
    ConflictError,
    EndpointBusyError,
    NotFoundError,
    TransientError,
)
from smgitops.observability import logger
from smgitops.rollout import naming
from smgitops.rollout.actions import DeleteAlarms, DeleteUnused, SetWeights
from smgitops.rollout.decide import (
    Decision,
    abort_now,
    decide,
    needs,
    new_status,
    queue,
    rejected,
)
from smgitops.rollout.observation import (
    IN_SERVICE,
    EndpointView,
    LiveVariant,
    Observation,
    missing_alarms_reason,
)
from smgitops.rollout.status import (
    TRAFFIC_PHASES,
    Context,
    HistoryRecord,
    Phase,
    QueuedRollout,
    RolloutStatus,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from smgitops.rollout.actions import Action
    from smgitops.rollout.observation import AlarmView
    from smgitops.rollout.status import VariantRef
    from smgitops.settings import EngineSettings

CONFLICT_RETRIES = 3
GUARDED = frozenset({Phase.INITIALIZING, Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING})


class SageMakerPort(Protocol):
    @property
    def region(self) -> str: ...
    def describe_endpoint(self, name: str) -> EndpointView | None: ...
    def config_variants(self, config: str) -> list[VariantRef]: ...
    def apply(self, action: Action) -> None: ...
    def handles(self, action: Action) -> bool: ...
    def set_weights_now(self, action: SetWeights, time_left: Callable[[], float]) -> bool: ...
    def package_approval(self, arn: str) -> tuple[str | None, int | None]: ...


CLEANUP = (DeleteAlarms, DeleteUnused)  # best effort: never changes a rollout's outcome


class CloudWatchPort(Protocol):
    def alarm_states(self, names: list[str]) -> dict[str, AlarmView]: ...
    def missing(self, names: list[str]) -> list[str]: ...
    def apply(self, action: Action) -> None: ...
    def handles(self, action: Action) -> bool: ...


class StorePort(Protocol):
    def get(self, endpoint: str) -> RolloutStatus | None: ...
    def get_many(self, endpoints: Sequence[str]) -> dict[str, RolloutStatus]: ...
    def list_statuses(self) -> list[RolloutStatus]: ...
    def history(self, endpoint: str, limit: int = 200) -> list[HistoryRecord]: ...
    def watchers(self, alarm: str) -> list[str]: ...
    def save(
        self,
        status: RolloutStatus,
        *,
        expected_version: int | None,
        history: Sequence[HistoryRecord] = (),
        watch: Sequence[str] = (),
        unwatch: Sequence[str] = (),
    ) -> RolloutStatus: ...


class ExecutionsPort(Protocol):
    def start(self, endpoint: str, rollout_id: str) -> bool: ...
    def release_gate(self, token: str, endpoint: str, rollout_id: str) -> bool: ...


class AnalysisPort(Protocol):
    """Checks that talk to the endpoint or CloudWatch, returning plain results for decide()."""

    def validate(self, declaration: Declaration, status: RolloutStatus) -> dict[str, Any]: ...
    def judge(
        self, declaration: Declaration, status: RolloutStatus, now: float
    ) -> dict[str, Any]: ...


class NotifierPort(Protocol):
    def phase_changed(self, status: RolloutStatus, previous: str) -> None: ...


@dataclass(frozen=True)
class TickResult:
    endpoint: str
    rollout_id: str
    phase: Phase
    wait_seconds: int
    done: bool
    gate: bool = False
    gate_timeout_seconds: int = 0
    reason: str = ""

    def as_output(self) -> dict[str, Any]:
        """The tick function's answer to the state machine."""
        return {
            "endpoint": self.endpoint,
            "rolloutId": self.rollout_id,
            "phase": str(self.phase),
            "waitSeconds": self.wait_seconds,
            "done": self.done,
            "gate": self.gate,
            "gateTimeoutSeconds": self.gate_timeout_seconds,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class StartRequest:
    declaration: Declaration
    commit: str
    pushed_at: float
    source: dict[str, str]
    context: Context
    force: bool = False


@dataclass(frozen=True)
class StartOutcome:
    endpoint: str
    kind: Literal["started", "queued", "unchanged", "stale", "failed", "refused"]
    rollout_id: str
    reason: str = ""


ABORT_BUDGET_S = 45.0  # how long an abort keeps trying when the caller gives no deadline


def _budget(seconds: float) -> Callable[[], float]:
    """``time_left()`` for a budget of ``seconds`` from now (monotonic, whatever the clock)."""
    deadline = time.monotonic() + seconds
    return lambda: deadline - time.monotonic()


@dataclass
class RolloutService:
    sagemaker: SageMakerPort
    cloudwatch: CloudWatchPort
    store: StorePort
    executions: ExecutionsPort | None = None
    notifier: NotifierPort | None = None
    analysis: AnalysisPort | None = None
    clock: Callable[[], float] = clock_now
    listeners: list[Callable[[RolloutStatus, Decision], None]] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: EngineSettings) -> RolloutService:
        """Wire the real adapters (imported here so the core stays free of boto3)."""
        from smgitops.aws.checks import Analysis  # noqa: PLC0415
        from smgitops.aws.cloudwatch import CloudWatch  # noqa: PLC0415
        from smgitops.aws.notify import notifier_from  # noqa: PLC0415
        from smgitops.aws.sagemaker import SageMaker  # noqa: PLC0415
        from smgitops.aws.stepfunctions import Executions  # noqa: PLC0415
        from smgitops.aws.store import StatusStore  # noqa: PLC0415

        arn = getattr(settings, "state_machine_arn", None)
        return cls(
            analysis=Analysis(),
            sagemaker=SageMaker(),
            cloudwatch=CloudWatch(),
            store=StatusStore(settings.table),
            executions=Executions(arn) if arn else None,
            notifier=notifier_from(settings),
        )

    # --- the tick -----------------------------------------------------------------------------

    def tick(
        self, endpoint: str, rollout_id: str, *, abort_reason: str = "", task_token: str = ""
    ) -> TickResult:
        for attempt in range(CONFLICT_RETRIES):
            try:
                return self._tick_once(endpoint, rollout_id, abort_reason, task_token)
            except ConflictError:
                if attempt == CONFLICT_RETRIES - 1:
                    raise
                logger().info(
                    "status changed under the tick; reloading", extra={"endpoint": endpoint}
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _tick_once(
        self, endpoint: str, rollout_id: str, abort_reason: str, task_token: str
    ) -> TickResult:
        status = self.store.get(endpoint)
        if status is None:
            raise NotFoundError(f"no rollout status for endpoint {endpoint}")
        mine = status.rollout_id == rollout_id
        queued = status.next is not None and status.next.rollout_id == rollout_id
        if not mine and not queued:
            return self._result_for_other(status, rollout_id)
        if task_token:
            return self._hold_at_gate(status, rollout_id, task_token, mine=mine)
        if mine and abort_reason and status.active and status.phase != Phase.ROLLING_BACK:
            status = status.evolve(abort_requested=abort_reason)
        declaration = status.spec()
        observation = self.observe(status, declaration)
        decision = decide(declaration, status, observation)
        decision = self._act(status, observation, decision)
        saved = self._persist(status, decision)
        return self._result(saved, rollout_id, decision.wait_seconds, decision.gate)

    def _hold_at_gate(
        self, status: RolloutStatus, rollout_id: str, token: str, *, mine: bool
    ) -> TickResult:
        """The state machine waits on ``token`` at a manual gate; promote/abort answer it."""
        if mine and status.phase == Phase.PAUSED and status.gate and not status.promote:
            saved = self._save(
                status, status.evolve(gate_token=token), [f"waiting at gate {status.gate}"]
            )
            return self._result(saved, rollout_id, 0)
        # Released (or aborted) before the token arrived: answer it now, never leave it waiting.
        if self.executions is not None:
            self.executions.release_gate(token, status.endpoint, rollout_id)
        return self._result(status, rollout_id, 0)

    def observe(self, status: RolloutStatus, declaration: Declaration | None = None) -> Observation:
        """At most three reads: DescribeEndpoint, (Pending only) its config, DescribeAlarms;
        plus golden requests once, and the step's metrics at the end of a judged step."""
        now = self.clock()
        if status.done and status.next is None:
            return Observation(now=now)
        endpoint = self.sagemaker.describe_endpoint(status.endpoint)
        config_variants = None
        config_missing = False
        if (
            status.phase == Phase.PENDING
            and endpoint is not None
            and endpoint.status == IN_SERVICE
            and endpoint.config
        ):
            try:
                config_variants = self.sagemaker.config_variants(endpoint.config)
            except NotFoundError:
                config_missing = True
        alarms = {}
        if status.watched_alarms and status.phase in GUARDED:
            alarms = self.cloudwatch.alarm_states(status.watched_alarms)
        approval: tuple[str | None, int | None] = (None, None)
        package = status.declaration.get("spec", {}).get("model", {}).get("modelPackageArn")
        if status.phase == Phase.PENDING and package:
            approval = self.sagemaker.package_approval(package)
        observation = Observation(
            now=now,
            region=self.sagemaker.region,
            endpoint=endpoint,
            config_variants=config_variants,
            config_missing=config_missing,
            alarms=alarms,
            package_approval=approval[0],
            package_version=approval[1],
        )
        return self._checks(status, declaration or status.spec(), observation)

    def _checks(
        self, status: RolloutStatus, declaration: Declaration, observation: Observation
    ) -> Observation:
        """Run the I/O-heavy checks decide() will ask for this tick (golden requests, metrics)."""
        wanted = needs(declaration, status, observation)
        update: dict[str, Any] = {}
        if "validation" in wanted and self.analysis is not None:
            update["validation"] = self.analysis.validate(declaration, status)
        if "judgement" in wanted and self.analysis is not None:
            update["judgement"] = self.analysis.judge(declaration, status, observation.now)
        return observation.model_copy(update=update) if update else observation

    def _act(self, status: RolloutStatus, observation: Observation, decision: Decision) -> Decision:
        essential = tuple(a for a in decision.actions if not isinstance(a, CLEANUP))
        try:
            self.apply_all(essential)
        except ActionRejectedError as exc:
            logger().warning(
                "action rejected", extra={"endpoint": status.endpoint, "reason": exc.reason}
            )
            fallback = rejected(status, observation, exc.action, exc.reason)
            try:
                self.apply_all(fallback.actions)
            except (ActionRejectedError, TransientError) as again:
                logger().warning(
                    "rollback action failed; next tick retries", extra={"error": str(again)}
                )
            return fallback
        except EndpointBusyError as exc:
            # Someone (another tick, SageMaker) is updating the endpoint: look again soon.
            return Decision((), status, 2, (f"endpoint busy: {exc}",))
        return self._clean_up(decision, [a for a in decision.actions if isinstance(a, CLEANUP)])

    def _clean_up(self, decision: Decision, actions: list[Action]) -> Decision:
        """Deleting what the rollout made is best effort: a refusal never changes the outcome.

        A clean-up AWS refuses (e.g. DeleteAlarms while a composite alarm depends on a generated
        one) is logged and noted in the history; it cannot roll back a promoted model. A
        transient failure (throttling) propagates like any other: the tick is retried, and its
        clean-up with it.
        """
        left: list[str] = []
        for action in actions:
            try:
                self.apply_all([action])
            except ActionRejectedError as exc:
                logger().warning(
                    "clean-up failed; left in place",
                    extra={"endpoint": decision.status.endpoint, "error": str(exc)},
                )
                left.append(f"clean-up {action.kind} failed, left in place: {exc}")
        return replace(decision, notes=(*decision.notes, *left)) if left else decision

    def apply_all(self, actions: Sequence[Action]) -> None:
        for action in actions:
            if self.sagemaker.handles(action):
                self.sagemaker.apply(action)
            else:
                self.cloudwatch.apply(action)

    # --- persistence, history, notifications ----------------------------------------------------

    def _persist(self, before: RolloutStatus, decision: Decision) -> RolloutStatus:
        after = decision.status
        records: list[HistoryRecord] = []
        if decision.superseded is not None:
            records.append(self._record(decision.superseded, "superseded", {}))
        if (
            decision.notes
            or decision.actions
            or after.phase != before.phase
            or after.weights != before.weights
            or after.rollout_id != before.rollout_id
        ):
            details: dict[str, Any] = {
                "actions": [str(a.kind) for a in decision.actions],
                **decision.details,
            }
            if after.failed_checks:
                details["failedChecks"] = after.failed_checks
            records.append(self._record(after, "; ".join(decision.notes), details))
        if not records and after == before.evolve(updated_at=after.updated_at):
            return before  # nothing happened: no write (keeps steady ticks to 2 reads)
        watch = after.watched_alarms if after.active else []
        unwatch = [a for a in before.watched_alarms if a not in watch]
        saved = self.store.save(
            after,
            expected_version=before.version,
            history=records,
            watch=watch if watch != before.watched_alarms or not before.active else [],
            unwatch=unwatch,
        )
        for listener in self.listeners:
            listener(saved, decision)
        if self.notifier is not None:
            if decision.superseded is not None:
                self.notifier.phase_changed(decision.superseded, str(before.phase))
            if saved.phase != before.phase or saved.rollout_id != before.rollout_id:
                self.notifier.phase_changed(saved, str(before.phase))
        return saved

    def _save(self, before: RolloutStatus, after: RolloutStatus, notes: list[str]) -> RolloutStatus:
        decision = Decision((), after.evolve(updated_at=self.clock()), 0, tuple(notes))
        return self._persist(before, decision)

    def _record(self, status: RolloutStatus, event: str, details: dict[str, Any]) -> HistoryRecord:
        return HistoryRecord(
            at=self.clock(),
            endpoint=status.endpoint,
            rollout_id=status.rollout_id,
            commit=status.commit,
            spec_hash=status.spec_hash,
            phase=status.phase,
            weights=status.weights,
            reason=status.reason,
            event=event,
            details=details,
        )

    def _result(
        self, status: RolloutStatus, rollout_id: str, wait: int, gate: bool = False
    ) -> TickResult:
        timeout = status.spec().spec.rollout.gate_timeout_seconds if gate else 0
        if status.rollout_id != rollout_id:
            if status.next is not None and status.next.rollout_id == rollout_id:
                return TickResult(status.endpoint, rollout_id, Phase.PENDING, max(wait, 1), False)
            return self._result_for_other(status, rollout_id)
        return TickResult(
            endpoint=status.endpoint,
            rollout_id=rollout_id,
            phase=status.phase,
            wait_seconds=wait,
            done=status.done,
            gate=gate,
            gate_timeout_seconds=max(1, int(timeout - (self.clock() - status.phase_since)))
            if gate
            else 0,
            reason=status.reason,
        )

    def _result_for_other(self, status: RolloutStatus, rollout_id: str) -> TickResult:
        """This execution's rollout is no longer the endpoint's: it was superseded."""
        for record in self.store.history(status.endpoint, limit=50):
            if record.rollout_id == rollout_id and record.phase in {
                Phase.SUCCEEDED,
                Phase.SUPERSEDED,
                Phase.ROLLED_BACK,
                Phase.FAILED,
            }:
                return TickResult(
                    status.endpoint, rollout_id, record.phase, 0, True, reason=record.reason
                )
        return TickResult(
            status.endpoint, rollout_id, Phase.SUPERSEDED, 0, True, reason="superseded"
        )

    # --- starting rollouts ------------------------------------------------------------------------

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

    # --- requests from outside the loop -------------------------------------------------------

    def on_alarm(
        self, alarm: str, reason: str, *, time_left: Callable[[], float] | None = None
    ) -> list[str]:
        """An alarm entered ALARM: every active rollout watching it sends traffic back now.

        SageMaker refuses a weights change while it applies the previous one (``Updating``), so
        the abort keeps trying for ``time_left()`` seconds (default :data:`ABORT_BUDGET_S`);
        traffic still on a candidate then raises ``TransientError`` so the event is delivered
        again (Lambda's asynchronous retries) — the step interval never delays it.
        """
        time_left = time_left or _budget(ABORT_BUDGET_S)
        acted: list[str] = []
        pending: list[str] = []
        for endpoint in self.store.watchers(alarm):
            status = self.store.get(endpoint)
            if status is None or alarm not in status.watched_alarms or not status.active:
                continue
            percent = status.weights.get(status.candidate.name, 0.0)
            message = f"alarm {alarm} in ALARM at {percent:g} %: {reason}".strip()
            done, weights_set = self._abort(
                status, message, count_as_check=True, time_left=time_left
            )
            if done:
                acted.append(endpoint)
            if not weights_set:
                pending.append(endpoint)
        if pending:
            raise TransientError(
                f"traffic of {', '.join(pending)} is still on the candidate: SageMaker is "
                "applying a previous change; the alarm event is retried"
            )
        return acted

    def abort(self, endpoint: str, by: str) -> RolloutStatus:
        status = self._require(endpoint)
        if not status.active:
            raise NotFoundError(f"{endpoint} has no active rollout (phase {status.phase})")
        self._abort(
            status, f"aborted by {by}", count_as_check=False, time_left=_budget(ABORT_BUDGET_S)
        )
        return self._require(endpoint)

    def _abort(
        self,
        status: RolloutStatus,
        reason: str,
        *,
        count_as_check: bool,
        time_left: Callable[[], float],
    ) -> tuple[bool, bool]:
        """(the status changed, traffic is back on stable or was never moved)."""
        for _ in range(CONFLICT_RETRIES):
            observation = Observation(now=self.clock(), endpoint=_assumed_endpoint(status))
            decision = abort_now(
                status.spec(), status, observation, reason, count_as_check=count_as_check
            )
            if decision.status == status.evolve(updated_at=decision.status.updated_at):
                # already rolling back (a redelivered event) or done: idempotent, except that
                # traffic the first attempt could not move is moved now
                return False, self._weights_back(status, time_left)
            weights = [a for a in decision.actions if isinstance(a, SetWeights)]
            weights_set = True
            # The one SageMaker call of the abort path; the tick finishes the rollback.
            if weights and status.phase in TRAFFIC_PHASES:
                weights_set = self.sagemaker.set_weights_now(weights[0], time_left)
            if not weights_set:
                decision = Decision(
                    (),
                    decision.status,
                    1,
                    (*decision.notes, "endpoint busy: weights are set when SageMaker accepts"),
                )
            try:
                self._persist(status, decision)
            except ConflictError:
                fresh = self.store.get(status.endpoint)
                if fresh is None:
                    return False, True
                status = fresh
                continue
            if status.gate_token and self.executions is not None:
                self.executions.release_gate(status.gate_token, status.endpoint, status.rollout_id)
            return True, weights_set
        return False, True

    def _weights_back(self, status: RolloutStatus, time_left: Callable[[], float]) -> bool:
        """A rollback whose first weights call was refused: all traffic to stable, if the
        candidate still has some; True when none is left on it."""
        stable = status.stable
        if status.phase != Phase.ROLLING_BACK or stable is None:
            return True
        live = self.sagemaker.describe_endpoint(status.endpoint)
        candidate = live.variant(status.candidate.name) if live else None
        if live is None or candidate is None or candidate.desired_weight <= 0:
            return True
        if live.variant(stable.name) is None:
            return True  # the tick already replaced the candidate's config
        back = SetWeights(
            endpoint=status.endpoint, weights={stable.name: 100.0, candidate.name: 0.0}
        )
        return self.sagemaker.set_weights_now(back, time_left)

    def promote(self, endpoint: str, *, full: bool = False, by: str = "") -> RolloutStatus:
        """Release a gate or pause, or end the step (``full``: skip to 100 %), recorded with
        who asked (``by``)."""
        status = self._require(endpoint)
        if status.phase not in {Phase.PROGRESSING, Phase.PAUSED, Phase.PENDING, Phase.INITIALIZING}:
            raise NotFoundError(f"{endpoint} has nothing to promote (phase {status.phase})")
        mode: Literal["step", "full"] = "full" if full or status.phase == Phase.PAUSED else "step"
        asked = f"promote ({mode}) requested" + (f" by {by}" if by else "")
        saved = self._save(status, status.evolve(promote=mode), [asked])
        if status.gate_token and self.executions is not None:
            self.executions.release_gate(status.gate_token, status.endpoint, status.rollout_id)
        return saved

    def _require(self, endpoint: str) -> RolloutStatus:
        status = self.store.get(endpoint)
        if status is None:
            raise NotFoundError(f"no rollout recorded for endpoint {endpoint}")
        return status

    def orphans(self, declared: set[str], repository: str) -> list[str]:
        """Endpoints this repository (its identity) deployed whose declaration is gone (pruned
        ones excluded). A status that names no repository identity matches none."""
        return [
            s.endpoint
            for s in self.store.list_statuses()
            if s.endpoint not in declared
            and not s.deleted
            and s.source.get("identity") == repository
        ]

    def delete_endpoint(self, endpoint: str, *, commit: str) -> None:
        """Prune (opt-in): delete an endpoint whose declaration was removed from the repository."""
        status = self.store.get(endpoint)
        if status is not None and status.active:
            raise ConflictError(f"{endpoint} has an active rollout; not deleting it")
        deleter = getattr(self.sagemaker, "delete_endpoint", None)
        if deleter is None:
            raise NotFoundError("this SageMaker adapter cannot delete endpoints")
        deleter(endpoint)
        if status is not None:
            record = self._record(status, f"endpoint deleted (prune) at {commit[:12]}", {})
            self.store.save(
                status.evolve(
                    phase=Phase.SUCCEEDED,
                    reason=f"pruned at {commit[:12]}",
                    weights={},
                    deleted=True,
                ),
                expected_version=status.version,
                history=[record],
            )


def _assumed_endpoint(status: RolloutStatus) -> EndpointView:
    """What the abort path assumes without a DescribeEndpoint: the weights the status set."""
    return EndpointView(
        name=status.endpoint,
        status=IN_SERVICE,
        config="",
        variants=[
            LiveVariant(name=name, current_weight=weight, desired_weight=weight)
            for name, weight in status.weights.items()
        ],
    )
