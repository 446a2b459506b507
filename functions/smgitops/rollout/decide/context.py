"""The tick context: one tick's working state, and the Decision it ends in."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from smgitops.declaration.models import Declaration
from smgitops.rollout.actions import Action
from smgitops.rollout.observation import EndpointView, Observation
from smgitops.rollout.status import Phase, RolloutStatus

if TYPE_CHECKING:
    from smgitops.rollout.analysis import StepJudgementRecord
    from smgitops.rollout.golden import ValidationRecord

# Step Functions ends an execution at 25,000 history events (~9 per tick): waiting on SageMaker
# must cost a number of ticks that grows with the log of the wait, not with the wait.
BACKOFF_CAP_S = 300  # the longest wait on something SageMaker is doing
PAUSE_CAP_S = 3600  # the longest wait of an abTest paused until promote or abort


class TickDetails(TypedDict, total=False):
    """What a tick adds to its history record's ``details`` (JSON), beside its actions."""

    validation: ValidationRecord  # the golden requests' outcome
    judgement: StepJudgementRecord  # the step judged: candidate against stable, or its traffic
    override: str  # the Deploy-Override trailer that let the push through a freeze window


@dataclass(frozen=True)
class Decision:
    actions: tuple[Action, ...]
    status: RolloutStatus
    wait_seconds: int
    notes: tuple[str, ...] = ()
    gate: bool = False
    # The final snapshot of a rollout that handed over to a newer one in this tick.
    superseded: RolloutStatus | None = None
    details: TickDetails = field(default_factory=TickDetails)  # for the history
    # Written before any action is applied (same phase, no history record): what a replay of
    # this tick could no longer observe once its actions ran, should it die before persisting
    # ``status`` — the stable variant it replaces, the config live before the rollout, the
    # stable's scaling as it was (the first tick that changes the endpoint).
    ahead: RolloutStatus | None = None


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
    details: TickDetails = field(default_factory=TickDetails)
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
    def waiting_since(self) -> float:
        """When the change being waited for began: the phase's or the step's start."""
        return max(self.status.phase_since, self.status.step_since or 0.0)

    def backoff(self, floor: float, cap: float) -> int:
        """Half the time waited so far (:attr:`waiting_since`), within [floor, cap]: a 20 s
        update costs a handful of polls, a 30-minute one about twenty, whatever the interval."""
        waited = self.observation.now - self.waiting_since
        return math.ceil(max(floor, min(cap, waited / 2)))

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

    def wait(self, note: str) -> Decision:
        """Back off while SageMaker works (:meth:`backoff`), saying what is waited for."""
        self.notes.append(note)
        return self.decision(self.status, self.backoff(self.poll, BACKOFF_CAP_S))
