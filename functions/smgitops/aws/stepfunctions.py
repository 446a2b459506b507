"""Step Functions adapter: one execution per rollout, named so a retry cannot start it twice."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws import clients
from smgitops.aws.errors import code_of, translate


class Executions:
    def __init__(self, state_machine_arn: str, client: Any = None) -> None:
        self.state_machine_arn = state_machine_arn
        self.client = client or clients.client("stepfunctions")

    def start(self, endpoint: str, rollout_id: str) -> bool:
        """Start the rollout's execution; True also when it is running already (a retried start:
        Step Functions answers a running execution's name and input with that execution).

        False: the name belongs to an execution that has ended (or had another input), which
        Step Functions refuses for 90 days: this start cannot happen.
        """
        try:
            self.client.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=rollout_id,
                input=json.dumps({"endpoint": endpoint, "rolloutId": rollout_id}),
            )
        except ClientError as exc:
            if code_of(exc) == "ExecutionAlreadyExists":
                return False
            raise translate(exc, "StartExecution") from exc
        except BotoCoreError as exc:
            raise translate(exc, "StartExecution") from exc
        return True

    def release_gate(self, token: str, endpoint: str, rollout_id: str) -> bool:
        """Answer a manual gate's task token; False when the token is gone (timed out)."""
        try:
            self.client.send_task_success(
                taskToken=token, output=json.dumps({"endpoint": endpoint, "rolloutId": rollout_id})
            )
        except ClientError as exc:
            if code_of(exc) in {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}:
                return False
            raise translate(exc, "SendTaskSuccess") from exc
        except BotoCoreError as exc:
            raise translate(exc, "SendTaskSuccess") from exc
        return True
