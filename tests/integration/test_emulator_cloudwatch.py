"""Emulated CloudWatch alarms: evaluation from metric data and state change events."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from smgitops.local.emulator import (
    deliveries,
    emulated_aws,
    evaluate_alarms,
    register_target,
    wait_for_deliveries,
)
from smgitops.local.emulator.cloudwatch.backend import prune_metric_data
from tests.support.emulator import ABORT_ARN, ACCOUNT, REGION, client

if TYPE_CHECKING:
    from collections.abc import Iterator

DIMENSIONS = [
    {"Name": "EndpointName", "Value": "churn-predictor"},
    {"Name": "VariantName", "Value": "candidate"},
]
ABORT_PATTERN = {
    "source": ["aws.cloudwatch"],
    "detail-type": ["CloudWatch Alarm State Change"],
    "detail": {"state": {"value": ["ALARM"]}},
}


class Recorder:
    """A target callable that records events and when they arrived."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.arrived: list[float] = []
        self.received = threading.Event()

    def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self.arrived.append(time.monotonic())
        self.received.set()


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with emulated_aws():
        yield {
            "cw": client("cloudwatch"),
            "events": client("events"),
            "sqs": client("sqs"),
        }


def put_alarm(cw: Any, name: str = "churn-5xx-rate", **overrides: Any) -> None:
    params: dict[str, Any] = {
        "AlarmName": name,
        "Namespace": "AWS/SageMaker",
        "MetricName": "Invocation5XXErrors",
        "Dimensions": DIMENSIONS,
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    params.update(overrides)
    cw.put_metric_alarm(**{k: v for k, v in params.items() if v is not None})


def put_errors(cw: Any, value: float, when: datetime | None = None, **extra: Any) -> None:
    datum: dict[str, Any] = {
        "MetricName": "Invocation5XXErrors",
        "Dimensions": DIMENSIONS,
        "Value": value,
        **extra,
    }
    if when is not None:
        datum["Timestamp"] = when
    cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=[datum])


def alarm(cw: Any, name: str = "churn-5xx-rate") -> dict[str, Any]:
    found: dict[str, Any] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return found


def abort_rule(events: Any, pattern: dict[str, Any] | None = None, arn: str = ABORT_ARN) -> None:
    events.put_rule(Name="smgitops-abort", EventPattern=json.dumps(pattern or ABORT_PATTERN))
    events.put_targets(Rule="smgitops-abort", Targets=[{"Id": "abort", "Arn": arn}])


def test_a_new_alarm_has_insufficient_data(aws: dict[str, Any]) -> None:
    put_alarm(aws["cw"])
    found = alarm(aws["cw"])
    assert found["StateValue"] == "INSUFFICIENT_DATA"
    assert found["StateReason"] == "Unchecked: Initial alarm creation"


def test_metric_data_moves_the_alarm_to_alarm_and_back_to_ok(aws: dict[str, Any]) -> None:
    cw = aws["cw"]
    put_alarm(cw)
    put_errors(cw, 9.0)
    found = alarm(cw)
    assert found["StateValue"] == "ALARM"
    assert found["StateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [9.0")
    assert json.loads(found["StateReasonData"])["recentDatapoints"] == [9.0]

    later = datetime.now(UTC) + timedelta(minutes=2)
    put_errors(cw, 0.0, later)
    assert alarm(cw)["StateValue"] == "ALARM"  # still the open period for the real clock
    changes = evaluate_alarms(later)
    assert [(c.alarm_name, c.previous, c.current) for c in changes] == [
        ("churn-5xx-rate", "ALARM", "OK")
    ]
    assert alarm(cw)["StateValue"] == "OK"
    assert "was not greater than the threshold (5.0)" in alarm(cw)["StateReason"]


def test_m_out_of_n_needs_m_breaching_periods(aws: dict[str, Any]) -> None:
    cw = aws["cw"]
    put_alarm(cw, EvaluationPeriods=3, DatapointsToAlarm=2, TreatMissingData="notBreaching")
    now = datetime.now(UTC)
    put_errors(cw, 9.0, now - timedelta(minutes=2))
    evaluate_alarms(now)
    assert alarm(cw)["StateValue"] == "OK"  # 1 of 3
    put_errors(cw, 9.0, now)
    evaluate_alarms(now)
    assert alarm(cw)["StateValue"] == "ALARM"  # 2 of 3
    assert "2 out of the last 3 datapoints" in alarm(cw)["StateReason"]


def test_missing_data_treatments_apply_when_data_stops(aws: dict[str, Any]) -> None:
    cw = aws["cw"]
    for treatment in ("missing", "ignore", "breaching", "notBreaching"):
        put_alarm(cw, f"a-{treatment}", TreatMissingData=treatment)
    put_errors(cw, 9.0)
    later = datetime.now(UTC) + timedelta(minutes=10)
    evaluate_alarms(later)
    states = {a["AlarmName"]: a["StateValue"] for a in cw.describe_alarms()["MetricAlarms"]}
    assert states == {
        "a-missing": "INSUFFICIENT_DATA",
        "a-ignore": "ALARM",
        "a-breaching": "ALARM",
        "a-notBreaching": "OK",
    }


