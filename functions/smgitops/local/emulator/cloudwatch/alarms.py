"""CloudWatch metric-alarm evaluation as a pure function (emulator only, never used in AWS).

moto stores alarms and metric data but never evaluates one against the other. This module
reproduces CloudWatch's documented evaluation so an emulated alarm moves between ``OK``,
``ALARM`` and ``INSUFFICIENT_DATA`` from the data put for it:

- data points are the statistic of the samples in each period, periods aligned on multiples of
  ``Period`` seconds since the epoch;
- the alarm looks at an *evaluation range* longer than ``EvaluationPeriods`` (N); the most recent
  N real data points decide when there are enough of them, and missing ones are filled by the
  ``TreatMissingData`` policy only when fewer than N real points exist in the range
  ("CloudWatch uses missing data points only as few times as possible");
- ``DatapointsToAlarm`` (M) of those N must breach for ``ALARM`` (M out of N);
- the "avoiding premature transitions to alarm state" rule for ``missing`` / ``ignore``.

The decision table is :func:`decide`, pinned by the tests to the ten rows of the two tables in
the CloudWatch User Guide ("How alarm state is evaluated when data is missing"). No clock, no
I/O, no moto: the caller passes ``now`` and the samples.
"""

from __future__ import annotations

import json
import math
import operator
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

from smgitops.local.emulator.timestamps import iso_millis

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

StateValue = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
OK: Final = "OK"
ALARM: Final = "ALARM"
INSUFFICIENT_DATA: Final = "INSUFFICIENT_DATA"

TreatMissingData = Literal["missing", "ignore", "breaching", "notBreaching"]
TREAT_MISSING_DATA: Final[tuple[str, ...]] = ("missing", "ignore", "breaching", "notBreaching")

STATISTICS: Final[tuple[str, ...]] = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"^p(100(\.0+)?|\d{1,2}(\.\d+)?)$")


def is_percentile(stat: str) -> bool:
    """``p0`` … ``p100`` (any decimals): an extended statistic this module computes."""
    return _PERCENTILE.match(stat) is not None


# operator, and the words CloudWatch uses in a state reason ("was greater than the threshold").
COMPARISONS: Final[dict[str, tuple[Callable[[float, float], bool], str]]] = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}

# How many periods past N CloudWatch fetches. The documented examples use N=3 with an evaluation
# range of 5; AWS says the exact number depends on the period, so N + 2 is an assumption.
DEFAULT_EXTRA_RANGE: Final = 2


class UnsupportedAlarmError(ValueError):
    """The alarm uses something this evaluator does not reproduce (anomaly bands, metric math)."""


@dataclass(frozen=True)
class Sample:
    """One value put with PutMetricData, or one statistic set (``StatisticValues``)."""

    timestamp: float  # seconds since the epoch, UTC
    sum: float
    count: float
    minimum: float
    maximum: float
    raw: bool = True  # a single value: usable for percentiles
    unit: str | None = None

    @classmethod
    def of(cls, timestamp: float, value: float, unit: str | None = None) -> Sample:
        return cls(timestamp, value, 1.0, value, value, True, unit)

    @classmethod
    def statistic_set(
        cls,
        timestamp: float,
        *,
        total: float,
        count: float,
        minimum: float,
        maximum: float,
        unit: str | None = None,
    ) -> Sample:
        return cls(timestamp, total, count, minimum, maximum, False, unit)


@dataclass(frozen=True)
class AlarmSpec:
    """What of a metric alarm the evaluation needs (field names follow PutMetricAlarm)."""

    period: int
    evaluation_periods: int
    threshold: float
    comparison_operator: str
    statistic: str  # a standard statistic or an extended one such as "p99"
    datapoints_to_alarm: int | None = None
    treat_missing_data: str | None = None
    unit: str | None = None
    evaluation_range: int | None = None

    def __post_init__(self) -> None:
        if self.comparison_operator not in COMPARISONS:
            raise UnsupportedAlarmError(
                f"comparison operator {self.comparison_operator} is not evaluated"
            )
        if self.statistic not in STATISTICS and not is_percentile(self.statistic):
            raise UnsupportedAlarmError(f"statistic {self.statistic} is not evaluated")
        if self.period <= 0 or self.evaluation_periods <= 0:
            raise UnsupportedAlarmError("period and evaluation periods must be positive")
        if self.treat_missing_data not in (None, *TREAT_MISSING_DATA):
            raise UnsupportedAlarmError(f"TreatMissingData {self.treat_missing_data} is unknown")

    @property
    def m(self) -> int:
        return self.datapoints_to_alarm or self.evaluation_periods

    @property
    def n(self) -> int:
        return self.evaluation_periods

    @property
    def treat(self) -> str:
        return self.treat_missing_data or "missing"

    @property
    def range_size(self) -> int:
        return max(self.evaluation_range or self.n + DEFAULT_EXTRA_RANGE, self.n)

    def breaches(self, value: float) -> bool:
        compare, _ = COMPARISONS[self.comparison_operator]
        return compare(value, self.threshold)


