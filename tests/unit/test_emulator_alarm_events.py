"""The emulator's "CloudWatch Alarm State Change" event against the documented format."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from smgitops.local.emulator.events import AlarmState, MetricStatView, build_alarm_event
from tests.conftest import load_event

# The keys of the single-metric example in the CloudWatch User Guide ("Alarm events and
# EventBridge"), level by level.
DOC_TOP = {
    "version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"
}  # fmt: skip
DOC_DETAIL = {"alarmName", "configuration", "previousState", "state"}
DOC_STATE = {"reason", "reasonData", "timestamp", "value"}
ABORT_PATTERN = {
    "source": ["aws.cloudwatch"],
    "detail-type": ["CloudWatch Alarm State Change"],
    "detail": {"state": {"value": ["ALARM"]}},
}


def state(raw: dict[str, Any], epoch: float) -> AlarmState:
    return AlarmState(raw["value"], raw["reason"], raw.get("reasonData"), epoch)


def rebuild(sample: dict[str, Any], previous_at: float, current_at: float) -> dict[str, Any]:
    detail = sample["detail"]
    stat = detail["configuration"]["metrics"][0]["metricStat"]
    return build_alarm_event(
        alarm_name=detail["alarmName"],
        alarm_arn=sample["resources"][0],
        account_id=sample["account"],
        region=sample["region"],
        previous=state(detail["previousState"], previous_at),
        current=state(detail["state"], current_at),
        metric=MetricStatView(
            namespace=stat["metric"]["namespace"],
            name=stat["metric"]["name"],
            dimensions=stat["metric"]["dimensions"],
            period=stat["period"],
            stat=stat["stat"],
        ),
        description=detail["configuration"].get("description"),
        event_id=sample["id"],
    )


@pytest.mark.parametrize(
    ("name", "previous_at", "current_at"),
    [
        ("alarm-state-alarm.json", 1773484060.512, 1773484361.207),
        ("alarm-state-ok.json", 1773484361.207, 1773484601.733),
    ],
)
def test_sample_events_are_what_the_emulator_sends(
    name: str, previous_at: float, current_at: float
) -> None:
    sample = load_event(name)
    assert rebuild(sample, previous_at, current_at) == sample


@pytest.mark.parametrize("name", ["alarm-state-alarm.json", "alarm-state-ok.json"])
def test_sample_events_have_the_documented_shape(name: str) -> None:
    event = load_event(name)
    assert set(event) == DOC_TOP
    assert set(event["detail"]) == DOC_DETAIL
    assert set(event["detail"]["state"]) == DOC_STATE
    assert set(event["detail"]["previousState"]) == DOC_STATE
    assert event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["source"] == "aws.cloudwatch"
    assert event["resources"] == [
        f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{event['detail']['alarmName']}"
    ]
    reason_data = json.loads(event["detail"]["state"]["reasonData"])
    assert reason_data["version"] == "1.0"
    assert reason_data["period"] == 60


def test_alarm_pattern_matches_only_the_alarm_sample() -> None:
    pattern = EventPattern.load(json.dumps(ABORT_PATTERN))
    assert pattern.matches_event(load_event("alarm-state-alarm.json"))
    assert not pattern.matches_event(load_event("alarm-state-ok.json"))


def test_initial_state_has_no_reason_data_and_single_metric_ids_are_stable() -> None:
    initial = AlarmState("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation", "{}", 0.0)
    assert initial.as_event() == {
        "reason": "Unchecked: Initial alarm creation",
        "timestamp": "1970-01-01T00:00:00.000+0000",
        "value": "INSUFFICIENT_DATA",
    }
    metric = MetricStatView("AWS/SageMaker", "ModelLatency", {"EndpointName": "e"}, 60, "p99")
    kwargs: dict[str, Any] = {
        "alarm_name": "a",
        "alarm_arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a",
        "account_id": "123456789012",
        "region": "us-east-1",
        "previous": initial,
        "current": AlarmState("ALARM", "r", "{}", 1.0),
        "metric": metric,
    }
    first, second = build_alarm_event(**kwargs), build_alarm_event(**kwargs)
    ids = [e["detail"]["configuration"]["metrics"][0]["id"] for e in (first, second)]
    assert ids[0] == ids[1]
    assert first["id"] != second["id"]
    assert "description" not in first["detail"]["configuration"]
