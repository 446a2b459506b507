"""The emulator's alarm evaluation against CloudWatch's documented semantics.

The two tables are transcribed from the CloudWatch User Guide, "How alarm state is evaluated
when data is missing": 5-point evaluation range, most recent point on the right, 0 = not
breaching, X = breaching, - = missing. None in the expectations means "retain current state".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smgitops.local.emulator.cloudwatch.alarms import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    AlarmSpec,
    Sample,
    UnsupportedAlarmError,
    datapoints,
    decide,
    dumps_reason_data,
    evaluate,
    java_double,
    statistic,
)

TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")

# (data points, MISSING, IGNORE, BREACHING, NOT BREACHING) with M = N = 3
THREE_OF_THREE = [
    ("0 - X - X", OK, OK, OK, OK),
    ("0 - - - -", OK, OK, OK, OK),
    ("- - - - -", INSUFFICIENT_DATA, None, ALARM, OK),
    ("0 X X - X", ALARM, ALARM, ALARM, ALARM),
    ("- - X - -", ALARM, None, ALARM, OK),
]
# M = 2, N = 3
TWO_OF_THREE = [
    ("0 - X - X", ALARM, ALARM, ALARM, ALARM),
    ("0 0 X 0 X", ALARM, ALARM, ALARM, ALARM),
    ("0 - X - -", OK, OK, ALARM, OK),
    ("- - - - 0", OK, OK, ALARM, OK),
    ("- - - X -", ALARM, None, ALARM, OK),
]


def flags(row: str) -> list[bool | None]:
    return [None if c == "-" else c == "X" for c in row.split()]


@pytest.mark.parametrize(
    ("m", "row", "expected"),
    [
        *[(3, r[0], r[1:]) for r in THREE_OF_THREE],
        *[(2, r[0], r[1:]) for r in TWO_OF_THREE],
    ],
)
def test_decide_reproduces_the_documented_tables(
    m: int, row: str, expected: tuple[str | None, ...]
) -> None:
    got = tuple(decide(flags(row), m, 3, treat).state for treat in TREATMENTS)
    assert got == expected


def test_premature_alarm_needs_the_breach_to_be_old_enough() -> None:
    # "the alarm does not go immediately into ALARM state when the data is ... - - - X -"
    assert decide(flags("- - - X -"), 3, 3, "missing").state == OK
    assert decide(flags("- - X - -"), 3, 3, "missing").premature


def test_filled_points_are_used_only_as_few_times_as_possible() -> None:
    decision = decide(flags("0 - - X -"), 2, 3, "breaching")
    assert decision.filled == 1  # two real points + one filled
    assert decision.state == ALARM  # X + one filled breaching = 2


@given(st.lists(st.booleans(), min_size=5, max_size=5), st.integers(1, 3))
def test_without_missing_data_the_last_n_decide(row: list[bool], m: int) -> None:
    expected = ALARM if sum(row[-3:]) >= m else OK
    for treat in TREATMENTS:
        assert decide(list(row), m, 3, treat).state == expected


@pytest.mark.parametrize(
    ("operator", "at", "above", "below"),
    [
        ("GreaterThanThreshold", False, True, False),
        ("GreaterThanOrEqualToThreshold", True, True, False),
        ("LessThanThreshold", False, False, True),
        ("LessThanOrEqualToThreshold", True, False, True),
    ],
)
def test_comparison_operators(operator: str, at: bool, above: bool, below: bool) -> None:
    spec = AlarmSpec(60, 1, 10.0, operator, "Sum")
    assert (spec.breaches(10.0), spec.breaches(10.5), spec.breaches(9.5)) == (at, above, below)


def test_anomaly_detection_operators_are_not_evaluated() -> None:
    with pytest.raises(UnsupportedAlarmError):
        AlarmSpec(60, 1, 0.0, "LessThanLowerOrGreaterThanUpperThreshold", "Average")
    with pytest.raises(UnsupportedAlarmError):
        AlarmSpec(60, 1, 0.0, "GreaterThanThreshold", "tm99")


SAMPLES = [Sample.of(0.0, float(v)) for v in range(1, 11)]  # 1..10


@pytest.mark.parametrize(
    ("stat", "expected"),
    [
        ("Sum", 55.0),
        ("Average", 5.5),
        ("Minimum", 1.0),
        ("Maximum", 10.0),
        ("SampleCount", 10.0),
        ("p50", 5.0),
        ("p90", 9.0),
        ("p99", 10.0),
        ("p100", 10.0),
    ],
)
def test_statistics_of_single_values(stat: str, expected: float) -> None:
    assert statistic(SAMPLES, stat) == expected


def test_statistic_sets_count_their_samples() -> None:
    samples = [
        Sample.statistic_set(0.0, total=30.0, count=3.0, minimum=5.0, maximum=15.0),
        Sample.of(0.0, 10.0),
    ]
    assert statistic(samples, "Average") == 10.0
    assert statistic(samples, "SampleCount") == 4.0
    assert statistic(samples, "Maximum") == 15.0
    assert statistic(samples, "p50") is None  # percentiles need the values
    uniform = [Sample.statistic_set(0.0, total=8.0, count=4.0, minimum=2.0, maximum=2.0)]
    assert statistic(uniform, "p99") == 2.0


def test_datapoints_are_aligned_periods_ending_with_the_open_one() -> None:
    now = 1_000_000_000.0 + 130.0  # 10 s into a 60 s period
    base = 1_000_000_000.0 + 120.0 - 1_000_000_000.0 % 60
    samples = [Sample.of(now - 5, 3.0), Sample.of(now - 65, 1.0), Sample.of(now - 65, 2.0)]
    points = datapoints(samples, period=60, stat="Sum", now=now, count=3)
    assert [p.start for p in points] == [base - 120, base - 60, base]
    assert [p.value for p in points] == [None, 3.0, 3.0]
    assert points[1].sample_count == 2.0


def test_datapoints_filter_by_unit_when_the_alarm_has_one() -> None:
    samples = [Sample.of(0.0, 1.0, "Count"), Sample.of(0.0, 100.0, "Microseconds")]
    points = datapoints(samples, period=60, stat="Sum", now=1.0, count=1, unit="Count")
    assert points[0].value == 1.0


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_m_out_of_n_alarm_reason_lists_the_breaching_datapoints() -> None:
    spec = AlarmSpec(60, 3, 5.0, "GreaterThanThreshold", "Sum", datapoints_to_alarm=2)
    samples = [
        Sample.of(at("2026-03-14T10:30:10"), 7.0),
        Sample.of(at("2026-03-14T10:31:10"), 1.0),
        Sample.of(at("2026-03-14T10:32:10"), 9.0),
    ]
    result = evaluate(spec, samples, at("2026-03-14T10:32:40"))
    assert result.state == ALARM
    assert result.reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints [7.0 (14/03/26 10:30:00), "
        "9.0 (14/03/26 10:32:00)] were greater than the threshold (5.0) "
        "(minimum 2 datapoints for OK -> ALARM transition)."
    )
    data = result.reason_data
    assert data["recentDatapoints"] == [7.0, 1.0, 9.0]
    assert data["startDate"] == "2026-03-14T10:30:00.000+0000"
    assert data["queryDate"] == "2026-03-14T10:32:40.000+0000"
    newest = data["evaluatedDatapoints"][0]
    assert newest == {"timestamp": "2026-03-14T10:32:00.000+0000", "sampleCount": 1.0, "value": 9.0}
    assert json.loads(dumps_reason_data(data)) == data


def test_ok_reason_and_transition_minimum() -> None:
    spec = AlarmSpec(60, 3, 100.0, "LessThanThreshold", "Average", datapoints_to_alarm=2)
    samples = [Sample.of(at(f"2026-03-14T10:3{i}:05"), 150.0) for i in range(3)]
    result = evaluate(spec, samples, at("2026-03-14T10:32:30"))
    assert result.state == OK
    assert "3 out of the last 3 datapoints" in result.reason
    assert "were not less than the threshold (100.0)" in result.reason
    assert "(minimum 2 datapoints for ALARM -> OK transition)" in result.reason


def test_no_data_is_insufficient_with_missing_and_kept_with_ignore() -> None:
    missing = AlarmSpec(60, 3, 1.0, "GreaterThanThreshold", "Sum")
    result = evaluate(missing, [], at("2026-03-14T10:32:30"))
    assert result.state == INSUFFICIENT_DATA
    assert result.reason == "Insufficient Data: 5 datapoints were unknown."
    assert len(result.reason_data["evaluatedDatapoints"]) == 5
    ignore = AlarmSpec(60, 3, 1.0, "GreaterThanThreshold", "Sum", treat_missing_data="ignore")
    assert evaluate(ignore, [], at("2026-03-14T10:32:30")).state is None


def test_no_data_treated_as_breaching_says_so() -> None:
    spec = AlarmSpec(60, 2, 1.0, "GreaterThanThreshold", "Sum", treat_missing_data="breaching")
    result = evaluate(spec, [], at("2026-03-14T10:32:30"))
    assert result.state == ALARM
    assert result.reason == (
        "Threshold Crossed: no datapoints were received for 2 periods and 2 missing "
        "datapoints were treated as [Breaching]."
    )


def test_data_older_than_the_evaluation_range_is_not_used() -> None:
    spec = AlarmSpec(60, 1, 1.0, "GreaterThanThreshold", "Sum")  # range: 3 periods
    old = [Sample.of(at("2026-03-14T10:28:30"), 50.0)]
    assert evaluate(spec, old, at("2026-03-14T10:30:30")).state == ALARM
    assert evaluate(spec, old, at("2026-03-14T10:31:30")).state == INSUFFICIENT_DATA


def test_extended_statistic_is_named_as_such_in_reason_data() -> None:
    spec = AlarmSpec(60, 1, 200.0, "GreaterThanThreshold", "p90")
    samples = [Sample.of(at("2026-03-14T10:30:01"), float(v)) for v in range(100, 400, 10)]
    result = evaluate(spec, samples, at("2026-03-14T10:30:30"))
    assert result.state == ALARM
    assert result.reason_data["extendedStatistic"] == "p90"
    assert "statistic" not in result.reason_data


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (50.0, "50.0"),
        (99.50160229693434, "99.50160229693434"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (0.0001, "1.0E-4"),
        (250000, "250000.0"),
    ],
)
def test_numbers_are_formatted_like_cloudwatch(value: float, text: str) -> None:
    assert java_double(value) == text
