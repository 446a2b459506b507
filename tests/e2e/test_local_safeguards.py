"""The rollout's safeguards besides alarms (and drift, approval, notifications), through
`smgitops local up` as a user drives it: git push, signed webhook, the CLI and boto3 on the
printed emulator URL."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from smgitops.local.scenario import GitRemote
from tests.builders import ROLE, declaration_dict
from tests.e2e.conftest import GITHUB_TOKEN, LocalUp, Repo, Traffic, running_local_up
from tests.support.emulator import wait_for_status
from tests.support.ingest import FakeGitHub

pytestmark = pytest.mark.e2e

ALWAYS_FROZEN = {
    "freeze": [
        {
            "timezone": "UTC",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "00:00",
            "end": "23:59",
            "reason": "quarter close",
        }
    ]
}


def _deploy_v1(local_up: LocalUp, repo: Repo, name: str) -> str:
    sha, delivery = repo.declare(declaration_dict(name, version=1, interval="1s"), "v1")
    assert delivery.status == 202
    local_up.wait_for(name, sha, {"Succeeded"})
    return sha


def test_a_failing_golden_request_stops_the_rollout_before_traffic(
    local_up: LocalUp, repo: Repo
) -> None:
    name = "e2e-golden"
    _deploy_v1(local_up, repo, name)
    golden = {
        "body": {"tenure": 2},
        "expect": {"fields": [{"path": "$.churn", "op": "<=", "value": 0.5}]},
    }
    document = declaration_dict(
        name, version=2, interval="1s",
        environment={"SMGITOPS_SIM_RESPONSE": json.dumps({"churn": 0.97})},
        validation={"requests": ["tests/churn/*.json"]},
    )  # fmt: skip
    sha, _ = repo.push(
        {
            "tests/churn/high-risk.json": json.dumps(golden),
            f"endpoints/{name}.yaml": yaml.safe_dump(document),
        },
        "v2 with a golden request",
    )
    status = local_up.wait_for(name, sha, {"RolledBack", "Succeeded"})
    assert status["phase"] == "RolledBack"
    assert status["reason"].startswith("validation failed before any traffic: 0/1")
    history = json.loads(local_up.cli("history", name, "--output", "json").stdout)
    candidate = status["candidate"]["name"]
    assert all(r["weights"].get(candidate, 0.0) == 0.0 for r in history if r["commit"] == sha)


def test_a_manual_gate_holds_until_promote(local_up: LocalUp, repo: Repo) -> None:
    name = "e2e-gate"
    _deploy_v1(local_up, repo, name)
    document = declaration_dict(
        name, version=2, interval="1s", steps=[30], gates=["beforePromotion"]
    )
    sha, _ = repo.declare(document, "v2 behind a gate")
    paused = local_up.wait_for(name, sha, {"Paused"})
    assert paused["gate"] == "beforePromotion"
    time.sleep(3)  # three intervals: nothing moves while the gate holds
    held = local_up.status(name)
    assert held is not None and held["phase"] == "Paused"
    assert sorted(local_up.weights(name).values()) == [30.0, 70.0]
    assert local_up.cli("promote", name).returncode == 0
    local_up.wait_for(name, sha, {"Succeeded"})
    assert local_up.weights(name) == {paused["candidate"]["name"]: 100.0}


def test_a_push_during_a_freeze_waits_pending(local_up: LocalUp, repo: Repo) -> None:
    name = "e2e-freeze"
    repo.push({".smgitops.yaml": yaml.safe_dump(ALWAYS_FROZEN)}, "freeze for the quarter close")
    sha, _ = repo.declare(declaration_dict(name, version=1, interval="1s"), "during the freeze")
    status = local_up.wait_for(name, sha, {"Pending"})
    time.sleep(2)
    status = local_up.status(name)
    assert status is not None and status["phase"] == "Pending"
    assert "quarter close" in status["reason"] and status["reason"].startswith("frozen")
    assert local_up.weights(name) == {}  # not even created


def test_registry_approval_gates_the_rollout(local_up: LocalUp, repo: Repo) -> None:
    name = "e2e-registry"
    sm = local_up.client("sagemaker")
    sm.create_model_package_group(ModelPackageGroupName=name)
    arn = sm.create_model_package(
        ModelPackageGroupName=name,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/x:1"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    document: dict[str, Any] = declaration_dict(name, interval="1s")
    document["spec"]["model"] = {"modelPackageArn": arn, "executionRoleArn": ROLE}
    sha, _ = repo.declare(document, "deploy registered model v1")
    waiting = local_up.wait_for(name, sha, {"Pending"})
    time.sleep(2)
    waiting = local_up.status(name) or waiting
    assert waiting["reason"].startswith("waiting for approval") and arn in waiting["reason"]
    assert local_up.weights(name) == {}
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    local_up.wait_for(name, sha, {"Succeeded"})


def test_a_shadow_run_reports_without_shifting_weights(local_up: LocalUp, repo: Repo) -> None:
    name = "e2e-shadow"
    _deploy_v1(local_up, repo, name)
    stable = dict(local_up.weights(name))
    # a shadow run long enough to be seen by a poll (a status read: well under a second, loaded)
    shadow = {"samplingPercent": 50, "duration": "8s"}
    document = declaration_dict(name, version=2, interval="2s", strategy="shadow", shadow=shadow)
    sha, _ = repo.declare(document, "v2 in shadow")
    local_up.wait_for(name, sha, {"Progressing"})
    live = local_up.client("sagemaker").describe_endpoint(EndpointName=name)
    assert len(live.get("ShadowProductionVariants", [])) == 1
    done = local_up.wait_for(name, sha, {"Succeeded", "RolledBack"})
    assert done["phase"] == "Succeeded" and done["reason"].startswith("shadow report")
    assert local_up.weights(name) == stable


def test_a_console_edit_is_reported_as_drift(local_up: LocalUp, repo: Repo) -> None:
    name = "e2e-drift"
    _deploy_v1(local_up, repo, name)
    variant = next(iter(local_up.weights(name)))
    local_up.client("sagemaker").update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[{"VariantName": variant, "DesiredInstanceCount": 3}],
    )  # someone scaled it by hand in the console
    deadline = time.monotonic() + 30
    drift = "-"
    while time.monotonic() < deadline:
        status = local_up.status(name)
        drift = status["drift"] if status else "-"
        if drift not in {"-", "none"}:
            break
        time.sleep(0.5)
    assert "instance" in drift.lower() and "3" in drift, drift


def _drift_of(
    local_up: LocalUp, name: str, done: Callable[[str], bool], timeout: float = 30
) -> str:
    deadline = time.monotonic() + timeout
    drift = "-"
    while time.monotonic() < deadline:
        status = local_up.status(name)
        drift = status["drift"] if status else "-"
        if done(drift):
            break
        time.sleep(0.5)
    return drift


def test_a_framework_endpoint_is_in_sync_until_scaled_by_hand(
    local_up: LocalUp, repo: Repo
) -> None:
    name = "e2e-framework-drift"
    document = declaration_dict(name, version=1, interval="1s")
    del document["spec"]["model"]["image"]
    document["spec"]["model"]["framework"] = {"name": "xgboost", "version": "1.7-1"}
    sha, _ = repo.declare(document, "v1 from the framework table")
    deployed = local_up.wait_for(name, sha, {"Succeeded"})
    # the drift function runs every 2 s here: four checks, and none found anything
    drift = _drift_of(local_up, name, lambda d: d not in {"-", "none"}, timeout=8)
    assert drift in {"-", "none"}, drift  # was "models[…].image: null → <resolved image>"
    local_up.client("sagemaker").update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[
            {"VariantName": deployed["candidate"]["name"], "DesiredInstanceCount": 5}
        ],
    )
    drift = _drift_of(local_up, name, lambda d: d not in {"-", "none"})
    assert "instanceCount" in drift and "5" in drift and "image" not in drift, drift


def test_selfheal_true_is_refused_where_the_operator_keeps_healing_off(
    local_up: LocalUp, repo: Repo
) -> None:
    name = "e2e-no-heal"  # `local up` without --self-heal: SMGITOPS_SELF_HEAL=false
    document = declaration_dict(name, version=1, interval="1s")
    sha, delivery = repo.push(
        {".smgitops.yaml": "selfHeal: true\n", f"endpoints/{name}.yaml": yaml.safe_dump(document)},
        "v1; asks for healing the operator does not allow",
    )
    assert delivery.status == 202
    waited = local_up.cli("wait", name, "--commit", sha, "--timeout", "45s")
    assert waited.returncode == 1 and "was invalid" in waited.stdout, waited
    shown = local_up.cli("pushes", "--commit", sha[:12]).stdout
    assert ".smgitops.yaml:1: selfHeal: true is wider than the operator allows" in shown, shown
    assert local_up.status(name) is None  # nothing deployed


@pytest.fixture(scope="module")
def healing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalUp]:
    """``local up --self-heal``: the operator allows healing (SMGITOPS_SELF_HEAL=true), the
    upper bound of every repository's ``selfHeal`` (off, ``selfHeal: true`` is refused)."""
    log = tmp_path_factory.mktemp("local-up-healing") / "stderr.log"
    options = ("--update-delay", "0.5", "--drift-interval", "2", "--self-heal")
    with running_local_up(log, *options) as up:
        yield up


