"""The rollout's I/O-bound checks: golden requests to the candidate alone, and the step's
per-variant metrics judged candidate against stable, as the typed results decide() reads."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from smgitops.declaration.safeguards import TrafficSpec
from smgitops.rollout import analysis, golden

if TYPE_CHECKING:
    from smgitops.declaration.models import Declaration
    from smgitops.rollout.analysis import StepJudgement
    from smgitops.rollout.golden import ValidationOutcome
    from smgitops.rollout.status import RolloutStatus


# Seconds a tick may spend on golden requests: the tick function's Timeout (120 s in
# template.yaml) minus the reads and writes around them.
VALIDATION_BUDGET_S = 80.0


class Analysis:
    def __init__(self, runtime: Any = None, metrics: Any = None) -> None:
        self._runtime = runtime
        self._metrics = metrics

    @property
    def runtime(self) -> Any:
        if self._runtime is None:
            from smgitops.aws.runtime import Runtime  # noqa: PLC0415

            self._runtime = Runtime()
        return self._runtime

    @property
    def metrics(self) -> Any:
        if self._metrics is None:
            from smgitops.aws.metrics import VariantMetrics  # noqa: PLC0415

            self._metrics = VariantMetrics()
        return self._metrics

    def validate(self, declaration: Declaration, status: RolloutStatus) -> ValidationOutcome:
        spec = declaration.spec.rollout.validation
        assert spec is not None  # noqa: S101 - decide() asks only when it is declared
        requests = status.golden
        timeout = float(spec.timeout_seconds)
        invoke = self.runtime.invoker(status.endpoint, status.candidate.name, timeout)
        deadline = time.monotonic() + VALIDATION_BUDGET_S
        outcome = golden.run(
            requests,
            invoke,
            spec.content_type,
            spec.min_score,
            timeout=timeout,
            time_left=lambda: deadline - time.monotonic(),
        )
        if not requests:
            matched = f"no golden request matched {', '.join(spec.requests)}"
            return replace(outcome, failures=(matched,))
        return outcome

    def judge(self, declaration: Declaration, status: RolloutStatus, now: float) -> StepJudgement:
        """The end of a step: candidate against stable (``compare``), or, for a step checked by
        alarms alone, whether the candidate served the traffic they need to see anything."""
        from smgitops.aws.metrics import queries_for  # noqa: PLC0415

        spec = declaration.spec.rollout.analysis
        assert spec.floor is not None and status.stable is not None  # noqa: S101
        candidate, stable = status.candidate.name, status.stable.name
        start = status.step_since or now
        if spec.compare is None:
            counted = self.metrics.read(
                status.endpoint,
                [candidate, stable],
                [],
                start=analysis.traffic_window_start(start, now),
                end=now,
                whole=False,
            )
            invocations = (counted[candidate].total_invocations, counted[stable].total_invocations)
            assert isinstance(spec.floor, TrafficSpec)  # noqa: S101 - the floor without compare
            return analysis.judge_traffic(spec.floor, invocations, status.extensions)
        series = self.metrics.read(
            status.endpoint,
            [candidate, stable],
            queries_for(spec.compare),
            start=start,
            end=now,
            period=spec.compare.period,
        )
        return analysis.compare_step(
            spec.compare, series[candidate], series[stable], status.extensions
        )
