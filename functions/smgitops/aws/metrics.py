"""CloudWatch GetMetricData adapter: per-variant samples for the canary-vs-stable comparison.

One call (500 queries per page) reads every metric of every variant plus each variant's
Invocations, one value per period. Only whole periods inside the window are read: the first
partial period (traffic before the step began) and the last (still being aggregated) are left
out. A percentile (``p99``) is read like any statistic: GetMetricData's ``Stat`` takes the
extended statistic as it is, and each period's value is that period's percentile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws import clients
from smgitops.aws.errors import translate
from smgitops.declaration.metrics import STATISTICS, is_statistic, namespace_of
from smgitops.rollout.analysis import VariantSeries

if TYPE_CHECKING:
    from collections.abc import Sequence

    from smgitops.declaration.safeguards import CompareSpec

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
INVOCATIONS = "Invocations"
MAX_QUERIES = 500  # GetMetricData's limit per call


@dataclass(frozen=True)
class MetricQuery:
    metric: str
    statistic: str
    namespace: str = ""  # "" → by metric: endpoint-instance metrics or AWS/SageMaker

    def __post_init__(self) -> None:
        if not is_statistic(self.statistic):
            raise ValueError(
                f"statistic {self.statistic!r} is not one of {', '.join(STATISTICS)} "
                "or a percentile p50…p99.9"
            )

    @property
    def resolved_namespace(self) -> str:
        return self.namespace or namespace_of(self.metric)


def queries_for(spec: CompareSpec) -> list[MetricQuery]:
    """The queries a ``rollout.analysis.compare`` needs (Invocations is always read)."""
    unique = dict.fromkeys(MetricQuery(m.metric, m.stat) for m in spec.metrics)
    return list(unique)


def whole_periods(start: float, end: float, period: int) -> tuple[float, float] | None:
    """``[start, end)`` shrunk to whole periods (aligned like CloudWatch's), or None if empty."""
    first = math.ceil(start / period) * period
    last = math.floor(end / period) * period
    return (first, last) if last > first else None


def seconds_window(start: float, end: float) -> tuple[float, float] | None:
    """``[start, end)`` as given, or None if CloudWatch would see no time in it: it reads
    timestamps in whole seconds and refuses a StartTime equal to the EndTime (ValidationError
    "The parameter StartTime must not equal parameter EndTime."), so a window within one
    second (a step judged just after it crossed a minute) holds nothing to read."""
    return (start, end) if math.floor(end) > math.floor(start) else None


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


INVOCATIONS_QUERY = MetricQuery(INVOCATIONS, "Sum", SAGEMAKER_NAMESPACE)


def _stat(query_id: str, query: MetricQuery, dims: list[Any], period: int) -> dict[str, Any]:
    metric = {"Namespace": query.resolved_namespace, "MetricName": query.metric, "Dimensions": dims}
    return {
        "Id": query_id,
        "MetricStat": {"Metric": metric, "Period": period, "Stat": query.statistic},
        "ReturnData": True,
    }


class VariantMetrics:
    def __init__(self, client: Any = None) -> None:
        self.client = client or clients.client("cloudwatch")

    def read(
        self,
        endpoint: str,
        variants: Sequence[str],
        queries: Sequence[MetricQuery],
        *,
        start: float,
        end: float,
        period: int = 60,
        whole: bool = True,
    ) -> dict[str, VariantSeries]:
        """Per variant: each query's value per period (epoch → value) and the Invocations;
        ``whole=False`` reads ``[start, end)`` as given (every minute in it counts; nothing when
        it lies within one second, :func:`seconds_window`)."""
        # query id → (variant index, (metric, statistic)); None marks the Invocations query
        plan: dict[str, tuple[int, tuple[str, str] | None]] = {}
        requests: list[dict[str, Any]] = []
        for v_index, variant in enumerate(variants):
            dims = [
                {"Name": "EndpointName", "Value": endpoint},
                {"Name": "VariantName", "Value": variant},
            ]
            plan[f"i{v_index}"] = (v_index, None)
            requests.append(_stat(f"i{v_index}", INVOCATIONS_QUERY, dims, period))
            for q_index, query in enumerate(queries):
                plan[f"m{v_index}_{q_index}"] = (v_index, (query.metric, query.statistic))
                requests.append(_stat(f"m{v_index}_{q_index}", query, dims, period))
        values: dict[str, dict[float, float]] = {query_id: {} for query_id in plan}
        window = whole_periods(start, end, period) if whole else seconds_window(start, end)
        if window is not None:
            for first in range(0, len(requests), MAX_QUERIES):
                self._fetch(requests[first : first + MAX_QUERIES], window, period, values)
        return {
            variant: VariantSeries(
                variant=variant,
                metrics={
                    key: values[query_id]
                    for query_id, (owner, key) in plan.items()
                    if owner == v_index and key is not None
                },
                invocations=values[f"i{v_index}"],
            )
            for v_index, variant in enumerate(variants)
        }

    def _fetch(
        self,
        requests: list[dict[str, Any]],
        window: tuple[float, float],
        period: int,
        values: dict[str, dict[float, float]],
    ) -> None:
        params: dict[str, Any] = {
            "MetricDataQueries": requests,
            "StartTime": _when(window[0]),
            "EndTime": _when(window[1]),
            "ScanBy": "TimestampAscending",
        }
        while True:
            try:
                out = self.client.get_metric_data(**params)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, "GetMetricData") from exc
            for result in out.get("MetricDataResults", []):
                target = values.get(result["Id"])
                if target is None:
                    continue
                for stamp, value in zip(
                    result.get("Timestamps", []), result.get("Values", []), strict=False
                ):
                    at = stamp.timestamp() if isinstance(stamp, datetime) else float(stamp)
                    # a period overlapping the window: CloudWatch stamps a period with its
                    # start, which precedes an unaligned StartTime (rounded down)
                    if window[0] < at + period and at < window[1]:
                        target[at] = float(value)
            token = out.get("NextToken")
            if not token:
                return
            params["NextToken"] = token
