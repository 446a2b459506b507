"""The error contract between the tick function and the rollout state machine.

Step Functions matches ``ErrorEquals`` by the EXACT error name (the Python runtime reports the
class name as ``errorType``), never by class hierarchy. So every error a tick can raise must
reach the state machine under a name its ``Retry`` lists, or be one the ``Catch`` takes into
the rollback loop on purpose.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from typing import Any

import pytest

import smgitops
from smgitops import errors
from smgitops.handlers import tick
from smgitops.local import runner
from smgitops.local.emulator import stepfunctions as local_sfn
from tests.template.rollout_harness import START, TICK_ARN

LAMBDA_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
# Errors that end in the rollback loop on purpose (States.ALL): retrying cannot fix them.
CAUGHT = {
    errors.SmgitopsError: "the base: only its subclasses are raised",
    errors.NotFoundError: "the status or endpoint is gone: nothing to roll forward",
    errors.ActionRejectedError: "AWS refused the action; the tick already fell back",
    errors.ConfigurationError: "the function is misconfigured",
    errors.DeclarationError: "the stored declaration is invalid",
    errors.SignatureError: "webhook only",
    errors.BadRequestError: "webhook only",
    errors.PayloadTooLargeError: "webhook only",
    errors.GitFetchError: "reconcile only",
    errors.CommitNotOnBranchError: "reconcile only",
    errors.ImageResolutionError: "the bundled image table has no image: retrying cannot help",
    errors.QuotaUnreadableError: "caught in the tick's observe: the rollout is refused, naming "
    "the permission (rollout/tick.py)",
}


def _definition() -> dict[str, Any]:
    return json.loads(local_sfn.ASL_PATH.read_text())


def _retried(state: str) -> set[str]:
    retry = _definition()["States"][state]["Retry"]
    return {name for rule in retry for name in rule["ErrorEquals"]}


def _every_error() -> list[type[errors.SmgitopsError]]:
    found: list[type[errors.SmgitopsError]] = []
    todo: list[type[errors.SmgitopsError]] = [errors.SmgitopsError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda c: c.__name__)


def _raised_by_tick(error: Exception, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ``errorType`` the state machine sees when the tick's service raises ``error``."""

    class Raising:
        def tick(self, *_: Any, **__: Any) -> Any:
            raise error

    monkeypatch.setattr(tick, "rollouts", Raising)
    function = local_sfn.as_task_function(tick.handler, TICK_ARN)
    answer = local_sfn.invoke_registered(function, json.dumps(START))
    return str(answer["Payload"]["errorType"])


def _instance(cls: type[errors.SmgitopsError]) -> errors.SmgitopsError:
    if cls is errors.ActionRejectedError:
        return cls("UpdateEndpoint", "ValidationException")
    if cls is errors.DeclarationError:
        return cls(["bad"])
    return cls("boom")


def test_every_state_that_calls_the_tick_retries_the_same_names() -> None:
    names = {e.__name__ for e in errors.STATE_MACHINE_RETRIES}
    for state in ("Tick", "WaitForGate", "RollbackTick"):
        assert names | LAMBDA_ERRORS <= _retried(state), state
        assert _retried(state) == _retried("Tick"), state


def test_a_transient_subclass_escaping_a_tick_is_retried_under_the_exact_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    busy = errors.EndpointBusyError("UpdateEndpoint: endpoint is being updated")
    assert _raised_by_tick(busy, monkeypatch) in _retried("Tick")
    unavailable = errors.DependencyUnavailableError("Secrets Manager unreachable")
    assert _raised_by_tick(unavailable, monkeypatch) == "TransientError"


@pytest.mark.parametrize("cls", _every_error(), ids=lambda c: c.__name__)
def test_every_error_a_tick_can_raise_is_retried_or_caught_on_purpose(
    cls: type[errors.SmgitopsError], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _raised_by_tick(_instance(cls), monkeypatch)
    if issubclass(cls, errors.STATE_MACHINE_RETRIES):
        assert name in _retried("Tick") and name in _retried("RollbackTick")
    else:
        assert cls in CAUGHT, f"{cls.__name__}: retry it (a TransientError) or add it to CAUGHT"
        assert name not in _retried("Tick")


def test_every_error_class_lives_in_errors_py() -> None:
    for module in pkgutil.walk_packages(smgitops.__path__, "smgitops."):
        importlib.import_module(module.name)
    assert {c.__module__ for c in _every_error()} == {"smgitops.errors"}


def test_the_local_runner_retries_by_exact_name_like_step_functions() -> None:
    assert runner.retried(errors.TransientError("throttled"))
    assert runner.retried(errors.ConflictError("stale"))
    assert not runner.retried(errors.EndpointBusyError("busy"))  # AWS would not retry it either
    assert not runner.retried(errors.ActionRejectedError("UpdateEndpoint", "invalid"))
