"""Percentile checks end to end on the emulator: a model whose tail latency regresses while its
average holds is rolled back by a p99 check, and an average check on the same traffic passes it.

The candidate answers most requests faster than the stable model and 5 % of them ten times
slower (``SMGITOPS_SIM_TAIL_*``), so the two averages are the same to within a few per cent
while the candidate's p99 is about four times the stable one's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from smgitops import clock
from smgitops.aws.checks import Analysis
from smgitops.aws.metrics import MetricQuery, VariantMetrics
from smgitops.local.emulator import evaluate_alarms, simulate_traffic
from smgitops.local.emulator.traffic import TrafficReport
from smgitops.rollout import naming
from smgitops.rollout.status import Phase
from tests.builders import declaration
from tests.integration.conftest import Engine

NAME = "churn-predictor"
C1, C2 = "1" * 40, "2" * 40
# stable: the default 20 ms mean. Candidate: 95 % at ~10.5 ms and 5 % at ~200 ms, mean ~20 ms.
TAIL = {
    "SMGITOPS_SIM_LATENCY_MS": "10.5",
    "SMGITOPS_SIM_TAIL_PERCENT": "5",
    "SMGITOPS_SIM_TAIL_LATENCY_MS": "200",
}
P99_CHECK = {"metric": "ModelLatency", "statistic": "p99", "max": 150_000}  # 150 ms
AVERAGE_CHECK = {"metric": "ModelLatency", "statistic": "Average", "max": 30_000}  # 1.5 × stable


def _mean_latency_ms(report: TrafficReport, variant: str) -> float:
    return report.variants[variant].mean_latency_us / 1000


def test_get_metric_data_computes_each_periods_percentile(engine: Engine) -> None:
    """CloudWatch computes percentiles from the raw values of each period (moto answers none)."""
    start = (int(clock.now()) // 3600) * 3600 - 3600
    dims = [{"Name": "EndpointName", "Value": NAME}, {"Name": "VariantName", "Value": "v"}]
    values = [float(v) for v in range(1, 101)]  # 1..100 in the first minute

    def datum(minute: int, **value: Any) -> dict[str, Any]:
        at = dt.datetime.fromtimestamp(start + 60 * minute + 5, dt.UTC)
        return {"MetricName": "ModelLatency", "Dimensions": dims, "Timestamp": at, **value}

    engine.cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            datum(0, Values=values),
            datum(1, Value=7.0),
            # a statistic set with different minimum and maximum: no percentile can be computed
            datum(2, StatisticValues={"SampleCount": 2, "Sum": 3, "Minimum": 1, "Maximum": 2}),
        ],
    )

    def read(stat: str) -> list[float]:
        out = engine.cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "q",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SageMaker",
                            "MetricName": "ModelLatency",
                            "Dimensions": dims,
                        },
                        "Period": 60,
                        "Stat": stat,
                    },
                }
            ],
            StartTime=dt.datetime.fromtimestamp(start, dt.UTC),
            EndTime=dt.datetime.fromtimestamp(start + 180, dt.UTC),
            ScanBy="TimestampAscending",
        )
        [result] = out["MetricDataResults"]
        return [float(v) for v in result["Values"]]

    assert read("p99") == [99.0, 7.0]  # nearest rank; the third minute has no data point
    assert read("p50") == [50.0, 7.0]
    assert read("p99.9") == [100.0, 7.0]
    assert read("Average") == [50.5, 7.0, 1.5]


def test_a_p99_alarm_rolls_back_a_tail_regression_that_an_average_alarm_lets_through(
    engine: Engine,
) -> None:
    engine.deploy(declaration(version=1), C1)
    bad = declaration(
        version=2, steps=[50], environment=TAIL,
        analysis={"metrics": [P99_CHECK, AVERAGE_CHECK]},
    )  # fmt: skip
    outcome = engine.start(bad, C2)
    status = engine.to_first_step(NAME, outcome.rollout_id)
    assert status.stable is not None
    candidate, stable = status.candidate.name, status.stable.name
    p99 = naming.alarm_name(NAME, candidate, "ModelLatency", "p99", "AWS/SageMaker")
    average = naming.alarm_name(NAME, candidate, "ModelLatency", "Average", "AWS/SageMaker")
    created = engine.cloudwatch.describe_alarms(AlarmNames=[p99, average])["MetricAlarms"]
    generated = {a["AlarmName"]: a for a in created}
    assert generated[p99]["ExtendedStatistic"] == "p99" and "Statistic" not in generated[p99]
    assert generated[average]["Statistic"] == "Average"

    report = simulate_traffic(NAME, 4000)
    evaluate_alarms(clock.now())

    states = {
        a["AlarmName"]: a["StateValue"]
        for a in engine.cloudwatch.describe_alarms(AlarmNames=[p99, average])["MetricAlarms"]
    }
    assert states == {p99: "ALARM", average: "OK"}, states
    # the averages agree: nothing an average could catch
    assert _mean_latency_ms(report, candidate) == pytest.approx(
        _mean_latency_ms(report, stable), rel=0.15
    )
    assert engine.service.on_alarm(p99, "Threshold Crossed") == [NAME]
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1][0] == Phase.ROLLED_BACK
    final = engine.service.store.get(NAME)
    assert final is not None and p99 in final.reason
    assert engine.weights(NAME) == {stable: 100.0}


def _traffic_per_minute(
    monkeypatch: pytest.MonkeyPatch, since: float, minutes: int, requests: int
) -> TrafficReport:
    """``requests`` simulated requests in each minute of the step, stamped in that minute."""
    total = TrafficReport(NAME)
    for minute in range(minutes):
        monkeypatch.setattr(clock, "now", lambda at=since + 60 * minute + 30: at)
        report = simulate_traffic(NAME, requests)
        for variant, counts in report.variants.items():
            into = total.variants.setdefault(variant, type(counts)())
            into.invocations += counts.invocations
            into.latency_us_total += counts.latency_us_total
    return total


def test_a_p99_comparison_judges_the_tail_worse_while_the_average_comparison_passes(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.service.analysis = Analysis()
    engine.clock.now = float(int(clock.now()) // 60 * 60)
    engine.deploy(declaration(version=1), C1)
    compare = {
        "metrics": [
            {"metric": "ModelLatency", "statistic": "p99", "tolerance": 0.5},
            {"metric": "ModelLatency", "statistic": "Average", "tolerance": 0.5},
        ],
        "minSamples": 50,
    }
    outcome = engine.start(
        declaration(
            version=2, steps=[50], interval="10m", environment=TAIL, analysis={"compare": compare}
        ),
        C2,
    )
    status = engine.to_first_step(NAME, outcome.rollout_id)
    assert status.stable is not None
    candidate, stable = status.candidate.name, status.stable.name
    sent: list[str] = []

    def stats(params: dict[str, Any], **_: Any) -> None:
        sent.extend(query["MetricStat"]["Stat"] for query in params["MetricDataQueries"])

    engine.cloudwatch.meta.events.register("provide-client-params.cloudwatch.GetMetricData", stats)
    report = _traffic_per_minute(monkeypatch, status.step_since, 10, 300)
    assert _mean_latency_ms(report, candidate) == pytest.approx(
        _mean_latency_ms(report, stable), rel=0.15
    )
    engine.clock.now = status.step_since + 600
    result = engine.tick(NAME, outcome.rollout_id)

    assert result.phase == Phase.ROLLING_BACK
    assert result.reason.startswith("judged worse than stable: ModelLatency p99"), result.reason
    assert "p99" in sent and "Average" in sent  # GetMetricData's Stat takes the percentile
    [judged] = [r.details["judgement"] for r in engine.service.store.history(NAME)
                if "judgement" in r.details]  # fmt: skip
    verdicts = {j["metric"]: j for j in judged["judgements"]}
    assert verdicts["ModelLatency p99"]["verdict"] == "fail"
    assert verdicts["ModelLatency p99"]["effect"] > 1.5  # the tail: ~4 × stable's p99
    assert verdicts["ModelLatency Average"]["verdict"] == "pass"  # an average sees nothing
    assert verdicts["ModelLatency Average"]["samplesCandidate"] >= 8


def test_the_adapter_reads_a_percentile_per_variant_and_period(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.deploy(declaration(version=1), C1)
    outcome = engine.start(declaration(version=2, steps=[50], environment=TAIL), C2)
    status = engine.to_first_step(NAME, outcome.rollout_id)
    assert status.stable is not None
    since = float(int(clock.now()) // 60 * 60)
    _traffic_per_minute(monkeypatch, since, 4, 400)
    read = VariantMetrics().read(
        NAME,
        [status.candidate.name, status.stable.name],
        [MetricQuery("ModelLatency", "p99"), MetricQuery("ModelLatency", "Average")],
        start=since,
        end=since + 240,
    )
    candidate = read[status.candidate.name].metrics[("ModelLatency", "p99")]
    stable = read[status.stable.name].metrics[("ModelLatency", "p99")]
    assert len(candidate) == len(stable) == 4
    assert min(candidate.values()) > 2 * max(stable.values())  # every minute's tail is worse
