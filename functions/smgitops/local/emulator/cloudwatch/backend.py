"""moto's CloudWatch backend with alarms that evaluate (emulator only, never used in AWS).

Patched onto ``moto.cloudwatch.models.CloudWatchBackend`` by :func:`patch`:

- a new alarm starts in ``INSUFFICIENT_DATA`` ("Unchecked: Initial alarm creation"), as on AWS
  (moto starts it in OK); re-putting an alarm keeps its state, as AWS does;
- ``GetMetricData`` computes percentile statistics (``"Stat": "p99"``) from the raw values of
  each period, as CloudWatch does (moto answers nothing for them), with the alarms' nearest-rank
  method; a period whose percentile cannot be computed (statistic sets with different minimum
  and maximum) has no data point;
- ``PutMetricData`` evaluates, right away, every metric alarm watching a metric it touched;
- :func:`evaluate_alarms` evaluates alarms at a given time (decorator mode, or the emulator's
  background thread with ``only_due=True``: each alarm once per ``min(Period, 60)`` seconds, the
  cadence at which CloudWatch evaluates);
- every state change (from evaluation or ``SetAlarmState``) is sent as a "CloudWatch Alarm State
  Change" event to the matching EventBridge rules (:mod:`smgitops.local.emulator.events`).

The evaluation itself is the pure :func:`smgitops.local.emulator.cloudwatch.alarms.evaluate`.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from moto.cloudwatch.models import Statistics, cloudwatch_backends

from smgitops import clock
from smgitops.local.emulator import events
from smgitops.local.emulator.cloudwatch.alarms import (
    INSUFFICIENT_DATA,
    AlarmSpec,
    Sample,
    UnsupportedAlarmError,
    dumps_reason_data,
    evaluate,
    is_percentile,
    statistic,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

logger = logging.getLogger(__name__)

_LOCK = threading.RLock()
INITIAL_REASON = "Unchecked: Initial alarm creation"
SeriesKey = tuple[str, str, frozenset[tuple[str, str]]]


@dataclass(frozen=True)
class StateChange:
    """One alarm transition, as returned by :func:`evaluate_alarms`."""

    alarm_name: str
    previous: str
    current: str
    reason: str


@dataclass
class _Index:
    """Metric samples of one backend by series (namespace, name, dimension set)."""

    consumed: int = 0
    series: dict[SeriesKey, list[Sample]] = field(default_factory=dict)
    last_evaluated: dict[str, float] = field(default_factory=dict)


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _to_sample(datum: Any) -> Sample:
    ts = _epoch(datum.timestamp)
    if hasattr(datum, "value"):
        return Sample.of(ts, float(datum.value), datum.unit)
    return Sample.statistic_set(
        ts,
        total=float(datum.sum),
        count=float(datum.sample_count),
        minimum=float(datum.min),
        maximum=float(datum.max),
        unit=datum.unit,
    )


def _dims_key(dimensions: Any) -> frozenset[tuple[str, str]]:
    return frozenset((str(d.name), str(d.value)) for d in dimensions)


def _index(backend: Any) -> _Index:
    """The backend's index, catching up with data appended since the last call."""
    index: _Index | None = backend.__dict__.get("_smgitops_index")
    if index is None:
        index = _Index()
        backend._smgitops_index = index
    data = backend.metric_data
    for datum in data[index.consumed :]:
        key = (datum.namespace, datum.name, _dims_key(datum.dimensions))
        index.series.setdefault(key, []).append(_to_sample(datum))
    index.consumed = len(data)
    return index


@dataclass(frozen=True)
class _Watched:
    """The metric an alarm watches and how it aggregates it."""

    namespace: str
    name: str
    dimensions: frozenset[tuple[str, str]]
    spec: AlarmSpec


