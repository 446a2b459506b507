"""The drift function against moto: an endpoint deployed by the engine, then edited "in the
console" (UpdateEndpointWeightsAndCapacities, DeleteEndpoint) behind smgitops's back."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from smgitops.aws import clients
from smgitops.aws.live import LiveEndpoints
from smgitops.aws.store import StatusStore
from smgitops.handlers import drift
from smgitops.rollout.service import RolloutService
from smgitops.rollout.status import Phase
from smgitops.wiring.drift import drift as wired_drift
from tests.builders import declaration
from tests.conftest import load_event
from tests.integration.conftest import TABLE, Engine
from tests.support.emulator import create_config, create_model, variant

COMMIT = "a1b2c3d4e5f6" * 3 + "a1b2"


@dataclass
class Stack:
    engine: Engine
    queue_url: str
    sqs: Any

    @property
    def store(self) -> StatusStore:
        return StatusStore(TABLE)

    @property
    def sm(self) -> Any:
        return self.engine.sagemaker

    def messages(self) -> list[dict[str, Any]]:
        out = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        bodies = [json.loads(m["Body"]) for m in out.get("Messages", [])]
        for m in out.get("Messages", []):
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return [json.loads(b["Message"]) for b in bodies]

    def deploy(self, name: str = "churn-predictor", instance_count: int = 1) -> str:
        self.engine.deploy(declaration(name, instance_count=instance_count), COMMIT)
        status = self.store.get(name)
        assert status is not None
        return status.candidate.name

    def scale_by_hand(self, variant: str, count: int) -> None:
        """Someone sets churn-predictor's ``variant`` to ``count`` instances outside git."""
        self.sm.update_endpoint_weights_and_capacities(
            EndpointName="churn-predictor",
            DesiredWeightsAndCapacities=[
                {"VariantName": variant, "DesiredWeight": 1.0, "DesiredInstanceCount": count}
            ],
        )


@pytest.fixture
def stack(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    sns, sqs = clients.client("sns"), clients.client("sqs")
    topic = sns.create_topic(Name="smgitops")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="notifications")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    monkeypatch.setenv("SMGITOPS_TABLE", TABLE)
    monkeypatch.setenv("SMGITOPS_TOPIC_ARN", topic)
    monkeypatch.delenv("SMGITOPS_SELF_HEAL", raising=False)
    wired_drift.cache_clear()
    yield Stack(engine, queue_url, sqs)
    wired_drift.cache_clear()


