"""Execution names: one per push, so a branch reset to a deployed commit deploys it again.

Step Functions refuses an execution name for 90 days after its execution ended
(``StartExecutionInput.name``); moto refuses it for as long as the backend lives, which is at
least as strict. A start that Step Functions refuses is never reported as started.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from smgitops.aws import clients
from smgitops.aws.stepfunctions import Executions
from smgitops.rollout.status import Phase
from tests.builders import declaration
from tests.integration.conftest import Engine

NAME = "churn-predictor"
C1, C2 = "1" * 40, "2" * 40
DEFINITION = '{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}'
ROLE = "arn:aws:iam::123456789012:role/smgitops-rollout"


@pytest.fixture
def machine(engine: Engine) -> Executions:
    client = clients.client("stepfunctions")
    arn = client.create_state_machine(name="rollout", definition=DEFINITION, roleArn=ROLE)[
        "stateMachineArn"
    ]
    executions = Executions(arn)
    engine.service.executions = executions
    return executions


def _end(executions: Executions, rollout_id: str) -> None:
    """The execution ends as the state machine does after the last tick."""
    arn = executions.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{rollout_id}"
    executions.client.stop_execution(executionArn=arn)


def _status_of(executions: Executions, rollout_id: str) -> str:
    arn = executions.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{rollout_id}"
    return str(executions.client.describe_execution(executionArn=arn)["status"])


def _deploy(engine: Engine, executions: Executions, version: int, commit: str) -> str:
    outcome = engine.start(declaration(version=version), commit)
    assert outcome.kind == "started", outcome
    assert _status_of(executions, outcome.rollout_id) == "RUNNING"
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1][0] == Phase.SUCCEEDED, trail
    _end(executions, outcome.rollout_id)
    return outcome.rollout_id


def test_resetting_the_branch_to_a_deployed_commit_deploys_it_again(
    engine: Engine, machine: Executions
) -> None:
    first = _deploy(engine, machine, 1, C1)
    engine.clock.advance(60)
    _deploy(engine, machine, 2, C2)
    engine.clock.advance(60)
    again = _deploy(engine, machine, 1, C1)  # same commit, same declaration, a new push
    assert again != first
    status = engine.service.store.get(NAME)
    assert status is not None and status.commit == C1 and status.phase == Phase.SUCCEEDED


def test_a_redelivered_push_is_the_same_start(engine: Engine, machine: Executions) -> None:
    decl = declaration(version=1)
    first = engine.start(decl, C1, pushed_at=100.0)
    second = engine.start(decl, C1, pushed_at=100.0)
    assert first.kind == "started" and second.kind == "unchanged"
    assert second.rollout_id == first.rollout_id
    assert _status_of(machine, first.rollout_id) == "RUNNING"


class _Refusing:
    """Step Functions' answer for a name whose execution has ended."""

    def start(self, endpoint: str, rollout_id: str) -> bool:
        return False

    def release_gate(self, token: str, endpoint: str, rollout_id: str) -> bool:
        return False


def test_a_start_step_functions_refuses_is_failed_with_the_reason(engine: Engine) -> None:
    engine.service.executions = _Refusing()
    outcome = engine.start(declaration(version=1), C1)
    assert outcome.kind == "failed"
    assert "refused execution" in outcome.reason
    status = engine.service.store.get(NAME)
    assert status is not None and status.phase == Phase.FAILED and not status.active
    assert "refused execution" in status.reason


def test_the_emulator_refuses_the_name_of_an_ended_execution(
    engine: Engine, machine: Executions
) -> None:
    assert machine.start(NAME, "run-1") is True
    assert machine.start(NAME, "run-1") is True  # running, same input: the same execution
    _end(machine, "run-1")
    assert machine.start(NAME, "run-1") is False
    client: Any = machine.client
    with pytest.raises(ClientError) as caught:
        client.start_execution(stateMachineArn=machine.state_machine_arn, name="run-1", input="{}")
    assert caught.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
