"""CloudWatch adapter: alarm states (one DescribeAlarms per tick) and generated alarms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws import clients
from smgitops.aws.errors import translate
from smgitops.declaration.metrics import is_percentile
from smgitops.rollout.actions import Action, AlarmSpec, DeleteAlarms, PutAlarms
from smgitops.rollout.observation import AlarmView

MAX_NAMES = 100  # DescribeAlarms / DeleteAlarms accept 100 names per call
MAX_RECORDS = 100  # DescribeAlarms returns 50 alarms a page unless asked for up to 100


class CloudWatch:
    client = clients.LazyClient("cloudwatch")

    def __init__(self, client: Any = None) -> None:
        if client is not None:
            self.client = client

    def alarm_states(self, names: list[str]) -> dict[str, AlarmView]:
        """The alarms among ``names`` that exist (an absent name does not exist).

        Every page is read: AWS returns 50 alarms a page by default, so a name past the
        50th would otherwise look like an alarm that is not there.
        """
        views: dict[str, AlarmView] = {}
        unique = list(dict.fromkeys(names))
        for start in range(0, len(unique), MAX_NAMES):
            for alarm in self._describe(unique[start : start + MAX_NAMES]):
                views[alarm["AlarmName"]] = AlarmView(
                    name=alarm["AlarmName"],
                    state=alarm.get("StateValue", "INSUFFICIENT_DATA"),
                    reason=alarm.get("StateReason", ""),
                    since=_epoch(alarm.get("StateUpdatedTimestamp")),
                )
        return views

    def missing(self, names: list[str]) -> list[str]:
        """The names among ``names`` that no alarm has (DescribeAlarms just leaves them out)."""
        found = self.alarm_states(names)
        return [name for name in dict.fromkeys(names) if name not in found]

    def _describe(self, names: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "AlarmNames": names,
            "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
            "MaxRecords": MAX_RECORDS,
        }
        while True:
            try:
                out = self.client.describe_alarms(**request)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, "DescribeAlarms") from exc
            found += [*out.get("MetricAlarms", []), *out.get("CompositeAlarms", [])]
            token = out.get("NextToken")
            if not token:
                return found
            request["NextToken"] = token

    def handles(self, action: Action) -> bool:
        return isinstance(action, PutAlarms | DeleteAlarms)

    def apply(self, action: Action) -> None:
        if isinstance(action, PutAlarms):
            for alarm in action.alarms:
                self._put(alarm)
        elif isinstance(action, DeleteAlarms):
            for start in range(0, len(action.names), MAX_NAMES):
                try:
                    self.client.delete_alarms(AlarmNames=action.names[start : start + MAX_NAMES])
                except (ClientError, BotoCoreError) as exc:
                    raise translate(exc, "DeleteAlarms") from exc
        else:
            raise TypeError(f"CloudWatch cannot apply {action.kind}")

    def _put(self, alarm: AlarmSpec) -> None:
        try:
            self.client.put_metric_alarm(
                AlarmName=alarm.name,
                AlarmDescription=(
                    f"smgitops: {alarm.metric} {alarm.statistic} > {alarm.threshold:g} on "
                    f"{alarm.endpoint}/{alarm.variant} (created and deleted by the rollout)"
                ),
                Namespace=alarm.namespace,
                MetricName=alarm.metric,
                Dimensions=[
                    {"Name": "EndpointName", "Value": alarm.endpoint},
                    {"Name": "VariantName", "Value": alarm.variant},
                ],
                **_statistic(alarm.statistic),
                Period=alarm.period,
                EvaluationPeriods=1,
                DatapointsToAlarm=1,
                Threshold=alarm.threshold,
                ComparisonOperator="GreaterThanThreshold",
                TreatMissingData="notBreaching",
                Tags=[
                    {"Key": "smgitops:managed", "Value": "true"},
                    {"Key": "smgitops:endpoint", "Value": alarm.endpoint},
                ],
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "PutMetricAlarm") from exc


def _statistic(statistic: str) -> dict[str, str]:
    """``Statistic`` for Sum, Average…; ``ExtendedStatistic`` for a percentile such as p99."""
    return (
        {"ExtendedStatistic": statistic} if is_percentile(statistic) else {"Statistic": statistic}
    )


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else None
