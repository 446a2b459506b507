"""Tick: the state machine's task. Load status, observe, decide, act, persist; answer
``{endpoint, rolloutId, phase, waitSeconds, done, gate, gateTimeoutSeconds}``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from smgitops.errors import STATE_MACHINE_RETRIES, for_state_machine
from smgitops.observability import count, logger
from smgitops.wiring.rollout import rollouts

if TYPE_CHECKING:
    from smgitops.rollout.tick import TickResult


class TickInput(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    endpoint: str = Field(min_length=1, max_length=63)
    rollout_id: str = Field(alias="rolloutId", min_length=1)
    abort_reason: str = Field(default="", alias="abortReason")
    task_token: str = Field(default="", alias="taskToken")


ENDED_METRICS = {
    "Succeeded": "RolloutSucceeded",
    "RolledBack": "RolloutRolledBack",
    "Failed": "RolloutFailed",
}


def publish(result: TickResult) -> None:
    """EMF metrics for the dashboard: rollouts ended, by outcome."""
    name = ENDED_METRICS.get(str(result.phase))
    if name and result.done:
        count(name, 1, endpoint=result.endpoint)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    del context
    request = TickInput.model_validate(event)
    try:
        result = rollouts().tick(
            request.endpoint,
            request.rollout_id,
            abort_reason=request.abort_reason,
            task_token=request.task_token,
        )
    except STATE_MACHINE_RETRIES as exc:
        exact = for_state_machine(exc)  # ErrorEquals matches the exact class name
        if exact is exc:
            raise
        raise exact from exc
    logger().info("tick", extra=result.as_output())
    publish(result)
    return result.as_output()
