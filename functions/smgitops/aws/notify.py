"""Rollout notifications: each phase change to SNS as compact JSON (optional topic)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws import clients
from smgitops.observability import logger

if TYPE_CHECKING:
    from smgitops.rollout.status import RolloutStatus


class Notifier(Protocol):
    def phase_changed(self, status: RolloutStatus, previous: str) -> None: ...


def message(status: RolloutStatus, previous: str) -> dict[str, Any]:
    return {
        "endpoint": status.endpoint,
        "rolloutId": status.rollout_id,
        "commit": status.commit,
        "strategy": str(status.strategy),
        "phase": str(status.phase),
        "previousPhase": previous,
        "weights": status.weights,
        "reason": status.reason,
    }


class SnsNotifier:
    """Never fails a rollout: a notification that cannot be sent is logged and dropped."""

    def __init__(self, topic_arn: str, client: Any = None) -> None:
        self.topic_arn = topic_arn
        self.client = client or clients.client("sns")

    def phase_changed(self, status: RolloutStatus, previous: str) -> None:
        body = message(status, previous)
        try:
            self.client.publish(
                TopicArn=self.topic_arn,
                Subject=f"smgitops {status.endpoint}: {status.phase}"[:100],
                Message=json.dumps(body, separators=(",", ":")),
                MessageAttributes={
                    "endpoint": {"DataType": "String", "StringValue": status.endpoint},
                    "phase": {"DataType": "String", "StringValue": str(status.phase)},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            logger().warning("notification not sent", extra={"error": str(exc)})


class Notifiers:
    """Fan-out to several notifiers."""

    def __init__(self, *notifiers: Notifier) -> None:
        self.notifiers = notifiers

    def phase_changed(self, status: RolloutStatus, previous: str) -> None:
        for notifier in self.notifiers:
            notifier.phase_changed(status, previous)
