"""The composition root: each function's service built once from the environment, one reset,
ports swapped there and nowhere else."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smgitops import wiring
from smgitops.aws.stepfunctions import Executions
from smgitops.local.runner import LocalExecutions
from smgitops.wiring.reconcile import reconciler
from smgitops.wiring.rollout import rollouts

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:smgitops-rollout"


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "SMGITOPS_TABLE": "first",
        "SMGITOPS_STATE_MACHINE_ARN": ARN,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SMGITOPS_TOPIC_ARN", raising=False)
    monkeypatch.delenv("SMGITOPS_GITHUB_TOKEN_SECRET", raising=False)
    wiring.reset()
    yield
    wiring.reset()


def test_a_functions_service_is_built_once_from_the_environment_until_reset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = rollouts()
    monkeypatch.setenv("SMGITOPS_TABLE", "second")
    assert rollouts() is first  # the environment is read once per container
    assert first.store.table == "first"  # type: ignore[attr-defined]
    wiring.reset()
    assert rollouts().store.table == "second"  # type: ignore[attr-defined]


def test_rollouts_start_on_step_functions_unless_a_runner_is_swapped_in() -> None:
    assert type(reconciler().engine.executions) is Executions
    wiring.swap_executions(LocalExecutions)
    engine = reconciler().engine  # built again: a service built before the swap is forgotten
    assert type(engine.executions) is LocalExecutions
    assert engine.executions.state_machine_arn == ARN  # type: ignore[union-attr]
    wiring.reset()  # the swap ends with the runtime that made it
    assert type(wiring.executions(ARN)) is Executions


def test_without_a_state_machine_the_engine_starts_nothing_and_notifies_nobody() -> None:
    service = rollouts()  # tick and abort: EngineSettings name no state machine
    assert service.executions is None
    assert service.notifier is None


def test_the_reconcile_function_creates_no_client_for_an_adapter_it_has_not_called(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cold start: the engine the reconcile function holds reaches SageMaker only in a tick."""
    from smgitops.aws import clients

    created: list[str] = []
    real = clients.client

    def recording(service: str, *args: object, **kwargs: object) -> object:
        created.append(service)
        return real(service, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(clients, "client", recording)
    engine = reconciler().engine
    assert not {"sagemaker", "cloudwatch", "application-autoscaling"} & set(created)
    assert engine.sagemaker.client is engine.sagemaker.client  # created on first use, once
    assert created.count("sagemaker") == 1
