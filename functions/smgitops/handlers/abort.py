"""Abort: a CloudWatch "Alarm State Change" to ALARM sends the watching rollouts' traffic back
to the stable variant as soon as SageMaker accepts the weights call (it refuses one while it
applies the previous change); the next tick completes the rollback."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from smgitops.observability import logger
from smgitops.wiring.rollout import rollouts

if TYPE_CHECKING:
    from collections.abc import Callable


class _AlarmState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    value: str
    reason: str = ""


class _AlarmDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    alarm_name: str = Field(alias="alarmName")
    state: _AlarmState


class AlarmStateChange(BaseModel):
    """The EventBridge event CloudWatch sends on every alarm state change."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    source: Literal["aws.cloudwatch"]
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    detail: _AlarmDetail


MARGIN_S = 5.0  # seconds the function keeps for writing the status after the last try


def _time_left(context: Any) -> Callable[[], float] | None:
    """The function's remaining time minus a margin (None when invoked without a context)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return lambda: remaining() / 1000.0 - MARGIN_S


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Raises ``TransientError`` when SageMaker did not accept the weights within the function's
    time: Lambda's asynchronous retries deliver the event again."""
    change = AlarmStateChange.model_validate(event)
    alarm = change.detail.alarm_name
    if change.detail.state.value != "ALARM":
        return {"alarm": alarm, "state": change.detail.state.value, "endpoints": []}
    reason = change.detail.state.reason
    endpoints = rollouts().on_alarm(alarm, reason, time_left=_time_left(context))
    logger().info("alarm handled", extra={"alarm": alarm, "endpoints": endpoints})
    return {"alarm": alarm, "state": "ALARM", "endpoints": endpoints}
