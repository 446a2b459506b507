"""The traffic simulator: routing by weights, SageMaker metrics, a bad model tripping an alarm."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from smgitops import clock
from smgitops.local.emulator import (
    emulated_aws,
    register_target,
    set_seed,
    set_update_delay,
    simulate_traffic,
    wait_for_deliveries,
)
from smgitops.local.emulator.traffic import EndpointUnavailableError
from tests.support.emulator import (
    ABORT_ARN,
    client,
    create_config,
    create_model,
    deploy,
    metric_total,
    put_variant_alarm,
    variant,
    variant_dimensions,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

BAD = {"SMGITOPS_SIM_ERROR_RATE": "1.0", "SMGITOPS_SIM_LATENCY_MS": "400"}


@pytest.fixture
def sm() -> Iterator[Any]:
    with emulated_aws(update_delay=0.0, seed=42):
        sm = client("sagemaker")
        create_model(sm, "v1", {"SMGITOPS_SIM_LATENCY_MS": "20"})
        create_model(sm, "v2", BAD)
        yield sm


def canary(sm: Any, blue: float, green: float) -> None:
    create_config(sm, "canary", [variant("blue", "v1", blue), variant("green", "v2", green)])
    deploy(sm, "churn", "canary")


def metric_sum(name: str, variant_name: str, stat: str = "Sum") -> float:
    now = datetime.now(UTC)
    return metric_total(
        client("cloudwatch"), "churn", variant_name, now, metric=name, statistic=stat
    )


def test_split_follows_weights_and_is_reproducible(sm: Any) -> None:
    canary(sm, 0.8, 0.2)
    report = simulate_traffic("churn", 2000)
    counts = report.counts()
    assert sum(counts.values()) == 2000
    assert counts["green"] / 2000 == pytest.approx(0.2, abs=0.03)
    set_seed(42)
    first = simulate_traffic("churn", 300).counts()
    set_seed(42)
    assert simulate_traffic("churn", 300).counts() == first


def test_metrics_are_recorded_per_variant(sm: Any) -> None:
    canary(sm, 0.5, 0.5)
    report = simulate_traffic("churn", 400)
    green = report.variants["green"]
    assert green.errors_5xx == green.invocations  # error rate 1.0
    assert report.variants["blue"].errors_5xx == 0
    assert metric_sum("Invocations", "green") == green.invocations
    assert metric_sum("Invocation5XXErrors", "green") == green.invocations
    assert metric_sum("Invocation5XXErrors", "blue") == 0.0
    latency = metric_sum("ModelLatency", "green", "Average")
    assert latency == pytest.approx(400_000, rel=0.15)  # microseconds
    assert metric_sum("ModelLatency", "blue", "Average") == pytest.approx(20_000, rel=0.15)


def test_zero_weight_gets_nothing_but_target_variant_reaches_it(sm: Any) -> None:
    canary(sm, 1.0, 0.0)
    assert simulate_traffic("churn", 200).counts() == {"blue": 200}
    assert simulate_traffic("churn", 5, target_variant="green").counts() == {"green": 5}


def test_a_bad_model_trips_its_alarm_and_the_event_reaches_the_target(sm: Any) -> None:
    canary(sm, 0.9, 0.1)
    cw = client("cloudwatch")
    events = client("events")
    put_variant_alarm(cw, "churn-green-5xx", "churn", "green", TreatMissingData="notBreaching")
    pattern = {"source": ["aws.cloudwatch"], "detail": {"state": {"value": ["ALARM"]}}}
    events.put_rule(Name="abort", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="abort", Targets=[{"Id": "1", "Arn": ABORT_ARN}])
    received: list[dict[str, Any]] = []
    register_target(ABORT_ARN, received.append)

    simulate_traffic("churn", 20)
    alarm = cw.describe_alarms(AlarmNames=["churn-green-5xx"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "OK"  # too few requests reached green yet
    simulate_traffic("churn", 200)
    alarm = cw.describe_alarms(AlarmNames=["churn-green-5xx"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
    assert wait_for_deliveries(1.0)
    assert [e["detail"]["alarmName"] for e in received] == ["churn-green-5xx"]


def test_shadow_gets_copies_without_touching_responses(sm: Any) -> None:
    shadow = variant("shadow", "v2", 0.5)
    create_config(sm, "shadowed", [variant("blue", "v1")], shadows=[shadow])
    deploy(sm, "churn", "shadowed")
    report = simulate_traffic("churn", 1000)
    assert report.counts() == {"blue": 1000}
    assert report.variants["blue"].errors_5xx == 0
    assert report.shadow_counts()["shadow"] / 1000 == pytest.approx(0.5, abs=0.05)
    assert metric_sum("Invocation5XXErrors", "shadow") == report.shadow_counts()["shadow"]


def test_runtime_api_answers_like_sagemaker(sm: Any) -> None:
    create_model(
        sm, "custom", {"SMGITOPS_SIM_RESPONSE": "0.87", "SMGITOPS_SIM_CONTENT_TYPE": "text/csv"}
    )
    create_config(sm, "c", [variant("blue", "custom"), variant("green", "v2", 0.0)])
    deploy(sm, "churn", "c")
    runtime = client("sagemaker-runtime")
    answer = runtime.invoke_endpoint(EndpointName="churn", Body=b"1,2,3", ContentType="text/csv")
    assert (answer["Body"].read(), answer["ContentType"]) == (b"0.87", "text/csv")
    assert answer["InvokedProductionVariant"] == "blue"
    with pytest.raises(ClientError) as info:
        runtime.invoke_endpoint(EndpointName="churn", Body=b"{}", TargetVariant="green")
    error = info.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 500
    assert "Received server error (500) from primary" in error["Error"]["Message"]
    with pytest.raises(ClientError) as missing:
        runtime.invoke_endpoint(EndpointName="nope", Body=b"{}")
    assert missing.value.response["Error"]["Code"] == "ValidationError"


def test_default_answer_echoes_variant_model_and_body(sm: Any) -> None:
    create_config(sm, "c", [variant("blue", "v1")])
    deploy(sm, "churn", "c")
    runtime = client("sagemaker-runtime")
    body = runtime.invoke_endpoint(EndpointName="churn", Body=b'{"x": 1}')["Body"].read()
    assert json.loads(body) == {"variant": "blue", "model": "v1", "input": '{"x": 1}'}


def test_old_variants_serve_while_updating_and_nothing_while_creating(sm: Any) -> None:
    create_config(sm, "one", [variant("blue", "v1")])
    deploy(sm, "churn", "one")
    create_config(sm, "two", [variant("green", "v2")])
    set_update_delay(30.0)
    sm.update_endpoint(EndpointName="churn", EndpointConfigName="two")
    assert simulate_traffic("churn", 10).counts() == {"blue": 10}
    sm.create_endpoint(EndpointName="fresh", EndpointConfigName="one")
    with pytest.raises(EndpointUnavailableError):
        simulate_traffic("fresh", 1)


@pytest.fixture
def warped_clock() -> Iterator[None]:
    clock.warp(3600)  # one wall-clock second: one emulated hour
    try:
        yield
    finally:
        clock.reset()


def test_under_a_time_scale_metrics_and_alarms_follow_the_runtime_clock(
    sm: Any, warped_clock: None
) -> None:
    canary(sm, 0.5, 0.5)
    cw = client("cloudwatch")
    put_variant_alarm(cw, "churn-green-5xx", "churn", "green")
    time.sleep(0.1)  # six emulated minutes
    # then wall-clock speed, still six minutes ahead: a slow machine must not carry the data
    # out of the alarm's window before it is evaluated (each wall second was an emulated hour)
    clock.warp(1.0)
    simulate_traffic("churn", 100)
    now = datetime.fromtimestamp(clock.now(), UTC)
    assert now - datetime.now(UTC) > timedelta(minutes=5)
    # stamped on the runtime's clock, not the wall's: all of it after the wall's now + 5 minutes
    # (however long the machine took to put it: each wall-clock millisecond is 3.6 emulated s)
    ahead = cw.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="Invocations",
        Dimensions=variant_dimensions("churn", "blue"),
        StartTime=datetime.now(UTC) + timedelta(minutes=5),
        EndTime=now + timedelta(hours=1),
        Period=3600 * 2,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(point["Sum"] for point in ahead) > 20
    assert metric_total(cw, "churn", "blue", around=datetime.now(UTC)) == 0
    alarm = cw.describe_alarms(AlarmNames=["churn-green-5xx"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"  # evaluated at the runtime's now, where the data is


def test_a_declared_instance_utilisation_is_put_in_the_endpoints_namespace(sm: Any) -> None:
    create_model(sm, "hot", {"SMGITOPS_SIM_CPU_PERCENT": "97", "SMGITOPS_SIM_MEMORY_PERCENT": "40"})
    create_config(sm, "mixed", [variant("blue", "v1", 0.5), variant("green", "hot", 0.5)])
    deploy(sm, "churn", "mixed")
    cw = client("cloudwatch")
    put_variant_alarm(
        cw,
        "churn-green-cpu",
        "churn",
        "green",
        metric="CPUUtilization",
        statistic="Maximum",
        threshold=90,
        namespace="/aws/sagemaker/Endpoints",
    )
    simulate_traffic("churn", 50)
    listed = cw.list_metrics(Namespace="/aws/sagemaker/Endpoints")["Metrics"]
    found = {
        (m["MetricName"], {d["Name"]: d["Value"] for d in m["Dimensions"]}["VariantName"])
        for m in listed
    }
    assert found == {("CPUUtilization", "green"), ("MemoryUtilization", "green")}  # v1: none set
    alarm = cw.describe_alarms(AlarmNames=["churn-green-cpu"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"


def test_a_declared_tail_moves_the_p99_and_not_the_mean(
    sm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tail = {
        "SMGITOPS_SIM_LATENCY_MS": "10.5",
        "SMGITOPS_SIM_TAIL_PERCENT": "5",
        "SMGITOPS_SIM_TAIL_LATENCY_MS": "200",
    }
    create_model(sm, "v3", tail)
    create_config(sm, "tail", [variant("blue", "v1", 1.0), variant("red", "v3", 1.0)])
    deploy(sm, "churn", "tail")
    at = clock.now() // 300 * 300 + 30  # every request in one five-minute period
    monkeypatch.setattr(clock, "now", lambda: at)
    report = simulate_traffic("churn", 6000)
    blue, red = report.variants["blue"], report.variants["red"]
    assert red.mean_latency_us == pytest.approx(blue.mean_latency_us, rel=0.1)  # both ~20 ms
    blue_p99, red_p99 = (_p99_latency(name) for name in ("blue", "red"))
    assert 30_000 < blue_p99 < 70_000  # the gamma's own tail around a 20 ms mean
    assert red_p99 > 3 * blue_p99  # 5 % of requests at ~200 ms


def _p99_latency(variant_name: str) -> float:
    """The variant's ModelLatency p99 over the last three minutes (GetMetricData)."""
    now = clock.now()
    out = client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            {
                "Id": "p99",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SageMaker",
                        "MetricName": "ModelLatency",
                        "Dimensions": [
                            {"Name": "EndpointName", "Value": "churn"},
                            {"Name": "VariantName", "Value": variant_name},
                        ],
                    },
                    "Period": 300,
                    "Stat": "p99",
                },
            }
        ],
        StartTime=datetime.fromtimestamp(now // 300 * 300 - 300, UTC),
        EndTime=datetime.fromtimestamp(now // 300 * 300 + 300, UTC),
    )
    values = out["MetricDataResults"][0]["Values"]
    assert len(values) == 1, values  # one period holds the whole burst
    return float(values[0])