def test_a_console_edit_is_healed_when_the_app_config_says_selfheal(
    healing: LocalUp, tmp_path: Path
) -> None:
    local_up, repo = healing, Repo(GitRemote(tmp_path / "models"), healing)
    name = "e2e-heal"
    document = declaration_dict(name, version=1, interval="1s", instance_count=2)
    sha, _ = repo.push(
        {".smgitops.yaml": "selfHeal: true\n", f"endpoints/{name}.yaml": yaml.safe_dump(document)},
        "v1; drift of this repository's endpoints is healed",
    )
    deployed = local_up.wait_for(name, sha, {"Succeeded"})
    variant = deployed["candidate"]["name"]
    sagemaker = local_up.client("sagemaker")
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[{"VariantName": variant, "DesiredInstanceCount": 5}],
    )  # scaled by hand in the console
    deadline = time.monotonic() + 60
    healed: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        status = local_up.status(name)
        if status and status["source"].get("provider") == "drift" and status["phase"] in {
            "Succeeded", "RolledBack", "Failed"
        }:  # fmt: skip
            healed = status
            break
        time.sleep(0.5)
    assert healed is not None and healed["phase"] == "Succeeded", healed
    assert healed["commit"] == sha and healed["selfHeal"] is True  # still this commit's config
    # the heal has asked for the declared count when it says Succeeded; SageMaker applies it
    # after its update (Updating, then InService), as it applies any weights-and-capacities call
    asked = sagemaker.describe_endpoint(EndpointName=name)["ProductionVariants"]
    assert [(v["VariantName"], v["DesiredInstanceCount"]) for v in asked] == [(variant, 2)]
    live = wait_for_status(sagemaker, name, "InService", timeout=30)["ProductionVariants"]
    assert [(v["VariantName"], v["CurrentInstanceCount"]) for v in live] == [(variant, 2)]
    history = json.loads(local_up.cli("history", name, "--output", "json").stdout)
    [drift] = [r for r in history if r["event"].startswith("drift: ")]
    assert "instanceCount" in drift["event"] and drift["details"]["heal"] == healed["rolloutId"]


