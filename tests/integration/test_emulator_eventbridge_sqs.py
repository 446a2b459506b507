"""EventBridge → SQS delivery in the emulator, as strict as AWS (docs/emulator.md, "Strict like
AWS"): a FIFO target needs content-based deduplication (EventBridge cannot set a deduplication
id) and a message group; an event that cannot be delivered goes to the target's dead-letter
queue with EventBridge's attributes, or is dropped and recorded."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import pytest

from smgitops.local.emulator import deliveries, emulated_aws
from tests.support.emulator import ACCOUNT, REGION, client

if TYPE_CHECKING:
    from collections.abc import Iterator

RULE = "pushes"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{RULE}"
DETAIL = {"event": "referenceUpdated", "repositoryName": "ml-endpoints"}


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with emulated_aws():
        yield {"events": client("events"), "sqs": client("sqs")}


def queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def route(events: Any, target: dict[str, Any]) -> None:
    events.put_rule(Name=RULE, EventPattern=json.dumps({"source": ["aws.codecommit"]}))
    events.put_targets(Rule=RULE, Targets=[{"Id": "queue", **target}])


def put_event(events: Any) -> None:
    answer = events.put_events(
        Entries=[
            {
                "Source": "aws.codecommit",
                "DetailType": "CodeCommit Repository State Change",
                "Detail": json.dumps(DETAIL),
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0  # delivery is asynchronous: PutEvents succeeds


def receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])
    return messages


def test_a_fifo_target_without_content_based_deduplication_is_dead_lettered(
    aws: dict[str, Any],
) -> None:
    target_url, target_arn = queue(aws["sqs"], "pushes.fifo", FifoQueue="true")
    dlq_url, dlq_arn = queue(aws["sqs"], "pushes-dlq")
    route(
        aws["events"],
        {
            "Arn": target_arn,
            "SqsParameters": {"MessageGroupId": "ml-endpoints"},
            "DeadLetterConfig": {"Arn": dlq_arn},
        },
    )
    put_event(aws["events"])
    assert receive(aws["sqs"], target_url) == []
    (dead,) = receive(aws["sqs"], dlq_url)
    assert json.loads(dead["Body"])["detail"] == DETAIL
    attributes = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == RULE_ARN
    assert attributes["TARGET_ARN"] == target_arn
    assert attributes["ERROR_CODE"] == "INVALID_PARAMETER"
    assert "ContentBasedDeduplication" in attributes["ERROR_MESSAGE"]
    (failed,) = [d for d in deliveries() if d.target_arn == target_arn]
    assert not failed.ok and "ContentBasedDeduplication" in str(failed.error)


def test_a_fifo_target_without_a_message_group_is_refused_at_put_targets(
    aws: dict[str, Any],
) -> None:
    _, target_arn = queue(
        aws["sqs"], "pushes.fifo", FifoQueue="true", ContentBasedDeduplication="true"
    )
    with pytest.raises(aws["events"].exceptions.ClientError, match="SqsParameters must be"):
        route(aws["events"], {"Arn": target_arn})


def test_a_fifo_target_with_content_based_deduplication_gets_the_event(
    aws: dict[str, Any],
) -> None:
    target_url, target_arn = queue(
        aws["sqs"], "pushes.fifo", FifoQueue="true", ContentBasedDeduplication="true"
    )
    route(aws["events"], {"Arn": target_arn, "SqsParameters": {"MessageGroupId": "ml-endpoints"}})
    put_event(aws["events"])
    (message,) = receive(aws["sqs"], target_url)
    assert message["Attributes"]["MessageGroupId"] == "ml-endpoints"
    digest = hashlib.sha256(message["Body"].encode()).hexdigest()
    assert message["Attributes"]["MessageDeduplicationId"] == digest
    assert json.loads(message["Body"])["detail"] == DETAIL


def test_a_standard_queue_target_is_unchanged(aws: dict[str, Any]) -> None:
    target_url, target_arn = queue(aws["sqs"], "alarms")
    route(aws["events"], {"Arn": target_arn})
    put_event(aws["events"])
    (message,) = receive(aws["sqs"], target_url)
    assert json.loads(message["Body"])["detail"] == DETAIL


def test_a_target_queue_that_does_not_exist_is_dead_lettered(aws: dict[str, Any]) -> None:
    dlq_url, dlq_arn = queue(aws["sqs"], "pushes-dlq")
    missing = f"arn:aws:sqs:{REGION}:{ACCOUNT}:deleted"
    route(aws["events"], {"Arn": missing, "DeadLetterConfig": {"Arn": dlq_arn}})
    put_event(aws["events"])
    (dead,) = receive(aws["sqs"], dlq_url)
    assert dead["MessageAttributes"]["TARGET_ARN"]["StringValue"] == missing
    assert "does not exist" in dead["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"]
