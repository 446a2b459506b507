"""What every rollout use case shares: the adapters, the clock, and the one write path.

A status is only ever written through :meth:`Engine._persist`: one conditional transaction
(status, its history records, the alarm → endpoint index), then the listeners and the notifier.
The use cases (``tick.py``, ``start.py``, ``operate.py``, ``prune.py``) build on it;
``service.py`` puts them together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smgitops.clock import now as clock_now
from smgitops.rollout.decide import Decision
from smgitops.rollout.ports import (
    AnalysisPort,
    AutoscalingPort,
    CloudWatchPort,
    ExecutionsPort,
    NotifierPort,
    SageMakerPort,
    StorePort,
)
from smgitops.rollout.status import HistoryRecord, RolloutStatus

if TYPE_CHECKING:
    from collections.abc import Sequence

    from smgitops.rollout.actions import Action

CONFLICT_RETRIES = 3


@dataclass
class Engine:
    sagemaker: SageMakerPort
    cloudwatch: CloudWatchPort
    store: StorePort
    executions: ExecutionsPort | None = None
    notifier: NotifierPort | None = None
    analysis: AnalysisPort | None = None
    autoscaling: AutoscalingPort | None = None
    clock: Callable[[], float] = clock_now
    listeners: list[Callable[[RolloutStatus, Decision], None]] = field(default_factory=list)

    def apply_all(self, actions: Sequence[Action]) -> None:
        for action in actions:
            if self.sagemaker.handles(action):
                self.sagemaker.apply(action)
            elif self.autoscaling is not None and self.autoscaling.handles(action):
                self.autoscaling.apply(action)
            else:
                self.cloudwatch.apply(action)

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
            elif saved.failed_checks > before.failed_checks:
                self.notifier.check_failed(saved)
        return saved

    def _save(self, before: RolloutStatus, after: RolloutStatus, notes: list[str]) -> RolloutStatus:
        decision = Decision((), after.evolve(updated_at=self.clock()), 0, tuple(notes))
        return self._persist(before, decision)

    def _record(self, status: RolloutStatus, event: str, details: dict[str, Any]) -> HistoryRecord:
        return HistoryRecord.of(status, at=self.clock(), event=event, details=details)
