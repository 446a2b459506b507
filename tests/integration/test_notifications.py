"""Every phase change goes to the SNS topic as one compact JSON message."""

from __future__ import annotations

import json

from smgitops.aws import clients
from smgitops.aws.notify import SnsNotifier
from tests.builders import declaration
from tests.integration.conftest import Engine

NAME = "churn-predictor"


def test_each_phase_change_is_published_as_compact_json(engine: Engine) -> None:
    sns, sqs = clients.client("sns"), clients.client("sqs")
    topic = sns.create_topic(Name="smgitops-rollouts")["TopicArn"]
    queue = sqs.create_queue(QueueName="watcher")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    engine.service.notifier = SnsNotifier(topic)
    engine.deploy(declaration(version=1), "1" * 40)
    second = engine.start(declaration(version=2, steps=[50]), "2" * 40)
    engine.run(NAME, second.rollout_id)
    messages = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        messages += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )
    phases = [(m["commit"][:1], m["phase"]) for m in messages]
    assert phases == [
        ("1", "Pending"), ("1", "Initializing"), ("1", "Succeeded"),
        ("2", "Pending"), ("2", "Initializing"), ("2", "Progressing"),
        ("2", "Promoting"), ("2", "Finalizing"), ("2", "Succeeded"),
    ]  # fmt: skip
    last = messages[-1]
    assert set(last) == {
        "endpoint", "rolloutId", "commit", "strategy", "phase", "previousPhase", "weights",
        "reason", "owner",
    }  # fmt: skip
    assert last["endpoint"] == NAME and last["previousPhase"] == "Finalizing"
    assert list(last["weights"].values()) == [100.0]


def test_a_team_subscribes_to_the_endpoints_its_repository_owns(engine: Engine) -> None:
    sns, sqs = clients.client("sns"), clients.client("sqs")
    topic = sns.create_topic(Name="smgitops-rollouts")["TopicArn"]
    queue = sqs.create_queue(QueueName="risk-team")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    risk = "https://github.com/acme/risk"
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"owner": [risk]})},
    )
    engine.service.notifier = SnsNotifier(topic)
    for name, owner in (("fraud-scorer", risk), (NAME, "https://github.com/acme/churn")):
        outcome = engine.service.start(
            declaration(name=name), commit="1" * 40, pushed_at=1.0, source={"identity": owner}
        )
        engine.run(name, outcome.rollout_id)
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(m["Body"]) for m in received]
    assert bodies and {(b["endpoint"], b["owner"]) for b in bodies} == {("fraud-scorer", risk)}
