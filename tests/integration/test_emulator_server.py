"""The emulator in server mode: a real ThreadedMotoServer on loopback, boto3 over HTTP."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError
from moto.sagemaker.models import sagemaker_backends

from smgitops.local.emulator import (
    EVERY_ENDPOINT,
    Emulator,
    register_target,
    unregister_target,
)
from tests.support.emulator import (
    ABORT_ARN,
    ACCOUNT,
    REGION,
    create_config,
    create_model,
    deploy,
    metric_total,
    put_variant_alarm,
    variant,
    wait_for_status,
    weights,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

DELAY = 0.4
AUDIT_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:audit"


@pytest.fixture
def aws() -> Iterator[Emulator]:
    with Emulator.start(update_delay=DELAY, seed=11, evaluation_interval=0.1) as emulator:
        emulator.reset()
        yield emulator
        unregister_target(ABORT_ARN)
        unregister_target(AUDIT_ARN)


def test_update_endpoint_over_http(aws: Emulator) -> None:
    assert aws.url.startswith("http://127.0.0.1:")
    sm = aws.client("sagemaker")
    create_model(sm, "v1")
    create_model(sm, "v2")
    shadow = variant("shadow", "v2", 0.2)
    create_config(sm, "one", [variant("blue", "v1", count=2)])
    create_config(sm, "two", [variant("blue", "v1", 0.9, 2)], shadows=[shadow])
    assert sm.describe_endpoint_config(EndpointConfigName="two")["ShadowProductionVariants"]
    sm.create_endpoint(EndpointName="churn", EndpointConfigName="one")
    assert sm.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "Creating"
    wait_for_status(sm, "churn", "InService")

    sm.update_endpoint(EndpointName="churn", EndpointConfigName="two")
    during = sm.describe_endpoint(EndpointName="churn")
    assert (during["EndpointStatus"], during["EndpointConfigName"]) == ("Updating", "one")
    with pytest.raises(ClientError) as busy:
        sm.update_endpoint(EndpointName="churn", EndpointConfigName="one")
    assert "Cannot update in-progress endpoint" in busy.value.response["Error"]["Message"]

    after = wait_for_status(sm, "churn", "InService")
    assert after["EndpointConfigName"] == "two"
    assert weights(after) == {"blue": 0.9}
    assert [s["VariantName"] for s in after["ShadowProductionVariants"]] == ["shadow"]


def test_update_to_a_missing_model_over_http(aws: Emulator) -> None:
    sm = aws.client("sagemaker")
    create_model(sm, "v1")
    create_model(sm, "v2")
    create_config(sm, "one", [variant("blue", "v1")])
    create_config(sm, "two", [variant("green", "v2")])
    deploy(sm, "churn", "one")
    sm.delete_model(ModelName="v2")
    sm.update_endpoint(EndpointName="churn", EndpointConfigName="two")
    assert sm.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "Updating"
    time.sleep(DELAY)
    after = wait_for_status(sm, "churn", "InService")
    assert after["EndpointConfigName"] == "one"
    assert "Could not find model" in after["FailureReason"]


def test_background_thread_completes_transitions_without_a_describe(aws: Emulator) -> None:
    sm = aws.client("sagemaker")
    create_model(sm, "v1")
    create_config(sm, "one", [variant("blue", "v1")])
    sm.create_endpoint(EndpointName="churn", EndpointConfigName="one")
    endpoint = sagemaker_backends[ACCOUNT][REGION].endpoints["churn"]
    deadline = time.monotonic() + DELAY + 2.0
    while endpoint.endpoint_status != "InService":
        assert time.monotonic() < deadline
        time.sleep(0.05)


class Inbox:
    def __init__(self) -> None:
        self.states: list[str] = []
        self.times: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.states.append(event["detail"]["state"]["value"])
            self.times.append(time.monotonic())

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.states) >= count:
                    return True
            time.sleep(0.01)
        return False


def test_invocations_trip_an_alarm_whose_event_arrives_within_a_second(aws: Emulator) -> None:
    sm, cw, events = aws.client("sagemaker"), aws.client("cloudwatch"), aws.client("events")
    runtime = aws.client("sagemaker-runtime")
    create_model(sm, "good")
    create_model(sm, "bad", {"SMGITOPS_SIM_ERROR_RATE": "1"})
    create_config(sm, "canary", [variant("blue", "good", 0.5), variant("green", "bad", 0.5)])
    create_config(sm, "fixed", [variant("blue", "good", 0.5), variant("green", "good", 0.5)])
    deploy(sm, "churn", "canary")
    put_variant_alarm(
        cw, "churn-green-error-rate", "churn", "green", statistic="Average", threshold=0.5
    )
    abort, audit = Inbox(), Inbox()
    register_target(ABORT_ARN, abort)
    register_target(AUDIT_ARN, audit)
    state_change = {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]}
    alarm_only = {**state_change, "detail": {"state": {"value": ["ALARM"]}}}
    for name, pattern, arn in (
        ("abort", alarm_only, ABORT_ARN),
        ("audit", state_change, AUDIT_ARN),
    ):
        events.put_rule(Name=name, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, Targets=[{"Id": name, "Arn": arn}])

    started = time.monotonic()
    errors = 0
    while not abort.states and time.monotonic() - started < 5.0:
        try:
            runtime.invoke_endpoint(EndpointName="churn", Body=b"{}", TargetVariant="green")
        except ClientError as exc:
            errors += exc.response["Error"]["Code"] == "ModelError"
    assert abort.wait_for(1, 1.0)
    assert errors >= 1
    assert abort.times[0] - started < 1.0
    assert abort.states == ["ALARM"]

    sm.update_endpoint(EndpointName="churn", EndpointConfigName="fixed")  # green now healthy
    wait_for_status(sm, "churn", "InService")
    for _ in range(3):
        runtime.invoke_endpoint(EndpointName="churn", Body=b"{}", TargetVariant="green")
    alarm = cw.describe_alarms(AlarmNames=["churn-green-error-rate"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "OK"
    assert audit.wait_for(2, 1.0)
    assert audit.states == ["ALARM", "OK"]
    assert abort.states == ["ALARM"]


def test_background_traffic_reaches_the_endpoint(aws: Emulator) -> None:
    sm, cw = aws.client("sagemaker"), aws.client("cloudwatch")
    create_model(sm, "v1")
    create_config(sm, "one", [variant("blue", "v1")])
    aws.start_traffic("churn", rate_per_second=100.0)  # nothing served while it does not exist
    deploy(sm, "churn", "one")
    time.sleep(0.5)
    aws.stop_traffic("churn")
    assert metric_total(cw, "churn", "blue", datetime.now(UTC)) >= 20


def test_background_traffic_to_every_endpoint_reaches_each_one(aws: Emulator) -> None:
    sm, cw = aws.client("sagemaker"), aws.client("cloudwatch")
    create_model(sm, "v1")
    create_config(sm, "one", [variant("blue", "v1")])
    aws.start_traffic(EVERY_ENDPOINT, rate_per_second=100.0)
    deploy(sm, "churn", "one")
    deploy(sm, "fraud", "one")  # created after the traffic started: reached all the same
    time.sleep(0.6)
    aws.stop_traffic()
    now = datetime.now(UTC)
    served = {endpoint: metric_total(cw, endpoint, "blue", now) for endpoint in ("churn", "fraud")}
    assert all(count >= 20 for count in served.values()), served
