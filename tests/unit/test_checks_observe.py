"""Fail-closed adapters: every alarm page is read, percentile checks are percentile
alarms, generated alarm names never collide, and a busy endpoint is recognised by describing
it again, not by the words of an error message. AWS answers come from botocore's Stubber."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from smgitops.aws.cloudwatch import CloudWatch
from smgitops.aws.sagemaker import EndpointBusyError, SageMaker
from smgitops.errors import ActionRejectedError
from smgitops.rollout import naming
from smgitops.rollout.actions import AlarmSpec, PutAlarms, SetWeights, UpdateEndpoint
from smgitops.rollout.observation import AlarmView, Observation, failed_checks_reason

ENDPOINT = "churn-predictor"


def client(service: str) -> Any:
    return boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    ).client(service)


def metric_alarm(name: str, state: str = "OK") -> dict[str, Any]:
    return {
        "AlarmName": name,
        "StateValue": state,
        "StateReason": f"{name} is {state}",
        "StateUpdatedTimestamp": datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
    }


# ------------------------------------------------------------------ DescribeAlarms paging


def test_every_page_of_alarms_is_read_with_the_largest_page_size() -> None:
    cloudwatch = client("cloudwatch")
    names = [f"team-alarm-{i:03d}" for i in range(60)]
    request = {
        "AlarmNames": names,
        "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
        "MaxRecords": 100,
    }
    with Stubber(cloudwatch) as stub:
        first = [metric_alarm(n) for n in names[:50]]
        stub.add_response(
            "describe_alarms", {"MetricAlarms": first, "NextToken": "page-2"}, request
        )
        rest = [metric_alarm(n) for n in names[50:59]] + [metric_alarm(names[59], "ALARM")]
        stub.add_response(
            "describe_alarms", {"MetricAlarms": rest}, {**request, "NextToken": "page-2"}
        )
        views = CloudWatch(cloudwatch).alarm_states(names)
        stub.assert_no_pending_responses()
    assert set(views) == set(names)
    assert views[names[59]].state == "ALARM"  # the 60th alarm still counts
    assert views[names[0]].since == datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp()


# ------------------------------------------------------------------ percentile checks


def alarm(statistic: str) -> AlarmSpec:
    return AlarmSpec(
        name=naming.alarm_name(ENDPOINT, "v-1", "ModelLatency", statistic),
        endpoint=ENDPOINT,
        variant="v-1",
        metric="ModelLatency",
        statistic=statistic,
        threshold=300000,
        period=60,
    )


@pytest.mark.parametrize(
    ("statistic", "field"), [("p99", "ExtendedStatistic"), ("Average", "Statistic")]
)
def test_a_percentile_check_is_an_extended_statistic_alarm(statistic: str, field: str) -> None:
    cloudwatch = client("cloudwatch")
    with Stubber(cloudwatch) as stub:
        expected = {
            "AlarmName": ANY,
            "AlarmDescription": ANY,
            "Namespace": "AWS/SageMaker",
            "MetricName": "ModelLatency",
            "Dimensions": ANY,
            field: statistic,
            "Period": 60,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "Threshold": 300000,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "Tags": ANY,
        }
        stub.add_response("put_metric_alarm", {}, expected)
        CloudWatch(cloudwatch).apply(PutAlarms(alarms=[alarm(statistic)]))
        stub.assert_no_pending_responses()


# ------------------------------------------------------------------ alarm names


def test_long_metric_names_no_longer_share_an_alarm() -> None:
    endpoint = "e" * 63
    metric = "queue-depth-of-the-fraud-feature-store-" + "x" * 170  # a custom metric
    names = {
        naming.alarm_name(endpoint, "v-0123456789ab", metric, statistic, "churn/quality")
        for statistic in ("Average", "Maximum", "p99", "p99.9")
    }
    names.add(naming.alarm_name(endpoint, "v-0123456789ab", metric + "y", "Average", "q"))
    assert len(names) == 5
    assert all(len(name) <= 255 for name in names)
    short = naming.alarm_name(ENDPOINT, "v-1", "ModelLatency", "p99")
    assert short.startswith("smgitops-churn-predictor-v-1-ModelLatency-p99-")


# ------------------------------------------------------------------ busy endpoints


def describe(status: str) -> dict[str, Any]:
    return {
        "EndpointName": ENDPOINT,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}",
        "EndpointConfigName": "cfg",
        "EndpointStatus": status,
        "CreationTime": datetime(2026, 12, 1, tzinfo=UTC),
        "LastModifiedTime": datetime(2026, 12, 1, tzinfo=UTC),
    }


ACTIONS = [
    UpdateEndpoint(endpoint=ENDPOINT, config="cfg-2"),
    SetWeights(endpoint=ENDPOINT, weights={"a": 90.0, "b": 10.0}),
]


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.kind)
@pytest.mark.parametrize(
    ("status", "busy"),
    [
        ("Updating", True),
        ("SystemUpdating", True),
        ("RollingBack", True),
        ("InService", False),
        ("Failed", False),
        ("OutOfService", False),
    ],
)
def test_a_refused_update_is_busy_when_the_endpoint_is_not_in_service(
    action: Any, status: str, busy: bool
) -> None:
    sagemaker = client("sagemaker")
    operation = (
        "update_endpoint"
        if action.kind == "UpdateEndpoint"
        else "update_endpoint_weights_and_capacities"
    )
    with Stubber(sagemaker) as stub:
        # Not the text AWS happens to use today: the adapter must not depend on it.
        stub.add_client_error(operation, "ValidationException", "The endpoint is being changed.")
        stub.add_response("describe_endpoint", describe(status), {"EndpointName": ENDPOINT})
        expected = EndpointBusyError if busy else ActionRejectedError
        with pytest.raises(expected):
            SageMaker(sagemaker).apply(action)
        stub.assert_no_pending_responses()


def test_missing_names_the_alarms_that_do_not_exist() -> None:
    cloudwatch = client("cloudwatch")
    with Stubber(cloudwatch) as stub:
        stub.add_response("describe_alarms", {"MetricAlarms": [metric_alarm("there")]})
        assert CloudWatch(cloudwatch).missing(["there", "churn-5xx-rate", "there"]) == [
            "churn-5xx-rate"
        ]


# ------------------------------------------------------------------ failing checks


def views(*alarms: AlarmView) -> dict[str, AlarmView]:
    return {a.name: a for a in alarms}


NOW = 1_800_000_000.0


def observation(*alarms: AlarmView) -> Observation:
    return Observation(now=NOW, alarms=views(*alarms))


def test_an_alarm_that_vanished_is_a_failed_check() -> None:
    obs = observation(AlarmView(name="ok", state="OK"))
    (failing,) = obs.failing(["ok", "gone"], grace=300, watching_since=NOW - 10)
    assert failing.name == "gone"
    assert failed_checks_reason([failing], "at 10 %") == (
        "alarm gone does not exist at 10 %: the alarm no longer exists, so the check cannot see"
    )


@pytest.mark.parametrize(
    ("since", "watching", "fails"),
    [
        (NOW - 301, NOW - 1000, True),  # blind longer than the grace
        (NOW - 299, NOW - 1000, False),  # within the grace
        (NOW - 5000, NOW - 100, False),  # blind for long, but watched only 100 s
        (None, NOW - 301, True),  # no timestamp: since watching began
    ],
)
def test_insufficient_data_beyond_the_grace_is_a_failed_check(
    since: float | None, watching: float, fails: bool
) -> None:
    blind = AlarmView(name="blind", state="INSUFFICIENT_DATA", reason="no datapoints", since=since)
    failing = observation(blind).failing(["blind"], grace=300, watching_since=watching)
    assert bool(failing) is fails
    if fails:
        text = failed_checks_reason(failing, "at 25 %")
        assert text.startswith("alarm blind sees no data at 25 %: INSUFFICIENT_DATA for 30")
        assert "beyond the 300s grace: the check cannot see (no datapoints)" in text


def test_alarms_in_alarm_read_as_before() -> None:
    a = AlarmView(name="a", state="ALARM", reason="Threshold Crossed")
    b = AlarmView(name="b", state="ALARM", reason="other")
    failing = observation(a, b).failing(["a", "b"], grace=60, watching_since=NOW)
    assert (
        failed_checks_reason(failing, "at 10 %") == "alarm a, b in ALARM at 10 %: Threshold Crossed"
    )