def _watched(alarm: Any) -> _Watched:
    """What to evaluate for a metric alarm; UnsupportedAlarmError for what is not reproduced."""
    if alarm.rule is not None:
        raise UnsupportedAlarmError("composite alarms are not evaluated")
    namespace, name, dims = alarm.namespace, alarm.metric_name, alarm.dimensions
    period, stat, unit = alarm.period, alarm.extended_statistic or alarm.statistic, alarm.unit
    if alarm.metric_data_queries:
        queries = [q for q in alarm.metric_data_queries if q.metric_stat is not None]
        if len(alarm.metric_data_queries) != 1 or len(queries) != 1:
            raise UnsupportedAlarmError("metric math alarms are not evaluated")
        stat_query = queries[0].metric_stat
        namespace = stat_query.metric.namespace
        name = stat_query.metric.metric_name
        dims = stat_query.metric.dimensions
        period, stat, unit = int(stat_query.period), stat_query.stat, stat_query.unit
    if not namespace or not name or not stat:
        raise UnsupportedAlarmError("alarm has no single metric to evaluate")
    spec = AlarmSpec(
        period=int(period),
        evaluation_periods=int(alarm.evaluation_periods),
        threshold=float(alarm.threshold),
        comparison_operator=alarm.comparison_operator,
        statistic=stat,
        datapoints_to_alarm=int(alarm.datapoints_to_alarm) if alarm.datapoints_to_alarm else None,
        treat_missing_data=alarm.treat_missing_data,
        unit=unit,
    )
    return _Watched(namespace, name, _dims_key(dims), spec)


def _state_of(alarm: Any) -> events.AlarmState:
    return events.AlarmState(
        value=alarm.state_value,
        reason=alarm.state_reason,
        reason_data=alarm.state_reason_data,
        timestamp=_epoch(alarm.state_updated_timestamp),
    )


def _emit(backend: Any, alarm: Any, previous: events.AlarmState) -> None:
    """Send the state change event for ``alarm`` (already in its new state)."""
    metric = None
    try:
        watched = _watched(alarm)
    except UnsupportedAlarmError:
        watched = None
    if watched is not None:
        metric = events.MetricStatView(
            namespace=watched.namespace,
            name=watched.name,
            dimensions=dict(sorted(watched.dimensions)),
            period=watched.spec.period,
            stat=watched.spec.statistic,
            unit=watched.spec.unit,
        )
    event = events.build_alarm_event(
        alarm_name=alarm.name,
        alarm_arn=alarm.alarm_arn,
        account_id=backend.account_id,
        region=backend.region_name,
        previous=previous,
        current=_state_of(alarm),
        metric=metric,
        description=alarm.description,
    )
    try:
        events.deliver(event, backend.account_id, backend.region_name)
    except Exception:  # delivery must never break the CloudWatch call that changed the state
        logger.exception("emulator: delivering the state change of %s failed", alarm.name)


def _evaluate_one(backend: Any, index: _Index, alarm: Any, now: float) -> StateChange | None:
    try:
        watched = _watched(alarm)
    except UnsupportedAlarmError:
        return None
    samples = index.series.get((watched.namespace, watched.name, watched.dimensions), [])
    result = evaluate(watched.spec, samples, now)
    index.last_evaluated[alarm.name] = now
    if result.state is None or result.state == alarm.state_value:
        return None
    previous = _state_of(alarm)
    alarm.update_state(result.reason, dumps_reason_data(result.reason_data), result.state)
    alarm.state_updated_timestamp = datetime.fromtimestamp(now, UTC).replace(tzinfo=None)
    _emit(backend, alarm, previous)
    return StateChange(alarm.name, previous.value, result.state, result.reason)


def _due(index: _Index, alarm: Any, now: float) -> bool:
    last = index.last_evaluated.get(alarm.name)
    return last is None or now - last >= min(int(alarm.period or 60), 60)


def _backends() -> Iterator[Any]:
    for regions in list(cloudwatch_backends.values()):
        yield from list(regions.values())