def test_an_overloaded_candidate_trips_its_generated_cpu_alarm(
    local_up: LocalUp, repo: Repo
) -> None:
    name = "e2e-cpu"
    _deploy_v1(local_up, repo, name)
    cpu = {"metric": "CPUUtilization", "statistic": "Maximum", "max": 90, "period": 60}
    document = declaration_dict(
        name, version=2, interval="3s", steps=[50],
        environment={"SMGITOPS_SIM_CPU_PERCENT": "97"},  # serves fine, burns its instance
        analysis={"metrics": [cpu]},
    )  # fmt: skip
    with Traffic(local_up, name, pause=0.02):
        sha, _ = repo.declare(document, "v2: a model that saturates its instance")
        status = local_up.wait_for(name, sha, {"RolledBack", "Succeeded"}, timeout=60)
    assert status["phase"] == "RolledBack" and "CPUUtilization" in status["reason"], status
    candidate = status["candidate"]["name"]
    assert local_up.weights(name) == {status["stable"]["name"]: 100.0}
    left = [
        alarm["AlarmName"]
        for alarm in local_up.client("cloudwatch").describe_alarms()["MetricAlarms"]
        if {"Name": "VariantName", "Value": candidate} in alarm.get("Dimensions", [])
    ]
    assert left == []  # created with the rollout, deleted after it