@dataclass(frozen=True)
class Datapoint:
    """The statistic of one period; ``value`` is None when the period has no data."""

    start: float
    value: float | None
    sample_count: float = 0.0


@dataclass(frozen=True)
class Decision:
    """The outcome of the M-out-of-N table for a row of breach flags.

    ``state`` None means "retain the current state" (``ignore``). ``used`` holds the ages
    (0 = newest period) of the real data points that were evaluated; ``filled`` how many
    missing ones were filled in, and ``filled_breaching`` how they were treated.
    """

    state: StateValue | None
    used: tuple[int, ...] = ()
    filled: int = 0
    filled_breaching: bool = False
    premature: bool = False


@dataclass(frozen=True)
class Evaluation:
    state: StateValue | None  # None: keep the current state
    reason: str
    reason_data: dict[str, Any] = field(default_factory=dict)


def statistic(samples: Sequence[Sample], stat: str) -> float | None:
    """The statistic of the samples of one period, None when it cannot be computed."""
    if not samples:
        return None
    count = sum(s.count for s in samples)
    if stat == "SampleCount":
        return count
    if stat == "Sum":
        return sum(s.sum for s in samples)
    if stat == "Average":
        return sum(s.sum for s in samples) / count if count else None
    if stat == "Minimum":
        return min(s.minimum for s in samples)
    if stat == "Maximum":
        return max(s.maximum for s in samples)
    return _percentile(samples, float(stat[1:]))


def _percentile(samples: Sequence[Sample], p: float) -> float | None:
    """Nearest-rank percentile of raw values; a statistic set only counts if min == max."""
    values: list[float] = []
    for s in samples:
        if s.raw:
            values.append(s.sum)
        elif s.minimum == s.maximum:
            values.extend([s.minimum] * int(s.count))
        else:
            return None  # CloudWatch cannot compute percentiles from such a set either
    if not values:
        return None
    values.sort()
    rank = max(1, math.ceil(p / 100.0 * len(values)))
    return values[min(rank, len(values)) - 1]


def datapoints(
    samples: Iterable[Sample],
    *,
    period: int,
    stat: str,
    now: float,
    count: int,
    unit: str | None = None,
) -> list[Datapoint]:
    """``count`` data points, oldest first, the newest being the (open) period holding ``now``."""
    newest = math.floor(now / period) * period
    oldest = newest - (count - 1) * period
    buckets: dict[float, list[Sample]] = {}
    for s in samples:
        if unit is not None and s.unit != unit:
            continue
        start = math.floor(s.timestamp / period) * period
        if oldest <= start <= newest:
            buckets.setdefault(start, []).append(s)
    points = []
    for i in range(count):
        start = oldest + i * period
        bucket = buckets.get(start, [])
        points.append(Datapoint(start, statistic(bucket, stat), sum(s.count for s in bucket)))
    return points


def decide(breaches: Sequence[bool | None], m: int, n: int, treat: str) -> Decision:
    """CloudWatch's M-out-of-N decision for the evaluation range, oldest first (None = missing)."""
    real = [(age, b) for age, b in enumerate(reversed(breaches)) if b is not None]
    if len(real) >= n:
        used = real[:n]
        return _threshold([age for age, _ in used], sum(b for _, b in used), m)
    fill = n - len(real)
    breaching = sum(b for _, b in real)
    ages = [age for age, _ in real]
    if treat == "breaching":
        decision = _threshold(ages, breaching + fill, m)
        return Decision(decision.state, decision.used, fill, filled_breaching=True)
    if treat == "notBreaching":
        decision = _threshold(ages, breaching, m)
        return Decision(decision.state, decision.used, fill, filled_breaching=False)
    if not real:
        return Decision(INSUFFICIENT_DATA if treat == "missing" else None)
    if breaching < m and all(b for _, b in real) and real[-1][0] + 1 >= m:
        # "alarms are designed to always go into ALARM state when the oldest available
        # breaching datapoint ... is at least as old as the value of Datapoints to Alarm,
        # and all other more recent data points are breaching or missing."
        return Decision(ALARM if treat == "missing" else None, tuple(ages), premature=True)
    return _threshold(ages, breaching, m)