def evaluate_alarms(
    now: datetime | float | None = None, *, only_due: bool = False
) -> list[StateChange]:
    """Evaluate every metric alarm of every emulated account and region at ``now``.

    Returns the state changes (each also sent as an EventBridge event). ``only_due`` limits it to
    the alarms whose evaluation cadence has come, as the background evaluator does.
    """
    at = clock.now() if now is None else (_epoch(now) if isinstance(now, datetime) else now)
    changes: list[StateChange] = []
    with _LOCK:
        for backend in _backends():
            index = _index(backend)
            for alarm in list(backend.alarms.values()):
                if only_due and not _due(index, alarm, at):
                    continue
                change = _evaluate_one(backend, index, alarm, at)
                if change is not None:
                    changes.append(change)
    return changes


def _evaluate_touched(backend: Any, touched: set[tuple[str, str]]) -> None:
    index = _index(backend)
    now = clock.now()
    for alarm in list(backend.alarms.values()):
        try:
            watched = _watched(alarm)
        except UnsupportedAlarmError:
            continue
        if (watched.namespace, watched.name) in touched:
            _evaluate_one(backend, index, alarm, now)


def prune_metric_data(max_age_seconds: float, now: float | None = None) -> int:
    """Drop metric data older than ``max_age_seconds`` from every backend; returns how many.

    CloudWatch keeps data for 15 days; an emulator running for hours with simulated traffic
    would otherwise grow without bound (and moto scans every datum on each query).
    """
    cutoff = (clock.now() if now is None else now) - max_age_seconds
    dropped = 0
    with _LOCK:
        for backend in _backends():
            kept = [d for d in backend.metric_data if _epoch(d.timestamp) >= cutoff]
            dropped += len(backend.metric_data) - len(kept)
            if len(kept) != len(backend.metric_data):
                backend.metric_data = kept
                index = backend.__dict__.get("_smgitops_index")
                if index is not None:  # re-read from scratch, keep the evaluation times
                    index.series.clear()
                    index.consumed = 0
    return dropped


def patch(cls: Any, response_cls: Any) -> None:
    """Install the evaluating behaviour on moto's CloudWatchBackend class (idempotent caller)
    and DescribeAlarms' pages on its response class."""
    cls.put_metric_data = _wrap_put_metric_data(cls.put_metric_data)
    cls.put_metric_alarm = _wrap_put_metric_alarm(cls.put_metric_alarm)
    cls.set_alarm_state = _wrap_set_alarm_state(cls.set_alarm_state)
    cls.get_metric_data = _wrap_get_metric_data(cls.get_metric_data)
    wrapped = _wrap_statistics_for_type(Statistics.get_statistics_for_type)
    setattr(Statistics, "get_statistics_for_type", wrapped)  # noqa: B010 (mypy: method-assign)
    response_cls.describe_alarms = _wrap_describe_alarms(response_cls.describe_alarms)


DESCRIBE_ALARMS_PAGE = 50  # what DescribeAlarms answers without MaxRecords (at most 100)


def _wrap_describe_alarms(original: Callable[..., Any]) -> Callable[..., Any]:
    """DescribeAlarms in pages, as CloudWatch answers: ``MaxRecords`` alarms (default 50),
    by name, and a ``NextToken`` when there are more (moto answers all of them at once).
    The default page size is not in botocore's model: boto/boto#3036, boto/boto3#307."""

    def describe_alarms(self: Any) -> Any:
        result = original(self)
        alarms = sorted(
            [*result.result["MetricAlarms"], *result.result["CompositeAlarms"]],
            key=lambda alarm: str(alarm.name),
        )
        size = int(self._get_param("MaxRecords") or DESCRIBE_ALARMS_PAGE)
        start = int(self._get_param("NextToken") or 0)
        page = alarms[start : start + size]
        result.result["MetricAlarms"] = [a for a in page if a.rule is None]
        result.result["CompositeAlarms"] = [a for a in page if a.rule is not None]
        if start + size < len(alarms):
            result.result["NextToken"] = str(start + size)
        return result

    return describe_alarms


