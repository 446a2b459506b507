"""Every phase change, and every failed check that holds a rollout, goes to the SNS topic as
one compact JSON message."""

from __future__ import annotations

import json
from typing import Any

from smgitops.aws import clients
from smgitops.aws.notify import SnsNotifier
from tests.builders import declaration
from tests.integration.conftest import Engine
from tests.support.emulator import put_manual_alarm

NAME = "churn-predictor"


def _subscribed_queue(engine: Engine, name: str, policy: dict[str, list[str]] | None = None) -> str:
    """A queue subscribed (raw delivery, ``policy`` as its filter) to a topic the engine
    notifies."""
    sns, sqs = clients.client("sns"), clients.client("sqs")
    topic = sns.create_topic(Name="smgitops-rollouts")["TopicArn"]
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    attributes = {"RawMessageDelivery": "true"}
    if policy is not None:
        attributes["FilterPolicy"] = json.dumps(policy)
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn["Attributes"]["QueueArn"],
        Attributes=attributes,
    )
    engine.service.notifier = SnsNotifier(topic)
    return queue


def _received(queue: str) -> list[dict[str, Any]]:
    sqs = clients.client("sqs")
    messages: list[dict[str, Any]] = []
    for _ in range(100):  # bounded: a notifier that loops must fail, not hang
        batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages")
        if not batch:
            return messages
        messages += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )
    raise AssertionError("the queue never emptied")


def test_each_phase_change_is_published_as_compact_json(engine: Engine) -> None:
    queue = _subscribed_queue(engine, "watcher")
    engine.deploy(declaration(version=1), "1" * 40)
    second = engine.start(declaration(version=2, steps=[50]), "2" * 40)
    engine.run(NAME, second.rollout_id)
    messages = _received(queue)
    assert {m["event"] for m in messages} == {"phaseChanged"}
    phases = [(m["commit"][:1], m["phase"]) for m in messages]
    assert phases == [
        ("1", "Pending"), ("1", "Initializing"), ("1", "Succeeded"),
        ("2", "Pending"), ("2", "Initializing"), ("2", "Progressing"),
        ("2", "Promoting"), ("2", "Finalizing"), ("2", "Succeeded"),
    ]  # fmt: skip
    last = messages[-1]
    assert set(last) == {
        "event", "endpoint", "rolloutId", "commit", "strategy", "phase", "previousPhase",
        "weights", "failedChecks", "reason", "owner",
    }  # fmt: skip
    assert last["endpoint"] == NAME and last["previousPhase"] == "Finalizing"
    assert list(last["weights"].values()) == [100.0]


def test_a_team_subscribes_to_the_endpoints_its_repository_owns(engine: Engine) -> None:
    risk = "https://github.com/acme/risk"
    queue = _subscribed_queue(engine, "risk-team", {"owner": [risk]})
    for name, owner in (("fraud-scorer", risk), (NAME, "https://github.com/acme/churn")):
        outcome = engine.service.start(
            declaration(name=name), commit="1" * 40, pushed_at=1.0, source={"identity": owner}
        )
        engine.run(name, outcome.rollout_id)
    bodies = _received(queue)
    assert bodies and {(b["endpoint"], b["owner"]) for b in bodies} == {("fraud-scorer", risk)}


def test_a_failed_check_that_holds_the_step_is_published_with_its_count(engine: Engine) -> None:
    """No phase changes when a failed check holds a step below ``maxFailedChecks``; the team
    still hears of it (as Flagger's "Halt advancement" warning), and can filter on the event."""
    queue = _subscribed_queue(engine, "watcher")
    holds = _subscribed_queue(engine, "holds-only", {"event": ["checkFailed"]})
    put_manual_alarm(engine.cloudwatch, "churn-5xx-rate")
    engine.deploy(declaration(version=1), "1" * 40)
    decl = declaration(
        version=2, steps=[10, 50], maxFailedChecks=2, analysis={"alarms": ["churn-5xx-rate"]}
    )
    rollout_id = engine.start(decl, "2" * 40).rollout_id
    candidate = engine.to_first_step(NAME, rollout_id).candidate.name
    _received(queue)  # the phase changes so far
    engine.cloudwatch.set_alarm_state(
        AlarmName="churn-5xx-rate", StateValue="ALARM", StateReason="Threshold Crossed: 3 > 1"
    )
    engine.tick(NAME, rollout_id)  # held at 10 %
    (held,) = _received(queue)
    assert (held["event"], held["phase"], held["previousPhase"]) == (
        "checkFailed", "Progressing", "Progressing"
    )  # fmt: skip
    assert held["failedChecks"] == 1 and held["weights"][candidate] == 10.0
    assert held["reason"].startswith("failed check 1/2: holding at 10 % for another 30s: ")
    engine.tick(NAME, rollout_id)  # the alarm still in ALARM at the held step's end: 2/2
    (rolled_back,) = _received(queue)  # one message: the rollback is a phase change
    assert (rolled_back["event"], rolled_back["phase"], rolled_back["failedChecks"]) == (
        "phaseChanged", "RollingBack", 2
    )  # fmt: skip
    assert [m["event"] for m in _received(holds)] == ["checkFailed"]
