"""Requests from outside the tick loop: an alarm firing, an operator's abort or promote.

An abort moves traffic back at once (the one SageMaker call of the path) and leaves the rest
of the rollback to the next tick.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Literal

from smgitops.errors import ConflictError, NotFoundError, TransientError
from smgitops.rollout.actions import SetWeights
from smgitops.rollout.decide import Decision, abort_now
from smgitops.rollout.engine import CONFLICT_RETRIES, Engine
from smgitops.rollout.observation import IN_SERVICE, EndpointView, LiveVariant, Observation
from smgitops.rollout.status import TRAFFIC_PHASES, Phase, RolloutStatus

if TYPE_CHECKING:
    from collections.abc import Callable

ABORT_BUDGET_S = 45.0  # how long an abort keeps trying when the caller gives no deadline


def _budget(seconds: float) -> Callable[[], float]:
    """``time_left()`` for a budget of ``seconds`` from now (monotonic, whatever the clock)."""
    deadline = time.monotonic() + seconds
    return lambda: deadline - time.monotonic()


class Operating(Engine):
    """The operate use cases (``handlers/abort.py``, the CLI's abort and promote, the dashboard)."""

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
        """Release a gate or an abTest's hold, or end the step; ``full``: skip every remaining
        step to 100 %. Recorded with who asked (``by``). A released gate wakes the state machine
        at once; :meth:`RolloutService.promote` also acts at once on a step or a hold."""
        status = self._require(endpoint)
        if status.phase not in {Phase.PROGRESSING, Phase.PAUSED, Phase.PENDING, Phase.INITIALIZING}:
            raise NotFoundError(f"{endpoint} has nothing to promote (phase {status.phase})")
        mode: Literal["step", "full"] = "full" if full else "step"
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
