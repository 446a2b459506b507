"""CloudWatch adapter: alarm states (one DescribeAlarms per tick) and generated alarms."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws import clients
from smgitops.aws.errors import translate
from smgitops.rollout.actions import Action, AlarmSpec, DeleteAlarms, PutAlarms
from smgitops.rollout.observation import AlarmView

MAX_NAMES = 100  # DescribeAlarms / DeleteAlarms accept 100 names per call


class CloudWatch:
    def __init__(self, client: Any = None) -> None:
        self.client = client or clients.client("cloudwatch")

    def alarm_states(self, names: list[str]) -> dict[str, AlarmView]:
        views: dict[str, AlarmView] = {}
        unique = list(dict.fromkeys(names))
        for start in range(0, len(unique), MAX_NAMES):
            try:
                out = self.client.describe_alarms(
                    AlarmNames=unique[start : start + MAX_NAMES],
                    AlarmTypes=["MetricAlarm", "CompositeAlarm"],
                )
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, "DescribeAlarms") from exc
            for alarm in [*out.get("MetricAlarms", []), *out.get("CompositeAlarms", [])]:
                views[alarm["AlarmName"]] = AlarmView(
                    name=alarm["AlarmName"],
                    state=alarm.get("StateValue", "INSUFFICIENT_DATA"),
                    reason=alarm.get("StateReason", ""),
                )
        return views

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
                Statistic=alarm.statistic,
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
