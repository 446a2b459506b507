"""Rollout notifications: each phase change, and each failed check that holds a rollout
without changing its phase, to SNS as compact JSON (optional topic) and to the commit on GitHub.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws import clients
from smgitops.observability import logger
from smgitops.urls import STATUS_PROVIDERS, identity_of, status_target

if TYPE_CHECKING:
    from smgitops.aws.github import State
    from smgitops.rollout.status import RolloutStatus


PHASE_CHANGED = "phaseChanged"
CHECK_FAILED = "checkFailed"  # a failed check below maxFailedChecks: held, same phase


class Notifier(Protocol):
    def phase_changed(self, status: RolloutStatus, previous: str) -> None: ...

    def check_failed(self, status: RolloutStatus) -> None: ...


def message(status: RolloutStatus, previous: str, event: str = PHASE_CHANGED) -> dict[str, Any]:
    return {
        "event": event,
        "endpoint": status.endpoint,
        "rolloutId": status.rollout_id,
        "commit": status.commit,
        "strategy": str(status.strategy),
        "phase": str(status.phase),
        "previousPhase": previous,
        "weights": status.weights,
        "failedChecks": status.failed_checks,
        "reason": status.reason,
        "owner": status.owner,
    }


class SnsNotifier:
    """Never fails a rollout: a notification that cannot be sent is logged and dropped."""

    def __init__(self, topic_arn: str, client: Any = None) -> None:
        self.topic_arn = topic_arn
        self.client = client or clients.client("sns")

    def phase_changed(self, status: RolloutStatus, previous: str) -> None:
        self._publish(status, message(status, previous), str(status.phase))

    def check_failed(self, status: RolloutStatus) -> None:
        body = message(status, str(status.phase), CHECK_FAILED)
        self._publish(status, body, f"failed check {status.failed_checks}")

    def _publish(self, status: RolloutStatus, body: dict[str, Any], what: str) -> None:
        try:
            self.client.publish(
                TopicArn=self.topic_arn,
                Subject=f"smgitops {status.endpoint}: {what}"[:100],
                Message=json.dumps(body, separators=(",", ":")),
                MessageAttributes=_attributes(status, body["event"]),
            )
        except (ClientError, BotoCoreError) as exc:
            logger().warning("notification not sent", extra={"error": str(exc)})


def _attributes(status: RolloutStatus, event: str) -> dict[str, dict[str, str]]:
    """What a subscription's filter policy can select on: the event, the endpoint, the phase,
    and the owning repository (a team subscribes to its own endpoints only); SNS refuses empty
    values."""
    values = {
        "event": event,
        "endpoint": status.endpoint,
        "phase": str(status.phase),
        "owner": status.owner,
    }
    return {k: {"DataType": "String", "StringValue": v} for k, v in values.items() if v}


class Notifiers:
    """Fan-out to several notifiers."""

    def __init__(self, *notifiers: Notifier) -> None:
        self.notifiers = notifiers

    def phase_changed(self, status: RolloutStatus, previous: str) -> None:
        for notifier in self.notifiers:
            notifier.phase_changed(status, previous)

    def check_failed(self, status: RolloutStatus) -> None:
        for notifier in self.notifiers:
            notifier.check_failed(status)


GITHUB_STATES: dict[str, State] = {
    "Succeeded": "success",
    "RolledBack": "failure",
    "Failed": "error",
    "Superseded": "error",
}


class GitHubNotifier:
    """The rollout's outcome as a commit status on the commit that caused it.

    ``pending`` is set by the reconcile when the rollout starts; this sets the end:
    ``success`` / ``failure`` / ``error`` with the one-line reason, context
    ``smgitops/<endpoint>``. Never raises: GitHub being down fails no deploy.
    """

    def __init__(self, statuses: Any) -> None:
        self.statuses = statuses  # () -> GitHubStatuses | None, created with a fresh token

    def phase_changed(self, status: RolloutStatus, previous: str) -> None:
        del previous
        state = GITHUB_STATES.get(str(status.phase))
        if state is not None:
            self._post(status, state, outcome_line(status))

    def check_failed(self, status: RolloutStatus) -> None:
        """Still ``pending``, saying why: ``failed check 1/2: holding at 10 % for …``."""
        self._post(status, "pending", status.reason.splitlines()[0] if status.reason else "")

    def _post(self, status: RolloutStatus, state: State, description: str) -> None:
        # The status target derives from the clone URL the allow-list matched, never fullName.
        url = status.source.get("repository", "")
        target = status_target(identity_of(url)) if url else ""
        if status.source.get("provider") not in STATUS_PROVIDERS or not target:
            return
        try:
            poster = self.statuses()
        except Exception as exc:  # a token that cannot be read: log, never fail the rollout
            logger().warning("commit status not sent", extra={"error": type(exc).__name__})
            return
        if poster is None:
            return
        poster.post(target, status.commit, state, f"smgitops/{status.endpoint}", description)


def outcome_line(status: RolloutStatus) -> str:
    """``rolled back: alarm churn-5xx-rate in ALARM at 25 %`` and the like (one line)."""
    words = {
        "Succeeded": "deployed",
        "RolledBack": "rolled back",
        "Failed": "failed",
        "Superseded": "superseded",
    }
    head = words.get(str(status.phase), str(status.phase).lower())
    reason = status.reason.splitlines()[0] if status.reason else ""
    return f"{head}: {reason}" if reason else head