def test_percentile_alarm_on_latency(aws: dict[str, Any]) -> None:
    cw = aws["cw"]
    put_alarm(
        cw,
        "churn-latency-p90",
        MetricName="ModelLatency",
        Statistic=None,
        ExtendedStatistic="p90",
        Threshold=250000.0,
    )
    values = [100000.0] * 9 + [400000.0]
    cw.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[{"MetricName": "ModelLatency", "Dimensions": DIMENSIONS, "Values": values}],
    )
    assert alarm(cw, "churn-latency-p90")["StateValue"] == "OK"  # p90 = 100000
    cw.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[{"MetricName": "ModelLatency", "Dimensions": DIMENSIONS, "Value": 400000.0}],
    )
    assert alarm(cw, "churn-latency-p90")["StateValue"] == "ALARM"


def test_other_dimensions_do_not_count(aws: dict[str, Any]) -> None:
    cw = aws["cw"]
    put_alarm(cw)
    cw.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {"MetricName": "Invocation5XXErrors", "Dimensions": DIMENSIONS[:1], "Value": 99.0}
        ],
    )
    assert alarm(cw)["StateValue"] == "INSUFFICIENT_DATA"


def test_reputting_an_alarm_keeps_its_state(aws: dict[str, Any]) -> None:
    cw = aws["cw"]
    put_alarm(cw)
    put_errors(cw, 9.0)
    put_alarm(cw, Threshold=100.0, TreatMissingData="ignore")
    found = alarm(cw)
    assert (found["StateValue"], found["Threshold"]) == ("OK", 100.0)


