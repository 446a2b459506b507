"""SNS publishing that never fails the caller: a message that cannot be sent is logged and
dropped (notifications are a courtesy, never a reason to stop a check or a rollout)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws import clients
from smgitops.observability import logger

if TYPE_CHECKING:
    from smgitops.drift.compare import DriftReport

MAX_SUBJECT = 100


class SnsPublisher:
    def __init__(self, topic_arn: str, client: Any = None) -> None:
        self.topic_arn = topic_arn
        self.client = client or clients.client("sns")

    def publish(self, subject: str, body: dict[str, Any], attributes: dict[str, str]) -> bool:
        """Compact JSON to the topic, with string message attributes (for subscription filters)."""
        try:
            self.client.publish(
                TopicArn=self.topic_arn,
                Subject=subject[:MAX_SUBJECT],
                Message=json.dumps(body, separators=(",", ":"), default=str),
                MessageAttributes={
                    key: {"DataType": "String", "StringValue": value}
                    for key, value in attributes.items()
                    if value
                },
            )
        except (ClientError, BotoCoreError) as exc:
            logger().warning("notification not sent", extra={"error": str(exc)})
            return False
        return True


class SnsDriftNotifier:
    """``{"event": "drift"|"driftResolved", "endpoint", "commit", "drift": [...], "cause"}``."""

    def __init__(self, publisher: SnsPublisher) -> None:
        self.publisher = publisher

    def drift(self, report: DriftReport) -> None:
        event = "drift" if report.drifted else "driftResolved"
        subject = f"smgitops {report.endpoint}: {'drift' if report.drifted else 'in sync again'}"
        self.publisher.publish(
            subject,
            {"event": event, **report.message()},
            {"endpoint": report.endpoint, "event": event},
        )