def run_drift(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The handler's answer and the EMF documents it printed."""
    capsys.readouterr()
    answer = drift.handler(load_event("drift-scheduled.json"), None)
    emf = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    return answer, emf


def drift_metric(emf: list[dict[str, Any]], endpoint: str) -> float | None:
    values = [doc["Drift"] for doc in emf if doc.get("Endpoint") == endpoint and "Drift" in doc]
    if not values:
        return None
    last = values[-1]
    return float(last[-1] if isinstance(last, list) else last)


def test_a_console_edit_is_detected_recorded_and_notified_once(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    variant = stack.deploy()

    answer, emf = run_drift(capsys)
    assert answer["checked"] == ["churn-predictor"]
    assert answer["drifted"] == {}
    assert drift_metric(emf, "churn-predictor") == 0.0
    assert stack.messages() == []

    stack.scale_by_hand(variant, 3)
    answer, emf = run_drift(capsys)
    summary = answer["drifted"]["churn-predictor"]
    assert f"variants[{variant}].instanceCount: 1 → 3" in summary
    assert "UpdateEndpointWeightsAndCapacities" in summary
    assert drift_metric(emf, "churn-predictor") == 1.0
    [record] = [r for r in stack.store.history("churn-predictor") if r.event.startswith("drift")]
    assert record.commit == COMMIT
    assert record.details["drift"] == [
        {
            "field": f"variants[{variant}].instanceCount",
            "declared": 1,
            "live": 3,
            "healable": True,
        }
    ]
    [message] = stack.messages()
    assert message["event"] == "drift"
    assert message["endpoint"] == "churn-predictor"
    assert message["drift"][0]["live"] == 3

    answer, emf = run_drift(capsys)  # the same drift again: metric yes, record and message no
    assert "churn-predictor" in answer["drifted"]
    assert drift_metric(emf, "churn-predictor") == 1.0
    assert (
        len([r for r in stack.store.history("churn-predictor") if r.event.startswith("drift")]) == 1
    )
    assert stack.messages() == []

    stack.scale_by_hand(variant, 1)
    answer, _ = run_drift(capsys)
    assert answer["drifted"] == {}
    drift_events = [r.event for r in stack.store.history("churn-predictor") if "drift" in r.event]
    assert drift_events[0] == "drift resolved"  # newest first
    assert len(drift_events) == 2
    assert [m["event"] for m in stack.messages()] == ["driftResolved"]


def test_a_deleted_endpoint_and_an_active_rollout(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.deploy("churn-predictor")
    stack.deploy("fraud-scorer")
    stack.sm.delete_endpoint(EndpointName="fraud-scorer")
    active = stack.store.get("churn-predictor")
    assert active is not None
    stack.store.save(active.evolve(phase=Phase.PROGRESSING), expected_version=active.version)

    answer, emf = run_drift(capsys)
    assert answer["skipped"] == {"churn-predictor": "a rollout is Progressing"}
    assert answer["drifted"]["fraud-scorer"].startswith("the endpoint was deleted outside smgitops")
    assert drift_metric(emf, "fraud-scorer") == 1.0
    assert drift_metric(emf, "churn-predictor") is None


def test_only_some_endpoints_on_request(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    stack.deploy("churn-predictor")
    stack.deploy("fraud-scorer")
    drift.handler({"endpoints": ["fraud-scorer"]}, None)
    answer = drift.handler({"endpoints": ["fraud-scorer"]}, None)
    assert answer["checked"] == ["fraud-scorer"]


@pytest.mark.skipif(
    "force" not in inspect.signature(RolloutService.start).parameters,
    reason="RolloutService.start(force=True) is the lead's to add (see docs/analysis.md)",
)
def test_self_heal_restores_the_declared_instance_count(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    variant = stack.deploy(instance_count=2)
    stack.scale_by_hand(variant, 5)
    monkeypatch.setenv("SMGITOPS_SELF_HEAL", "true")
    wired_drift.cache_clear()
    answer, _ = run_drift(capsys)
    rollout = answer["healed"]["churn-predictor"]
    status = stack.store.get("churn-predictor")
    assert status is not None
    assert status.rollout_id == rollout
    assert status.source["provider"] == "drift"
    trail = stack.engine.run("churn-predictor", rollout)
    assert trail[-1][0] == Phase.SUCCEEDED
    live = stack.sm.describe_endpoint(EndpointName="churn-predictor")["ProductionVariants"]
    assert [v["DesiredInstanceCount"] for v in live] == [2]
    answer, _ = run_drift(capsys)
    assert answer["drifted"] == {}


def test_a_repositorys_selfheal_cannot_heal_where_the_operator_keeps_it_off(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    variant = stack.deploy(instance_count=2)
    asked = stack.store.get("churn-predictor")
    assert asked is not None  # a status stored when the repository said selfHeal: true
    stack.store.save(asked.evolve(self_heal=True), expected_version=asked.version)
    stack.scale_by_hand(variant, 5)
    monkeypatch.setenv("SMGITOPS_SELF_HEAL", "false")
    wired_drift.cache_clear()
    answer, _ = run_drift(capsys)
    assert "churn-predictor" in answer["drifted"] and answer["healed"] == {}
    status = stack.store.get("churn-predictor")
    assert status is not None and status.rollout_id == asked.rollout_id  # no heal rollout
    live = stack.sm.describe_endpoint(EndpointName="churn-predictor")["ProductionVariants"]
    assert [v["DesiredInstanceCount"] for v in live] == [5]


def test_live_state_of_an_endpoint_with_a_shadow_variant(engine: Engine) -> None:
    sm = engine.sagemaker
    create_model(sm, "m-prod", environment={"WORKERS": "2"})
    create_model(sm, "m-shadow")
    create_config(
        sm, "hand-made", [variant("prod", "m-prod", count=2)], [variant("shadow", "m-shadow")]
    )
    sm.create_endpoint(EndpointName="hand-made-endpoint", EndpointConfigName="hand-made")
    sm.delete_model(ModelName="m-shadow")

    live = LiveEndpoints().read("hand-made-endpoint")

    assert live is not None
    assert (live.status, live.config, live.config_found) == ("InService", "hand-made", True)
    assert [(v.name, v.model, v.instance_type, v.instance_count) for v in live.variants] == [
        ("prod", "m-prod", "ml.m5.large", 2)
    ]
    assert [v.name for v in live.shadow_variants] == ["shadow"]
    assert live.models["m-prod"].environment == {"WORKERS": "2"}
    assert live.models["m-prod"].image is not None
    assert live.models["m-prod"].image.endswith(":m-prod")
    assert not live.models["m-shadow"].found
    assert LiveEndpoints().read("no-such-endpoint") is None
