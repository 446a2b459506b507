"""Fault injection on the rollout engine, against the emulator, with the state machine's own
error handling (:class:`Execution`): throttling bursts, UpdateEndpoint failing mid-rollout, the
endpoint going Failed, DynamoDB conditional-write conflicts. Each test asserts how the rollout
ends, that nothing is left on SageMaker or CloudWatch, that the history says why, and records
its row of the fault × outcome table (docs/reliability.md). A tick that dies after acting and
before persisting: test_faults_crash.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from smgitops.aws import clients
from smgitops.local.emulator.sagemaker import lifecycle
from smgitops.rollout.status import Phase
from tests.support.faults import (
    Bursts,
    Canary,
    NoSleep,
    current_status,
    history_line,
    inventory,
    record,
    resources_line,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.conftest import Engine

# --- throttling ---------------------------------------------------------------------------------

THROTTLING = "Throttling bursts on every SageMaker and CloudWatch call"
SAGEMAKER_HOST = "api.sagemaker.us-east-1.amazonaws.com"
CLOUDWATCH_HOST = "monitoring.us-east-1.amazonaws.com"


@pytest.mark.parametrize("rollback", [False, True], ids=["canary", "alarm-rollback"])
@pytest.mark.parametrize(
    ("throttled", "passed"), [(2, 1), (6, 8)], ids=["within-retries", "beyond-retries"]
)
def test_throttling_bursts(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, rollback: bool, throttled: int, passed: int
) -> None:
    """2 of every 3 attempts refused: botocore's standard retries absorb it. Bursts of 6 (more
    than its 5 attempts): calls fail with TransientError and the state machine retries the tick."""
    name = f"throttle-{throttled}-{int(rollback)}"
    canary = Canary.begin(engine, name, rollback=rollback)
    sleeps = NoSleep()
    monkeypatch.setattr("botocore.endpoint.time", sleeps)
    bursts = Bursts(throttled, passed).install("sagemaker", "cloudwatch")
    execution = canary.execute()
    bursts.active = False  # the checks below are not part of the fault
    assert set(bursts.refused) == {SAGEMAKER_HOST, CLOUDWATCH_HOST}
    assert min(bursts.refused.values()) >= throttled and sum(bursts.refused.values()) > 15
    assert len(sleeps.slept) >= sum(bursts.refused.values()) // 2  # botocore's back-offs
    assert ("TransientError" in execution.errors) == (throttled > 4)
    expected = Phase.ROLLED_BACK if rollback else Phase.SUCCEEDED
    case = (
        f"{'alarm rollback' if rollback else 'canary'}; {throttled} of every "
        f"{throttled + passed} attempts throttled"
    )
    canary.conclude(THROTTLING, case, execution, expected)


# --- UpdateEndpoint failing, the endpoint going Failed ------------------------------------------

UPDATE_FAILS = "UpdateEndpoint failing mid-rollout"
ENDPOINT_FAILED = "The endpoint going Failed"


def test_update_endpoint_refused_at_the_finalize_step(engine: Engine) -> None:
    """SageMaker refuses the candidate-only UpdateEndpoint (ValidationException): roll back."""
    canary = Canary.begin(engine, "refused-final")
    final = canary.final_config
    refused: list[str] = []

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if params.get("EndpointConfigName") == final:
            refused.append(final)
            raise _validation("Cannot update: account-level instance limit exceeded")

    clients.client("sagemaker").meta.events.register(
        "before-parameter-build.sagemaker.UpdateEndpoint", refuse
    )
    execution = canary.execute()
    assert refused
    canary.conclude(UPDATE_FAILS, "refused at the finalize step", execution, Phase.ROLLED_BACK)
    status = engine.service.store.get(canary.name)
    assert status is not None and "instance limit exceeded" in status.reason


def _validation(message: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "ValidationException", "Message": message}}, "UpdateEndpoint"
    )


def _fail_deploys_of(variants: set[str], reason: str) -> Callable[..., str | None]:
    original = lifecycle._deploy_failure

    def failure(backend: Any, deployed: list[dict[str, Any]]) -> str | None:
        if {str(v["VariantName"]) for v in deployed} == variants:
            return reason
        return original(backend, deployed)

    return failure


def test_update_endpoint_failing_asynchronously_at_the_finalize_step(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The update is accepted, then fails: SageMaker keeps the old config InService and sets a
    FailureReason. The engine rolls back with that reason."""
    canary = Canary.begin(engine, "async-final")
    reason = "Failed to download model data for the candidate-only config"
    monkeypatch.setattr(
        lifecycle, "_deploy_failure", _fail_deploys_of({canary.candidate_variant}, reason)
    )
    execution = canary.execute()
    case = "fails after it was accepted (SageMaker keeps the old config)"
    canary.conclude(UPDATE_FAILS, case, execution, Phase.ROLLED_BACK)
    status = engine.service.store.get(canary.name)
    assert status is not None and reason in status.reason