def test_state_change_reaches_a_matching_target_within_a_second(aws: dict[str, Any]) -> None:
    recorder = Recorder()
    register_target(ABORT_ARN, recorder)
    abort_rule(aws["events"])
    put_alarm(aws["cw"])
    sent = time.monotonic()
    put_errors(aws["cw"], 9.0)
    assert recorder.received.wait(1.0)
    assert recorder.arrived[0] - sent < 1.0
    event = recorder.events[0]
    assert event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["resources"] == [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:churn-5xx-rate"]
    assert event["detail"]["previousState"]["value"] == "INSUFFICIENT_DATA"
    assert event["detail"]["state"]["value"] == "ALARM"
    metric = event["detail"]["configuration"]["metrics"][0]["metricStat"]
    assert metric["metric"]["dimensions"] == {
        "EndpointName": "churn-predictor",
        "VariantName": "candidate",
    }
    assert [d.ok for d in deliveries()] == [True]


def test_non_matching_changes_and_rules_deliver_nothing(aws: dict[str, Any]) -> None:
    recorder, other = Recorder(), Recorder()
    register_target(ABORT_ARN, recorder)
    register_target("arn:aws:lambda:us-east-1:123456789012:function:other", other)
    abort_rule(aws["events"])
    aws["events"].put_rule(
        Name="other-source", EventPattern=json.dumps({"source": ["aws.sagemaker"]})
    )
    aws["events"].put_targets(
        Rule="other-source",
        Targets=[{"Id": "o", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:other"}],
    )
    put_alarm(aws["cw"], TreatMissingData="notBreaching")  # INSUFFICIENT_DATA -> OK
    assert wait_for_deliveries(1.0)
    assert recorder.events == []
    assert other.events == []


def test_disabled_rules_deliver_nothing(aws: dict[str, Any]) -> None:
    recorder = Recorder()
    register_target(ABORT_ARN, recorder)
    abort_rule(aws["events"])
    aws["events"].disable_rule(Name="smgitops-abort")
    put_alarm(aws["cw"])
    put_errors(aws["cw"], 9.0)
    assert wait_for_deliveries(1.0)
    assert recorder.events == []


def test_set_alarm_state_sends_the_event_too(aws: dict[str, Any]) -> None:
    recorder = Recorder()
    register_target(ABORT_ARN, recorder)
    abort_rule(aws["events"])
    put_alarm(aws["cw"])
    aws["cw"].set_alarm_state(
        AlarmName="churn-5xx-rate", StateValue="ALARM", StateReason="drill by the on-call"
    )
    assert recorder.received.wait(1.0)
    assert recorder.events[0]["detail"]["state"]["reason"] == "drill by the on-call"
    assert alarm(aws["cw"])["StateValue"] == "ALARM"


def test_sqs_targets_get_the_event_through_moto(aws: dict[str, Any]) -> None:
    queue = aws["sqs"].create_queue(QueueName="alarms")["QueueUrl"]
    abort_rule(aws["events"], arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:alarms")
    put_alarm(aws["cw"])
    put_errors(aws["cw"], 9.0)
    messages = aws["sqs"].receive_message(QueueUrl=queue)["Messages"]
    body = json.loads(messages[0]["Body"])
    assert body["detail"]["alarmName"] == "churn-5xx-rate"
    assert body["time"].endswith("Z")


def test_put_events_reach_registered_targets_with_an_iso_time(aws: dict[str, Any]) -> None:
    recorder = Recorder()
    register_target(ABORT_ARN, recorder)
    abort_rule(aws["events"], pattern={"source": ["aws.codecommit"]})
    aws["events"].put_events(
        Entries=[{"Source": "aws.codecommit", "DetailType": "push", "Detail": '{"ref": "main"}'}]
    )
    assert recorder.received.wait(1.0)
    event = recorder.events[0]
    assert event["detail"] == {"ref": "main"}
    assert datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")
    assert "ingestion-time" not in event


def test_a_failing_target_is_recorded(aws: dict[str, Any]) -> None:
    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("abort function crashed")

    register_target(ABORT_ARN, broken)
    abort_rule(aws["events"])
    put_alarm(aws["cw"])
    put_errors(aws["cw"], 9.0)
    assert wait_for_deliveries(1.0)
    assert [(d.ok, d.error) for d in deliveries()] == [
        (False, "RuntimeError('abort function crashed')")
    ]


def test_a_set_state_holds_until_the_next_scheduled_evaluation(aws: dict[str, Any]) -> None:
    cw = aws["cw"]
    put_alarm(cw, TreatMissingData="notBreaching")  # evaluates at once: OK
    cw.set_alarm_state(AlarmName="churn-5xx-rate", StateValue="ALARM", StateReason="drill")
    now = time.time()
    assert evaluate_alarms(now + 1, only_due=True) == []
    assert alarm(cw)["StateValue"] == "ALARM"
    changes = evaluate_alarms(now + 61, only_due=True)  # a 60 s alarm is evaluated each minute
    assert [(c.previous, c.current) for c in changes] == [("ALARM", "OK")]


def test_old_metric_data_can_be_pruned(aws: dict[str, Any]) -> None:
    cw = aws["cw"]
    put_alarm(cw)
    put_errors(cw, 9.0, datetime.now(UTC) - timedelta(hours=4))
    put_errors(cw, 1.0)
    assert prune_metric_data(3 * 3600) == 1
    now = datetime.now(UTC)
    left = cw.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Dimensions=DIMENSIONS,
        StartTime=now - timedelta(hours=5),
        EndTime=now + timedelta(minutes=1),
        Period=6 * 3600,
        Statistics=["SampleCount", "Maximum"],
    )["Datapoints"]
    assert [(p["SampleCount"], p["Maximum"]) for p in left] == [(1.0, 1.0)]
    put_errors(cw, 9.0)  # the index was rebuilt: new data still evaluates
    assert alarm(cw)["StateValue"] == "ALARM"


@pytest.mark.parametrize(
    ("age_days", "period", "unit"),
    [(0, 60, 60), (0, 300, 60), (0, 10, 10), (0, 1, 1), (20, 60, 300), (70, 60, 3600)],
)
def test_get_metric_data_rounds_the_start_time_as_cloudwatch_does(
    age_days: int, period: int, unit: int
) -> None:
    """The GetMetricData reference: a StartTime less than 15 days ago is rounded down to the
    whole minute (for a Period of 60 or more; 1, 5, 10, 20 or 30: to that many seconds), 15 to
    63 days ago to 5 minutes, older to the hour. The first period is stamped with it."""
    from smgitops.local.emulator.cloudwatch.backend import rounded_start

    now = time.time()
    base = (int(now) - age_days * 86400) // 3600 * 3600 - 3600
    start = datetime.fromtimestamp(base + 1234.5, UTC)  # 20:34.5 past an hour
    expected = base + 1234.5 // unit * unit
    assert rounded_start(start, period, now).timestamp() == expected
    assert rounded_start(start.replace(tzinfo=None), period, now).tzinfo is None


def test_a_start_inside_a_minute_reads_that_minute(aws: dict[str, Any]) -> None:
    cw = aws["cw"]
    minute = (int(time.time()) // 60 - 10) * 60
    cw.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": DIMENSIONS,
                "Timestamp": datetime.fromtimestamp(minute + 5, UTC),
                "Value": 3.0,
            }
        ],
    )
    stat = {
        "Metric": {
            "Namespace": "AWS/SageMaker",
            "MetricName": "Invocations",
            "Dimensions": DIMENSIONS,
        },
        "Period": 60,
        "Stat": "Sum",
    }
    out = cw.get_metric_data(
        MetricDataQueries=[{"Id": "i", "MetricStat": stat}],
        StartTime=datetime.fromtimestamp(minute + 30, UTC),  # after the datapoint
        EndTime=datetime.fromtimestamp(minute + 50, UTC),
    )["MetricDataResults"][0]
    assert out["Values"] == [3.0]
    assert [t.timestamp() for t in out["Timestamps"]] == [minute]
