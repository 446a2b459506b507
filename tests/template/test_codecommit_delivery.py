"""The CodeCommit rule, its push queue and its dead-letter queue as template.yaml declares them,
created in the emulator (which delivers EventBridge → SQS FIFO as strictly as AWS does)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from smgitops.handlers import reconcile
from smgitops.ingest.work import PushWork
from smgitops.local.emulator import emulated_aws
from tests.conftest import load_event
from tests.support.emulator import ACCOUNT, client
from tests.template.cfn import Deployment, deployed_resources

if TYPE_CHECKING:
    from collections.abc import Iterator

REPOSITORY = f"arn:aws:codecommit:us-east-1:{ACCOUNT}:ml-endpoints"
DEPLOYMENT = Deployment(
    "codecommit",
    parameters={"RepositoryUrls": "x", "CodeCommitRepositoryArn": REPOSITORY},
)
QUEUE_ATTRIBUTES = (
    "FifoQueue",
    "ContentBasedDeduplication",
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "RedrivePolicy",
)


def create_queue(sqs: Any, logical: str, properties: dict[str, Any]) -> str:
    attributes = {
        key: json.dumps(value) if isinstance(value, dict) else str(value).lower()
        for key, value in properties.items()
        if key in QUEUE_ATTRIBUTES
    }
    url: str = sqs.create_queue(QueueName=DEPLOYMENT.physical_name(logical), Attributes=attributes)[
        "QueueUrl"
    ]
    return url


@pytest.fixture
def stack() -> Iterator[dict[str, str]]:
    """The stack's queues and CodeCommit rule, with the names (so the ARNs) the template gives."""
    created = deployed_resources(DEPLOYMENT)
    with emulated_aws():
        sqs, events = client("sqs"), client("events")
        urls = {
            name: create_queue(sqs, name, r["Properties"])
            for name, r in sorted(created.items(), key=lambda item: "RedrivePolicy" in str(item))
            if r["Type"] == "AWS::SQS::Queue"
        }
        rule = created["CodeCommitPushRule"]["Properties"]
        name = DEPLOYMENT.physical_name("CodeCommitPushRule")
        events.put_rule(Name=name, EventPattern=json.dumps(rule["EventPattern"]))
        events.put_targets(Rule=name, Targets=rule["Targets"])
        yield urls


def receive(queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (
        client("sqs")
        .receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        .get("Messages", [])
    )
    return messages


def put(event: dict[str, Any]) -> None:
    answer = client("events").put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "Resources": event["resources"],
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0


def test_a_codecommit_push_reaches_the_push_queue(stack: dict[str, str]) -> None:
    put(load_event("codecommit-reference-updated.json"))
    (message,) = receive(stack["PushQueue"])
    assert message["Attributes"]["MessageGroupId"] == "ml-endpoints"
    assert isinstance(reconcile.work_from(message["Body"], branch="main"), PushWork)
    assert receive(stack["CodeCommitDeadLetterQueue"]) == []


def test_the_rule_dead_letters_to_a_standard_queue_it_may_send_to() -> None:
    created = deployed_resources(DEPLOYMENT)
    (target,) = created["CodeCommitPushRule"]["Properties"]["Targets"]
    dead_letters = DEPLOYMENT.arn("CodeCommitDeadLetterQueue")
    assert target["DeadLetterConfig"] == {"Arn": dead_letters}
    # EventBridge dead-letter queues are standard queues (EventBridge user guide).
    assert "FifoQueue" not in created["CodeCommitDeadLetterQueue"]["Properties"]
    (statement,) = created["CodeCommitDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == dead_letters
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": DEPLOYMENT.arn("CodeCommitPushRule")}
    }