def test_a_deploy_override_trailer_goes_through_a_freeze_and_is_recorded(
    local_up: LocalUp, repo: Repo
) -> None:
    name = "e2e-override"
    document = declaration_dict(name, version=1, interval="1s")
    sha, _ = repo.push(
        {
            ".smgitops.yaml": yaml.safe_dump(ALWAYS_FROZEN),
            f"endpoints/{name}.yaml": yaml.safe_dump(document),
        },
        "hotfix during the quarter close\n\nDeploy-Override: INC-7 churn model outage",
    )
    local_up.wait_for(name, sha, {"Succeeded"})
    history = json.loads(local_up.cli("history", name, "--output", "json").stdout)
    overridden = [r for r in history if r.get("details", {}).get("override")]
    assert overridden and overridden[0]["details"]["override"] == "INC-7 churn model outage"
    assert "quarter close" in overridden[0]["event"]


def _subscribe(local_up: LocalUp, name: str) -> str:
    """An SQS queue subscribed to the rollout topic (raw delivery): what a consumer would see."""
    sqs, sns = local_up.client("sqs"), local_up.client("sns")
    queue = sqs.create_queue(QueueName=f"{name}-events")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    [topic] = [t["TopicArn"] for t in sns.list_topics()["Topics"] if "smgitops" in t["TopicArn"]]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=attributes["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    return str(queue)


def _messages(local_up: LocalUp, queue: str, name: str, last: str) -> list[dict[str, Any]]:
    """The topic's rollout messages about ``name`` until one with phase ``last`` (the drift
    check's messages share the topic and carry no phase: not these)."""
    sqs = local_up.client("sqs")
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(m["phase"] == last for m in messages):
        out = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        bodies = [json.loads(raw["Body"]) for raw in out.get("Messages", [])]
        messages += [b for b in bodies if b.get("endpoint") == name and "phase" in b]
    return messages


def test_each_phase_change_is_published_to_the_topic(local_up: LocalUp, repo: Repo) -> None:
    name = "e2e-notify"
    queue = _subscribe(local_up, name)
    sha = _deploy_v1(local_up, repo, name)
    messages = _messages(local_up, queue, name, "Succeeded")
    phases = [(m["previousPhase"], m["phase"]) for m in messages]
    assert phases[-1] == ("Initializing", "Succeeded"), phases
    assert all(m["commit"] == sha and m["strategy"] == "canary" for m in messages)
    assert messages[-1]["reason"] and messages[-1]["weights"]


def test_the_commit_status_carries_the_reason_the_topic_publishes(
    local_up: LocalUp, repo: Repo, github: FakeGitHub
) -> None:
    name = "e2e-status"
    _deploy_v1(local_up, repo, name)
    queue = _subscribe(local_up, name)
    document = declaration_dict(name, version=2, interval="1s", gates=["beforeFirstStep"])
    sha, _ = repo.declare(document, "v2 behind a gate")
    local_up.wait_for(name, sha, {"Paused"})
    assert local_up.cli("abort", name, "--by", "alice").returncode == 0
    local_up.wait_for(name, sha, {"RolledBack"})
    [ended] = [
        m for m in _messages(local_up, queue, name, "RolledBack") if m["phase"] == "RolledBack"
    ]
    assert ended["reason"] == "aborted by alice"
    sent = [r for r in github.requests if r.path == f"/repos/acme/models/statuses/{sha}"]
    contexts = {(r.body["context"], r.body["state"]) for r in sent}
    assert {("smgitops/validate", "success"), (f"smgitops/{name}", "pending")} <= contexts
    [outcome] = [
        r for r in sent if r.body["context"] == f"smgitops/{name}" and r.body["state"] != "pending"
    ]
    assert outcome.body["state"] == "failure"
    assert ended["reason"] in outcome.body["description"]  # the same reason, one line
    assert outcome.headers["authorization"] == f"Bearer {GITHUB_TOKEN}"