def _threshold(ages: Sequence[int], breaching: int, m: int) -> Decision:
    return Decision(ALARM if breaching >= m else OK, tuple(ages))


def evaluate(spec: AlarmSpec, samples: Iterable[Sample], now: float) -> Evaluation:
    """Evaluate one alarm at ``now``: the new state with CloudWatch-style reason and data."""
    points = datapoints(
        samples,
        period=spec.period,
        stat=spec.statistic,
        now=now,
        count=spec.range_size,
        unit=spec.unit,
    )
    flags = [None if p.value is None else spec.breaches(p.value) for p in points]
    decision = decide(flags, spec.m, spec.n, spec.treat)
    newest_first = list(reversed(points))
    if decision.state == INSUFFICIENT_DATA or (decision.state is None and not decision.used):
        reason = f"Insufficient Data: {len(points)} datapoints were unknown."
        return Evaluation(decision.state, reason, _reason_data(spec, now, [], newest_first))
    used = sorted((newest_first[age] for age in decision.used), key=lambda p: p.start)
    filled = [p for p in newest_first if p.value is None][: decision.filled]
    evaluated = sorted([*used, *filled], key=lambda p: p.start, reverse=True)
    reason = _threshold_reason(spec, decision.state or ALARM, used, decision)
    return Evaluation(decision.state, reason, _reason_data(spec, now, used, evaluated))


def _threshold_reason(
    spec: AlarmSpec, state: StateValue, used: Sequence[Datapoint], decision: Decision
) -> str:
    _, words = COMPARISONS[spec.comparison_operator]
    alarm = state == ALARM
    if not used:
        treated = "Breaching" if decision.filled_breaching else "NonBreaching"
        return (
            f"Threshold Crossed: no datapoints were received for {decision.filled} periods and "
            f"{decision.filled} missing datapoints were treated as [{treated}]."
        )
    matching = [p for p in used if p.value is not None and spec.breaches(p.value) == alarm]
    count = len(matching)
    if decision.filled and decision.filled_breaching == alarm:
        count += decision.filled
    total = len(used) + decision.filled
    listed = ", ".join(f"{java_double(p.value or 0.0)} ({_reason_time(p.start)})" for p in matching)
    verb = "was" if count == 1 else "were"
    minimum = spec.m if alarm else spec.n - spec.m + 1
    transition = "OK -> ALARM" if alarm else "ALARM -> OK"
    reason = (
        f"Threshold Crossed: {count} out of the last {total} datapoints [{listed}] {verb} "
        f"{'' if alarm else 'not '}{words} the threshold ({java_double(spec.threshold)}) "
        f"(minimum {minimum} datapoint{'' if minimum == 1 else 's'} for {transition} transition)."
    )
    if decision.filled:
        treated = "Breaching" if decision.filled_breaching else "NonBreaching"
        reason += f" {decision.filled} missing datapoint(s) were treated as [{treated}]."
    return reason


def _reason_data(
    spec: AlarmSpec,
    now: float,
    recent: Sequence[Datapoint],
    evaluated_newest_first: Sequence[Datapoint],
) -> dict[str, Any]:
    data: dict[str, Any] = {"version": "1.0", "queryDate": iso_millis(now)}
    if recent:
        data["startDate"] = iso_millis(recent[0].start)
    key = "statistic" if spec.statistic in STATISTICS else "extendedStatistic"
    data[key] = spec.statistic
    if spec.unit:
        data["unit"] = spec.unit
    data["period"] = spec.period
    data["recentDatapoints"] = [p.value for p in recent if p.value is not None]
    data["threshold"] = float(spec.threshold)
    evaluated = []
    for p in evaluated_newest_first:
        entry: dict[str, Any] = {"timestamp": iso_millis(p.start)}
        if p.value is not None:
            entry["sampleCount"] = float(p.sample_count)
            entry["value"] = p.value
        evaluated.append(entry)
    data["evaluatedDatapoints"] = evaluated
    return data


def _reason_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%d/%m/%y %H:%M:%S")


def java_double(value: float) -> str:
    """Format like Java's Double.toString, as CloudWatch's reasons do (50.0, 1.0E7, 1.0E-4)."""
    value = float(value)
    if value == 0 or not math.isfinite(value) or 1e-3 <= abs(value) < 1e7:
        return repr(value)
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple))
    significant = digits.rstrip("0") or "0"
    power = len(digits) - 1 + int(exponent)
    return f"{'-' if sign else ''}{significant[0]}.{significant[1:] or '0'}E{power}"


def dumps_reason_data(data: dict[str, Any]) -> str:
    """StateReasonData as CloudWatch stores it: compact JSON."""
    return json.dumps(data, separators=(",", ":"))
