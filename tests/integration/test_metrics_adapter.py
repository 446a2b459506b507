"""GetMetricData per variant against moto: whole periods, both variants in one call, Invocations,
and the comparison built on what was read. (Percentiles: test_percentile_checks.py.)"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from moto import mock_aws

from smgitops.aws.metrics import MetricQuery, VariantMetrics, queries_for, whole_periods
from smgitops.declaration.safeguards import CompareSpec
from smgitops.rollout.analysis import compare_step
from tests.support.emulator import client

ENDPOINT = "churn-predictor"
PERIOD = 60
# A window of 12 whole minutes that ended a few minutes ago (CloudWatch keeps recent data).
START = (int(time.time()) // 3600) * 3600 - 3600
END = START + 12 * PERIOD


def put(cw: Any, variant: str, metric: str, minute: int, value: float, **extra: Any) -> None:
    cw.put_metric_data(
        Namespace=extra.get("namespace", "AWS/SageMaker"),
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "EndpointName", "Value": extra.get("endpoint", ENDPOINT)},
                    {"Name": "VariantName", "Value": variant},
                ],
                "Timestamp": datetime.fromtimestamp(START + minute * PERIOD + 5, UTC),
                "Value": value,
            }
        ],
    )


@pytest.fixture
def cloudwatch() -> Any:
    with mock_aws():
        yield client("cloudwatch")


def test_reads_each_variant_per_period_with_its_invocations(cloudwatch: Any) -> None:
    for minute in range(12):
        put(cloudwatch, "stable", "ModelLatency", minute, 100.0 + minute % 3)
        put(cloudwatch, "stable", "ModelLatency", minute, 102.0 + minute % 3)  # averaged
        put(cloudwatch, "stable", "Invocations", minute, 40.0)
        put(cloudwatch, "candidate", "ModelLatency", minute, 120.0 + minute % 4)
        put(cloudwatch, "candidate", "Invocations", minute, 10.0)
        put(cloudwatch, "candidate", "Invocation5XXErrors", minute, float(minute % 2))
    put(cloudwatch, "candidate", "CPUUtilization", 3, 87.5, namespace="/aws/sagemaker/Endpoints")
    put(cloudwatch, "candidate", "ModelLatency", 2, 9999.0, endpoint="another-endpoint")
    queries = [
        MetricQuery("ModelLatency", "Average"),
        MetricQuery("Invocation5XXErrors", "Sum"),
        MetricQuery("CPUUtilization", "Maximum"),
    ]

    read = VariantMetrics().read(
        ENDPOINT, ["candidate", "stable"], queries, start=START, end=END, period=PERIOD
    )

    stable, candidate = read["stable"], read["candidate"]
    minutes = [float(START + m * PERIOD) for m in range(12)]
    assert sorted(stable.metrics[("ModelLatency", "Average")]) == minutes
    assert stable.metrics[("ModelLatency", "Average")][minutes[1]] == 102.0  # (101 + 103) / 2
    assert candidate.metrics[("ModelLatency", "Average")][minutes[2]] == 122.0  # not 9999
    assert stable.total_invocations == 480.0
    assert candidate.total_invocations == 120.0
    assert candidate.metrics[("Invocation5XXErrors", "Sum")][minutes[3]] == 1.0
    assert stable.metrics[("Invocation5XXErrors", "Sum")] == {}
    assert candidate.metrics[("CPUUtilization", "Maximum")] == {minutes[3]: 87.5}

    spec = CompareSpec.model_validate(
        {
            "metrics": [
                {"metric": "ModelLatency", "tolerance": 0.1},
                {"metric": "Invocation5XXErrors", "perInvocation": True, "tolerance": 0.0},
            ],
            "minSamples": 100,
        }
    )
    step = compare_step(spec, candidate, stable, extensions=0)
    assert step.verdict == "fail"  # 20 % slower and erroring, with 120 and 480 invocations
    assert {j.metric: j.verdict for j in step.judgements} == {
        "ModelLatency Average": "fail",
        "Invocation5XXErrors per invocation": "fail",
    }
    too_few = compare_step(spec.model_copy(update={"min_samples": 500}), candidate, stable, 0)
    assert too_few.verdict == "extend"


def test_only_whole_periods_inside_the_window(cloudwatch: Any) -> None:
    for minute in range(12):
        put(cloudwatch, "candidate", "Invocations", minute, 1.0)
    read = VariantMetrics().read(
        ENDPOINT, ["candidate"], [], start=START + 30, end=END - 30, period=PERIOD
    )
    stamps = sorted(read["candidate"].invocations)
    assert stamps[0] == START + PERIOD  # the minute the step began in is partial: left out
    assert stamps[-1] == END - 2 * PERIOD  # the minute still being aggregated: left out
    assert len(stamps) == 10
    empty = VariantMetrics().read(ENDPOINT, ["candidate"], [], start=START + 1, end=START + 59)
    assert empty["candidate"].invocations == {}


def test_a_window_read_as_given_keeps_the_minute_that_holds_its_start(cloudwatch: Any) -> None:
    """The traffic of a step (``whole=False``): CloudWatch rounds the StartTime down to the
    minute, and the emulator with it, so a datapoint earlier in the minute that holds the start
    is read. That is why the traffic floor counts from the first minute begun within a step
    (``traffic_window_start``)."""
    put(cloudwatch, "candidate", "Invocations", 0, 7.0)  # at START + 5
    read = VariantMetrics().read(
        ENDPOINT, ["candidate"], [], start=START + 2.5, end=START + 20, whole=False
    )
    assert read["candidate"].invocations == {float(START): 7.0}
    before = VariantMetrics().read(
        ENDPOINT, ["candidate"], [], start=START + 6.5, end=START + 20, whole=False
    )
    assert before["candidate"].total_invocations == 7.0  # before the window, in its minute
    later = VariantMetrics().read(
        ENDPOINT, ["candidate"], [], start=START + 60, end=START + 80, whole=False
    )
    assert later["candidate"].total_invocations == 0.0


def test_many_queries_are_split_into_calls_of_500(cloudwatch: Any) -> None:
    variants = [f"v{i}" for i in range(3)]
    for variant in variants:
        put(cloudwatch, variant, "M199", 4, 7.0)
    queries = [MetricQuery(f"M{i}", "Sum") for i in range(200)]  # 3 × 201 = 603 queries
    sizes: list[int] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        sizes.append(len(params["MetricDataQueries"]))

    cloudwatch.meta.events.register("provide-client-params.cloudwatch.GetMetricData", count)
    read = VariantMetrics(cloudwatch).read(ENDPOINT, variants, queries, start=START, end=END)
    assert sizes == [500, 103]
    assert all(read[v].metrics[("M199", "Sum")] == {START + 4.0 * PERIOD: 7.0} for v in variants)


@pytest.mark.parametrize("statistic", ["p100", "median", "tm90"])
def test_a_statistic_outside_the_checks_is_refused_before_any_call(statistic: str) -> None:
    with pytest.raises(ValueError, match=r"or a percentile p50…p99\.9"):
        MetricQuery("ModelLatency", statistic)


def test_queries_for_a_compare_spec() -> None:
    spec = CompareSpec.model_validate(
        {
            "metrics": [
                {"metric": "ModelLatency"},
                {"metric": "Invocation5XXErrors", "perInvocation": True},
                {"metric": "CPUUtilization", "statistic": "Maximum"},
            ]
        }
    )
    queries = queries_for(spec)
    assert [(q.metric, q.statistic) for q in queries] == [
        ("ModelLatency", "Average"),
        ("Invocation5XXErrors", "Sum"),
        ("CPUUtilization", "Maximum"),
    ]
    assert queries[2].resolved_namespace == "/aws/sagemaker/Endpoints"
    assert whole_periods(61, 179, 60) is None


@pytest.mark.parametrize(
    ("start", "end"),
    [(START + 60.0, START + 60.4), (START + 62.2, START + 62.9)],
    ids=["just-after-a-minute", "inside-one-second"],
)
def test_a_window_inside_one_second_reads_nothing_and_asks_nothing(
    cloudwatch: Any, start: float, end: float
) -> None:
    """CloudWatch reads timestamps in whole seconds, and refuses a StartTime equal to the
    EndTime (ValidationError "The parameter StartTime must not equal parameter EndTime.", as
    moto does). The traffic floor asks for such a window when a step ends within a second of
    crossing a minute: nothing can have been published in it, so nothing is asked."""
    put(cloudwatch, "candidate", "Invocations", 1, 7.0)  # at START + 65
    calls: list[str] = []
    cloudwatch.meta.events.register(
        "provide-client-params.cloudwatch.GetMetricData", lambda **_: calls.append("call")
    )
    read = VariantMetrics(cloudwatch).read(
        ENDPOINT, ["candidate"], [], start=start, end=end, whole=False
    )
    assert read["candidate"].total_invocations == 0.0
    assert calls == []
    later = VariantMetrics(cloudwatch).read(
        ENDPOINT, ["candidate"], [], start=start, end=START + 120, whole=False
    )
    assert later["candidate"].total_invocations == 7.0  # the same window, once it is longer
    assert calls == ["call"]