def _wrap_statistics_for_type(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's per-period statistic, with percentiles (moto answers None for ``p99``)."""

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        if is_percentile(stat):
            return statistic([_to_sample(datum) for datum in self.metric_data], stat)
        return original(self, stat)

    return get_statistics_for_type


DAY = 86400


def rounded_start(start: datetime, period: int, now: float) -> datetime:
    """``StartTime`` as CloudWatch rounds it (the ``GetMetricData`` reference): a start less
    than 15 days ago down to the whole minute for a period of 60 seconds or more (to the
    period for 5, 10, 20 or 30; a period of 1, which it does not name, to the second), 15 to
    63 days ago to 5 minutes, older to the hour. moto starts the periods at the exact second,
    so a window that begins inside a minute read less than CloudWatch returns (traffic from
    before a step's start, in the minute that holds it)."""
    epoch = _epoch(start)
    age = now - epoch
    unit = 3600 if age > 63 * DAY else 300 if age > 15 * DAY else min(max(period, 1), 60)
    return datetime.fromtimestamp(epoch // unit * unit, UTC).replace(tzinfo=start.tzinfo)


def _wrap_get_metric_data(original: Callable[..., Any]) -> Callable[..., Any]:
    """GetMetricData from the ``StartTime`` CloudWatch uses (:func:`rounded_start`), without the
    periods whose statistic could not be computed: CloudWatch returns no data point for them
    (moto would return ``None``, which no client can parse)."""

    def get_metric_data(
        self: Any, queries: list[dict[str, Any]], start_time: datetime, *args: Any, **kwargs: Any
    ) -> Any:
        periods = [
            int(q["MetricStat"]["Period"])
            for q in queries
            if isinstance(q.get("MetricStat"), dict) and "Period" in q["MetricStat"]
        ]
        start = rounded_start(start_time, min(periods, default=60), clock.now())
        results = original(self, queries, start, *args, **kwargs)
        for result in results:
            pairs = [
                (stamp, value)
                for stamp, value in zip(result["timestamps"], result["values"], strict=True)
                if value is not None
            ]
            result["timestamps"] = [stamp for stamp, _ in pairs]
            result["values"] = [value for _, value in pairs]
        return results

    return get_metric_data


def _wrap_put_metric_data(original: Callable[..., None]) -> Callable[..., None]:
    def put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        with _LOCK:
            original(self, namespace, metric_data)
            touched = {(namespace, str(m.get("MetricName"))) for m in metric_data}
            _evaluate_touched(self, touched)

    return put_metric_data


def _wrap_put_metric_alarm(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_metric_alarm(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            existing = self.alarms.get(name)
            alarm = original(self, name, *args, **kwargs)
            if existing is not None:
                alarm.state_value = existing.state_value
                alarm.state_reason = existing.state_reason
                alarm.state_reason_data = existing.state_reason_data
                alarm.state_updated_timestamp = existing.state_updated_timestamp
                alarm.history = existing.history
            else:
                alarm.state_value = INSUFFICIENT_DATA
                alarm.state_reason = INITIAL_REASON
                alarm.state_reason_data = "{}"
            index = _index(self)
            index.last_evaluated.pop(name, None)
            _evaluate_one(self, index, alarm, clock.now())
            return alarm

    return put_metric_alarm


def _wrap_set_alarm_state(original: Callable[..., None]) -> Callable[..., None]:
    def set_alarm_state(
        self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str
    ) -> None:
        with _LOCK:
            alarm = self.alarms.get(alarm_name)
            previous = _state_of(alarm) if alarm is not None else None
            original(self, alarm_name, reason, reason_data, state_value)
            if alarm is not None:
                # the set state holds until the alarm's next scheduled evaluation
                _index(self).last_evaluated[alarm_name] = clock.now()
            if previous is not None and previous.value != state_value:
                if not reason_data:
                    alarm.state_reason_data = json.dumps({})
                _emit(self, alarm, previous)

    return set_alarm_state
