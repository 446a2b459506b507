"""Abort: a CloudWatch "Alarm State Change" to ALARM sends the watching rollouts' traffic back
to the stable variant at once (one SageMaker call); the next tick completes the rollback."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from smgitops.observability import logger
from smgitops.rollout.service import RolloutService
from smgitops.settings import EngineSettings


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


@cache
def service() -> RolloutService:
    return RolloutService.from_settings(EngineSettings.from_env())


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    del context
    change = AlarmStateChange.model_validate(event)
    alarm = change.detail.alarm_name
    if change.detail.state.value != "ALARM":
        return {"alarm": alarm, "state": change.detail.state.value, "endpoints": []}
    endpoints = service().on_alarm(alarm, change.detail.state.reason)
    logger().info("alarm handled", extra={"alarm": alarm, "endpoints": endpoints})
    return {"alarm": alarm, "state": "ALARM", "endpoints": endpoints}
