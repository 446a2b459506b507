"""Harness for running the real rollout ASL on moto's executor with in-process functions.

Used by the ASL tests here; a test with the real tick handler only swaps the scripted fake for
``local_sfn.as_task_function(tick.handler, TICK_ARN)``.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import TYPE_CHECKING, Any

from smgitops.local.emulator import stepfunctions as local_sfn

if TYPE_CHECKING:
    from moto.core.config import DefaultConfig

    from smgitops.local.emulator.stepfunctions import TaskFunction

REGION = "us-east-1"
TICK_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:smgitops-tick"
START = {"endpoint": "churn-predictor", "rolloutId": "r-0001"}
DEADLINE_S = 30
EXECUTE: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}}


def step(
    phase: str, *, wait: int = 0, done: bool = False, gate: bool = False, gate_timeout: int = 0
) -> dict[str, Any]:
    return {
        "phase": phase,
        "waitSeconds": wait,
        "done": done,
        "gate": gate,
        "gateTimeoutSeconds": gate_timeout,
    }


class ScriptedTick:
    """A fake tick function: answers (or raises) from a script, records every event it got."""

    def __init__(self, *script: dict[str, Any] | Exception) -> None:
        self.script = list(script)
        self.calls: list[dict[str, Any]] = []
        self.token_seen = threading.Event()
        self.token: str | None = None

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(event)
        if "taskToken" in event:
            self.token = event["taskToken"]
            self.token_seen.set()
        if not self.script:
            raise RuntimeError("script exhausted")
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        echoed = {"ticks": event["ticks"] + 1} if "ticks" in event else {}  # as handlers/tick.py
        return {"endpoint": event["endpoint"], "rolloutId": event["rolloutId"], **echoed, **answer}

    def kinds(self) -> list[str]:
        """Each call as 'tick', 'gate' (with a task token) or 'abort: <reason>'."""
        return [
            "gate"
            if "taskToken" in c
            else f"abort: {c['abortReason']}"
            if "abortReason" in c
            else "tick"
            for c in self.calls
        ]


class Runner:
    """The rollout state machine in one moto backend, its tick routed in-process."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.arn = local_sfn.ensure_state_machine(client, {"TickFunctionArn": TICK_ARN})

    def start(self, tick: TaskFunction, execution_input: dict[str, Any] | None = None) -> str:
        local_sfn.register_function(TICK_ARN, tick)
        started = self.client.start_execution(
            stateMachineArn=self.arn,
            name=f"test-{uuid.uuid4().hex}",  # moto's executor needs a name to be unique
            input=json.dumps(execution_input or START),
        )
        arn: str = started["executionArn"]
        return arn

    def wait(self, execution_arn: str) -> dict[str, Any]:
        return local_sfn.wait_for_execution(self.client, execution_arn, timeout_s=DEADLINE_S)

    def run(self, tick: TaskFunction) -> dict[str, Any]:
        return self.wait(self.start(tick))
