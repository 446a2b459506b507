"""The rollout's safeguards besides alarms, against the emulator: golden requests before
traffic, the canary judged against stable from real per-variant metrics, shadow runs, freezes."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from smgitops.aws import clients
from smgitops.aws.checks import Analysis
from smgitops.declaration import golden
from smgitops.local.emulator import simulate_traffic
from smgitops.rollout.status import Context, Phase
from tests.builders import declaration
from tests.integration.conftest import Engine

NAME = "churn-predictor"
C1, C2 = "1" * 40, "2" * 40


@pytest.fixture
def engine_with_analysis(engine: Engine) -> Engine:
    engine.service.analysis = Analysis()
    return engine


def _golden(expect: dict[str, Any]) -> Context:
    request = golden.parse_request(
        "tests/churn/high-risk.json", json.dumps({"body": {"tenure": 2}, "expect": expect})
    )
    return Context(golden=[golden.NamedRequest(name="tests/churn/high-risk.json", request=request)])


def _start(engine: Engine, context: Context | None = None, **rollout: Any) -> str:
    outcome = engine.service.start(
        declaration(version=2, **rollout),
        commit=C2,
        pushed_at=engine.clock.now,
        source={"provider": "test"},
        context=context,
    )
    return outcome.rollout_id


def test_a_failing_golden_request_stops_the_rollout_before_any_traffic(
    engine_with_analysis: Engine,
) -> None:
    engine = engine_with_analysis
    stable = engine.deploy(declaration(version=1), C1)
    bad_answer = json.dumps({"churn": 0.9})
    rollout_id = _start(
        engine,
        _golden({"fields": [{"path": "$.churn", "op": "<=", "value": 0.5}]}),
        environment={"SMGITOPS_SIM_RESPONSE": bad_answer},
        validation={"requests": ["tests/churn/*.json"]},
    )
    trail = engine.run(NAME, rollout_id)
    status = engine.service.store.get(NAME)
    assert status is not None and status.phase == Phase.ROLLED_BACK
    assert status.reason.startswith("validation failed before any traffic: 0/1 golden requests")
    assert "$.churn" in status.reason
    candidate = status.candidate.name
    assert all(weights.get(candidate, 0.0) == 0.0 for _, weights in trail)  # never any traffic
    records = engine.service.store.history(NAME)
    assert any(r.details.get("validation", {}).get("score") == 0.0 for r in records)
    assert stable.rollout_id


def test_passing_golden_requests_let_the_canary_proceed(engine_with_analysis: Engine) -> None:
    engine = engine_with_analysis
    engine.deploy(declaration(version=1), C1)
    rollout_id = _start(
        engine,
        _golden({"status": 200, "fields": [{"path": "$.churn", "op": "<=", "value": 0.5}]}),
        environment={"SMGITOPS_SIM_RESPONSE": json.dumps({"churn": 0.1})},
        validation={"requests": ["tests/churn/*.json"]},
    )
    trail = engine.run(NAME, rollout_id)
    assert trail[-1][0] == Phase.SUCCEEDED
    events = " ".join(r.event for r in engine.service.store.history(NAME))
    assert "validation passed: 1/1 golden requests passed" in events


def _put_step_metrics(
    engine: Engine, start: float, minutes: int, latency: dict[str, float], invocations: int
) -> None:
    """Per-minute datapoints for both variants, as SageMaker would publish them."""
    data = []
    for minute in range(minutes):
        at = dt.datetime.fromtimestamp(start + 60 * minute + 30, dt.UTC)
        for variant, micros in latency.items():
            dims = [
                {"Name": "EndpointName", "Value": NAME},
                {"Name": "VariantName", "Value": variant},
            ]
            jitter = 1 + (minute % 5) / 50
            data.append({"MetricName": "ModelLatency", "Dimensions": dims, "Timestamp": at,
                         "Value": micros * jitter, "Unit": "Microseconds"})  # fmt: skip
            data.append({"MetricName": "Invocations", "Dimensions": dims, "Timestamp": at,
                         "Value": invocations, "Unit": "None"})  # fmt: skip
    for first in range(0, len(data), 500):
        clients.client("cloudwatch").put_metric_data(
            Namespace="AWS/SageMaker", MetricData=data[first : first + 500]
        )


COMPARE = {"compare": {"metrics": [{"metric": "ModelLatency", "tolerance": 0.1}], "minSamples": 50}}


def test_a_latency_regression_is_caught_while_alarms_stay_ok(engine_with_analysis: Engine) -> None:
    engine = engine_with_analysis
    engine.clock.now = float(int(dt.datetime.now(dt.UTC).timestamp()) // 60 * 60)
    engine.deploy(declaration(version=1), C1)
    rollout_id = _start(engine, interval="10m", analysis={**COMPARE, "alarms": []})
    status = engine.to_first_step(NAME, rollout_id)
    assert status.stable is not None
    latency = {status.candidate.name: 180_000.0, status.stable.name: 100_000.0}
    _put_step_metrics(engine, status.step_since, 10, latency, invocations=40)
    engine.clock.now = status.step_since + 600
    result = engine.tick(NAME, rollout_id)
    assert result.phase == Phase.ROLLING_BACK
    assert result.reason.startswith("judged worse than stable: ModelLatency")
    judged = [
        r.details["judgement"]
        for r in engine.service.store.history(NAME)
        if "judgement" in r.details
    ]
    assert judged and judged[0]["verdict"] == "fail"
    first = judged[0]["judgements"][0]
    assert first["pValue"] < 0.05 and first["effect"] > 0.5


def test_too_little_traffic_extends_the_step_instead_of_judging(
    engine_with_analysis: Engine,
) -> None:
    engine = engine_with_analysis
    engine.clock.now = float(int(dt.datetime.now(dt.UTC).timestamp()) // 60 * 60)
    engine.deploy(declaration(version=1), C1)
    rollout_id = _start(engine, interval="5m", analysis=COMPARE)
    status = engine.to_first_step(NAME, rollout_id)
    assert status.stable is not None
    latency = {status.candidate.name: 100_000.0, status.stable.name: 100_000.0}
    _put_step_metrics(engine, status.step_since, 5, latency, invocations=2)  # 10 < minSamples
    engine.clock.now = status.step_since + 300
    result = engine.tick(NAME, rollout_id)
    assert result.phase == Phase.PROGRESSING
    extended = engine.service.store.get(NAME)
    assert extended is not None and extended.extensions == 1 and extended.step_index == 0
    events = " ".join(r.event for r in engine.service.store.history(NAME))
    assert "step extended: extension 1/3: too few invocations" in events


def test_shadow_run_reports_without_shifting_weights(engine: Engine) -> None:
    stable = engine.deploy(declaration(version=1), C1)
    rollout_id = _start(engine, strategy="shadow", shadow={"samplingPercent": 50})
    engine.tick(NAME, rollout_id)  # Pending → Initializing: the shadow config
    engine.tick(NAME, rollout_id)  # → Progressing: observing
    live = engine.sagemaker.describe_endpoint(EndpointName=NAME)
    status = engine.service.store.get(NAME)
    assert status is not None and status.shadow
    assert [v["VariantName"] for v in live["ShadowProductionVariants"]] == [status.candidate.name]
    report = simulate_traffic(NAME, 400)
    assert report.counts() == {stable_variant(engine, stable.rollout_id): 400}
    assert 120 < report.shadow_counts()[status.candidate.name] < 280  # about half copied
    trail = engine.run(NAME, rollout_id)
    assert trail[-1][0] == Phase.SUCCEEDED
    assert all(len(weights) == 1 for _, weights in trail)  # user traffic never moved
    final = engine.sagemaker.describe_endpoint(EndpointName=NAME)
    assert not final.get("ShadowProductionVariants")
    done = engine.service.store.get(NAME)
    assert done is not None and done.reason.startswith("shadow report")


def stable_variant(engine: Engine, rollout_id: str) -> str:
    del rollout_id
    live = engine.sagemaker.describe_endpoint(EndpointName=NAME)
    return str(live["ProductionVariants"][0]["VariantName"])


def test_a_push_during_a_freeze_waits_until_overridden(engine: Engine) -> None:
    engine.deploy(declaration(version=1), C1)
    always = {"timezone": "Europe/Paris", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
              "start": "00:00", "end": "23:59", "reason": "quarter close"}  # fmt: skip
    rollout_id = _start(engine, Context(freeze=[always]))
    for _ in range(3):
        result = engine.tick(NAME, rollout_id)
        assert result.phase == Phase.PENDING
    status = engine.service.store.get(NAME)
    assert status is not None and "quarter close" in status.reason
    assert len(engine.weights(NAME)) == 1
