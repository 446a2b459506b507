"""The tick: load status → observe → decide (pure) → act → persist, once per state-machine loop.

Idempotent: a tick that crashes between acting and persisting runs again on the old status and
converges (what the actions erase — the config live before the rollout — is written ahead of
them: ``Decision.ahead``); a status changed under it (``ConflictError``) is reloaded and decided
again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from smgitops.errors import (
    ActionRejectedError,
    ConflictError,
    EndpointBusyError,
    NotFoundError,
    QuotaUnreadableError,
    TransientError,
)
from smgitops.observability import logger
from smgitops.rollout.actions import DeleteAlarms, DeleteUnused
from smgitops.rollout.capacity import of_spec
from smgitops.rollout.decide import Decision, decide, needs, rejected
from smgitops.rollout.engine import CONFLICT_RETRIES, Engine
from smgitops.rollout.observation import IN_SERVICE, InstanceQuota, Observation
from smgitops.rollout.status import Phase, RolloutStatus

if TYPE_CHECKING:
    from smgitops.declaration.models import Declaration
    from smgitops.rollout.actions import Action
    from smgitops.rollout.observation import EndpointView
    from smgitops.rollout.status import VariantRef, VariantScaling

GUARDED = frozenset({Phase.INITIALIZING, Phase.PROGRESSING, Phase.PAUSED, Phase.PROMOTING})
CLEANUP = (DeleteAlarms, DeleteUnused)  # best effort: never changes a rollout's outcome


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


class Ticking(Engine):
    """The tick use case (``handlers/tick.py``, the local runtime's state-machine runner)."""

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
        written = status
        if decision.ahead is not None:  # write-ahead: a replay of this tick finds it
            written = self._persist(status, Decision((), decision.ahead, 0))
        decision = self._act(status, observation, decision, written)
        saved = self._persist(written, decision)
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
        spec = declaration or status.spec()
        quotas, unreadable = self._quotas(status, spec, endpoint, config_variants)
        observation = Observation(
            now=now,
            region=self.sagemaker.region,
            endpoint=endpoint,
            scaling=self._scaling(status, declaration or status.spec(), endpoint),
            config_variants=config_variants,
            config_missing=config_missing,
            alarms=alarms,
            package_approval=approval[0],
            package_version=approval[1],
            quotas=quotas,
            quota_unreadable=unreadable,
        )
        return self._checks(status, declaration or status.spec(), observation)

    def _quotas(
        self,
        status: RolloutStatus,
        declaration: Declaration,
        endpoint: EndpointView | None,
        live: list[VariantRef] | None,
    ) -> tuple[list[InstanceQuota], str]:
        """Pending, before anything is created (no endpoint yet, or its live config read):
        the instance quotas of every type the rollout will hold (the candidate's and the
        live variants')."""
        if status.phase != Phase.PENDING or (endpoint is not None and live is None):
            return [], ""
        types = {v.instance_type for v in live or []} | set(of_spec(declaration.spec))
        types = {t for t in types if t.startswith("ml.")}
        if not types:
            return [], ""
        try:
            return self.sagemaker.instance_quotas(sorted(types), status.endpoint), ""
        except QuotaUnreadableError as exc:
            return [], str(exc)

    def _scaling(
        self, status: RolloutStatus, declaration: Declaration, endpoint: EndpointView | None
    ) -> dict[str, VariantScaling] | None:
        """The scalable targets of the endpoint's variants: one read when autoscaling is
        declared or the stable variant had a target, and in Pending (with the policies, which
        a rollback puts back as they were)."""
        if self.autoscaling is None or endpoint is None or endpoint.status != IN_SERVICE:
            return None
        pending = status.phase == Phase.PENDING
        if not (pending or declaration.spec.autoscaling or status.stable_scaling):
            return None
        variants = [v.name for v in endpoint.variants]
        return self.autoscaling.targets(status.endpoint, variants, policies=pending)

    def _checks(
        self, status: RolloutStatus, declaration: Declaration, observation: Observation
    ) -> Observation:
        """Run the I/O-heavy checks decide() will ask for this tick (golden requests, metrics)."""
        wanted = needs(declaration, status, observation)
        if self.analysis is None or not wanted:
            return observation
        validation = judgement = None
        if "validation" in wanted:
            validation = self.analysis.validate(declaration, status)
        if "judgement" in wanted:
            judgement = self.analysis.judge(declaration, status, observation.now)
        return observation.model_copy(update={"validation": validation, "judgement": judgement})

    def _act(
        self,
        status: RolloutStatus,
        observation: Observation,
        decision: Decision,
        written: RolloutStatus,
    ) -> Decision:
        """Apply the decision's actions; ``written``: the status as stored before them (the
        one written ahead, if any): a busy endpoint leaves it in place, an action rejected for
        good rolls it back (its stable variant known: the first tick's too)."""
        essential = tuple(a for a in decision.actions if not isinstance(a, CLEANUP))
        try:
            self.apply_all(essential)
        except ActionRejectedError as exc:
            logger().warning(
                "action rejected", extra={"endpoint": status.endpoint, "reason": exc.reason}
            )
            fallback = rejected(written, observation, exc.action, exc.reason)
            try:
                self.apply_all(fallback.actions)
            except (ActionRejectedError, TransientError) as again:
                logger().warning(
                    "rollback action failed; next tick retries", extra={"error": str(again)}
                )
            return fallback
        except EndpointBusyError as exc:
            # Someone (another tick, SageMaker) is updating the endpoint: look again soon,
            # keeping what was written ahead (actions before the refusal may have run: a
            # stable's scale-in suspended is not the scaling to restore).
            return Decision((), written, 2, (f"endpoint busy: {exc}",))
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