@pytest.mark.parametrize("step", ["initialize", "finalize"])
def test_endpoint_going_failed_ends_the_rollout_failed_with_the_reason(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """A Failed endpoint accepts no update, so nothing can be rolled back: the rollout ends
    Failed (not stuck), with SageMaker's reason in the status and the history, and the alarms
    it created are deleted."""
    name = f"failed-{step}"
    environment = (
        {"SMGITOPS_SIM_DEPLOY_FAILURE": "container exited"} if step == "initialize" else {}
    )
    canary = Canary.begin(engine, name, environment=environment)
    monkeypatch.setattr(lifecycle.SETTINGS, "failure_mode", "failed")
    if step == "finalize":
        monkeypatch.setattr(
            lifecycle,
            "_deploy_failure",
            _fail_deploys_of({canary.candidate_variant}, "container exited"),
        )
    execution = canary.execute()
    status = engine.service.store.get(name)
    assert status is not None
    found = inventory(name)
    history = history_line(engine.service, name, canary.rollout_id)
    record(
        ENDPOINT_FAILED,
        f"during the {step} update",
        f"{status.phase}",
        resources_line(found),
        history,
    )
    assert (status.phase, execution.end) == (Phase.FAILED, "Failed")
    assert found.status == "Failed" and "container exited" in status.reason
    assert "RollingBack → Failed" in history and "container exited" in history
    assert found.alarms == ()


@pytest.mark.parametrize("step", ["initialize", "finalize"])
def test_a_failed_rollout_leaves_only_what_the_failed_endpoint_uses(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    name = f"failed-clean-{step}"
    environment = (
        {"SMGITOPS_SIM_DEPLOY_FAILURE": "container exited"} if step == "initialize" else {}
    )
    canary = Canary.begin(engine, name, environment=environment)
    monkeypatch.setattr(lifecycle.SETTINGS, "failure_mode", "failed")
    if step == "finalize":
        monkeypatch.setattr(
            lifecycle,
            "_deploy_failure",
            _fail_deploys_of({canary.candidate_variant}, "container exited"),
        )
    canary.execute()
    assert current_status(engine, name).phase == Phase.FAILED
    assert inventory(name).leaks() == []


# --- DynamoDB conditional-write conflicts -------------------------------------------------------

CONFLICTS = "DynamoDB conditional-write conflicts"


def _concurrent_writer(engine: Engine, losses_per_tick: int, act: Callable[[str], None]) -> None:
    """Between the tick's load and its save, another writer changes the status (``act``),
    ``losses_per_tick`` times per tick (then the tick's write goes through)."""
    store = engine.service.store
    original = store.get
    done_with: list[float] = [-1.0]  # the tick (by its status's updated_at) already disturbed
    losses: list[int] = [0]

    def get(endpoint: str) -> Any:
        status = original(endpoint)
        if status is not None and status.active and done_with[0] != status.updated_at:
            losses[0] += 1
            if losses[0] >= losses_per_tick:
                done_with[0], losses[0] = status.updated_at, 0
            act(endpoint)
        return status

    store.get = get  # type: ignore[method-assign]


@pytest.mark.parametrize("losses", [1, 3], ids=["once-per-tick", "every-attempt-of-a-tick"])
def test_a_concurrent_writer_bumps_the_version_between_load_and_save(
    engine: Engine, losses: int
) -> None:
    """The tick's write loses (ConflictError); it reloads and decides again (3 times in the
    service, then the state machine retries the tick). Converges to the same end."""
    canary = Canary.begin(engine, f"conflict-{losses}")
    store = engine.service.store
    bumps: list[int] = []

    def bump(endpoint: str) -> None:
        current = current_status(engine, endpoint)
        store.save(current.evolve(updated_at=current.updated_at), expected_version=current.version)
        bumps.append(current.version)

    _concurrent_writer(engine, losses, bump)
    execution = canary.execute()
    assert len(bumps) >= 5
    assert ("ConflictError" in execution.errors) == (losses >= 3)
    case = f"{losses} lost write(s) per tick"
    canary.conclude(CONFLICTS, case, execution, Phase.SUCCEEDED)


def test_an_operator_abort_between_the_ticks_load_and_save_wins(engine: Engine) -> None:
    canary = Canary.begin(engine, "conflict-abort")
    aborted: list[str] = []
    service = engine.service

    def abort(endpoint: str) -> None:
        status = current_status(engine, endpoint)
        if not aborted and status.phase == Phase.PROGRESSING:
            aborted.append(endpoint)
            service.abort(endpoint, by="alice")

    original = service.store.get

    def get(endpoint: str) -> Any:
        status = original(endpoint)
        abort(endpoint)
        return status

    service.store.get = get  # type: ignore[method-assign]
    execution = canary.execute()
    assert aborted
    canary.conclude(CONFLICTS, "operator abort between load and save", execution, Phase.ROLLED_BACK)
    status = current_status(engine, canary.name)
    assert status.reason == "aborted by alice"
