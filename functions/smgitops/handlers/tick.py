"""Tick: the state machine's task. Load status, observe, decide, act, persist; answer
``{endpoint, rolloutId, phase, waitSeconds, done, gate, gateTimeoutSeconds, ticks}``, and
``continueAsNew``/``nextExecution`` when this execution should hand the rollout to a fresh one.

A Standard execution ends at 25,000 history events or after one year ("Step Functions service
quotas", https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html). A rollout
held for months (an abTest split, a long bake, SageMaker updates that take days) continues
as new before either: after :data:`TICKS_PER_EXECUTION` ticks (about 9 events each, so about
9,000 events with room for retries) or :data:`MAX_EXECUTION_AGE_S`, the definition starts an
execution of the same rollout named :func:`next_execution` and this one succeeds."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from smgitops import clock
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
    # Given by the definition's main loop ($.ticks, $$.Execution.Name, $$.Execution.StartTime)
    ticks: int | None = Field(default=None, ge=0)
    execution: str = ""
    execution_started_at: str = Field(default="", alias="executionStartedAt")


TICKS_PER_EXECUTION = 1000
"""Ticks of the main loop before the rollout continues in a new execution (~9 events each)."""
MAX_EXECUTION_AGE_S = 300 * 86400
"""Continue in a new execution before a Standard execution's one year runs out."""
MAX_EXECUTION_NAME = 80
_GENERATION = re.compile(r"^(?P<base>.+)-c(?P<n>\d{1,6})$")


def next_execution(name: str) -> str:
    """The deterministic name of the execution that continues ``name``: ``<base>-c<n+1>``
    (``-c1`` after the first), within Step Functions' 80 characters. The same execution
    always names the same successor, so a retried start finds it rather than a second one."""
    found = _GENERATION.match(name)
    base, generation = (found["base"], int(found["n"])) if found else (name, 0)
    suffix = f"-c{generation + 1}"
    return f"{base[: MAX_EXECUTION_NAME - len(suffix)]}{suffix}"


def _age(started_at: str) -> float:
    if not started_at:
        return 0.0
    started = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    return clock.now() - started.timestamp()


def continuation(request: TickInput, result: TickResult) -> dict[str, Any]:
    """What the definition's main loop needs to count ticks and to continue as new."""
    if request.ticks is None:  # the rollback loop, or an older definition
        return {}
    ticks = request.ticks + 1
    out: dict[str, Any] = {"ticks": ticks}
    worn = ticks >= TICKS_PER_EXECUTION or _age(request.execution_started_at) >= MAX_EXECUTION_AGE_S
    # never while a gate waits on its task token: a gate is one task, bounded by gateTimeout
    if worn and request.execution and not (result.done or result.gate):
        out |= {"continueAsNew": True, "nextExecution": next_execution(request.execution)}
    return out


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
    output = result.as_output() | continuation(request, result)
    logger().info("tick", extra=output)
    publish(result)
    return output
