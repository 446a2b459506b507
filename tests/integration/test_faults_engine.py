"""Fault injection on the rollout engine, against the emulator, with the state machine's own
error handling (:class:`Execution`): throttling bursts, UpdateEndpoint failing mid-rollout, the
endpoint going Failed, DynamoDB conditional-write conflicts, and a tick that dies after acting
and before persisting, at every action. Each test asserts how the rollout ends, that nothing is
left on SageMaker or CloudWatch, that the history says why, and records its row of the fault ×
outcome table (docs/reliability.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from smgitops.aws import clients
from smgitops.errors import TransientError
from smgitops.local.emulator.sagemaker import lifecycle
from smgitops.rollout import naming
from smgitops.rollout.actions import UpdateEndpoint
from smgitops.rollout.decide import candidate_ref
from smgitops.rollout.operate import Operating
from smgitops.rollout.status import Phase
from tests.support.faults import (
    ENDS,
    Bursts,
    Canary,
    CrashAfter,
    Execution,
    LambdaTimeout,
    NoSleep,
    current_status,
    history_line,
    inventory,
    record,
    resources_line,
    settled,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from smgitops.rollout.tick import TickResult
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


def _final_config(canary: Canary) -> str:
    """The candidate-only endpoint config the finalize step switches to."""
    return naming.config_name(canary.name, [candidate_ref(canary.candidate)])


def test_update_endpoint_refused_at_the_finalize_step(engine: Engine) -> None:
    """SageMaker refuses the candidate-only UpdateEndpoint (ValidationException): roll back."""
    canary = Canary.begin(engine, "refused-final")
    final = _final_config(canary)
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


# --- a tick that dies after acting, before persisting -------------------------------------------

CRASH = "Tick crashing after acting, before persisting"
KINDS: dict[str, type[Exception]] = {"transient": TransientError, "timeout": LambdaTimeout}


SCALING = {
    "minInstances": 1,
    "maxInstances": 3,
    "target": {"metric": "InvocationsPerInstance", "value": 200},
}


@dataclass(frozen=True)
class Plan:
    """One rollout to crash: its strategy settings, whether an alarm rolls it back, whether
    both versions declare autoscaling, or are serverless (blueGreen: a swap)."""

    label: str
    spec: dict[str, Any] = field(default_factory=dict)
    rollback: bool = False
    autoscaling: bool = False
    serverless: bool = False

    @property
    def report_only(self) -> bool:
        """A shadow run that stops: it succeeds with the stable model still serving."""
        return self.spec.get("strategy") == "shadow" and "shadow" not in self.spec

    @property
    def expected(self) -> Phase:
        return Phase.ROLLED_BACK if self.rollback else Phase.SUCCEEDED

    def serving(self, canary: Canary, phase: Phase) -> str:
        succeeded = phase == Phase.SUCCEEDED and not self.report_only
        return canary.candidate_variant if succeeded else canary.stable

    def target(self) -> tuple[int, int, bool] | None:
        """The serving variant's scalable target at the end: the declared range, not suspended
        (the candidate's after a promotion, the stable's as it was after a rollback)."""
        return (
            (SCALING["minInstances"], SCALING["maxInstances"], False) if self.autoscaling else None
        )

    def begin(self, engine: Engine, name: str) -> Canary:
        fields = {"autoscaling": SCALING} if self.autoscaling else {}
        if self.serverless:
            fields |= SERVERLESS
        return Canary.begin(engine, name, rollback=self.rollback, fields=fields, **self.spec)


SERVERLESS = {
    "instanceType": None,
    "instanceCount": None,
    "serverless": {"memorySizeMB": 2048, "maxConcurrency": 20},
}
STRATEGIES: dict[str, dict[str, Any]] = {
    "canary": {},
    "linear": {"strategy": "linear", "stepWeight": 50},
    "blueGreen": {"strategy": "blueGreen"},
    "abTest": {"strategy": "abTest", "split": 30},
    "shadow": {"strategy": "shadow"},
    "shadow-then-canary": {"strategy": "shadow", "shadow": {"then": "canary"}},
    "canary with gates": {"gates": ["beforeFirstStep", "beforePromotion"]},
}
PLANS = [
    *(Plan(label, spec) for label, spec in STRATEGIES.items()),
    *(Plan(f"{label} alarm-rollback", spec, rollback=True) for label, spec in STRATEGIES.items()),
    Plan("allAtOnce", {"strategy": "allAtOnce", "analysis": "none"}),
    Plan("canary autoscaling", autoscaling=True),
    Plan("canary autoscaling alarm-rollback", rollback=True, autoscaling=True),
    Plan("allAtOnce autoscaling", {"strategy": "allAtOnce", "analysis": "none"}, autoscaling=True),
    Plan("blueGreen serverless swap", STRATEGIES["blueGreen"], serverless=True),
    Plan(
        "blueGreen serverless swap alarm-rollback", STRATEGIES["blueGreen"], True, serverless=True
    ),
]


def _promote_when_paused(engine: Engine, name: str) -> Callable[[TickResult], None]:
    """An operator promoting an abTest held at its split (recorded; the next tick acts)."""

    def after(result: TickResult) -> None:
        status = current_status(engine, name)
        if result.phase == Phase.PAUSED and not status.promote:
            Operating.promote(engine.service, name, by="tester")

    return after


def _crash_case(
    engine: Engine, name: str, k: int, kind: type[Exception], plan: Plan
) -> tuple[Canary, CrashAfter, Execution]:
    canary = plan.begin(engine, name)
    crash = CrashAfter(engine.service, k, kind, name)
    try:
        execution = canary.execute(_promote_when_paused(engine, name))
    finally:
        crash.restore()
    return canary, crash, execution


def _final_update(canary: Canary, crash: CrashAfter) -> bool:
    action = crash.crashed_after
    return isinstance(action, UpdateEndpoint) and action.config == _final_config(canary)


TIMED_OUT = "tick failed: LambdaTimeout"


def _expectation(error: type[Exception], plan: Plan) -> str:
    """What the table says the history shows, for ``error`` crashing ``plan``."""
    if error is TransientError:
        return "the same end and reason as without the crash"
    if plan.rollback:
        return f"RolledBack; reason: the alarm's, or '{TIMED_OUT}' when the tick died first"
    return (
        f"RolledBack with reason '{TIMED_OUT}' (Succeeded when the tick that died had begun "
        "in Finalizing)"
    )


@pytest.mark.parametrize("plan", PLANS, ids=[p.label.replace(" ", "-") for p in PLANS])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_tick_crashing_after_each_action_converges(engine: Engine, kind: str, plan: Plan) -> None:
    """For every action of the rollout, a tick dies right after it. ``transient`` (the write
    failed: TransientError) is retried by the state machine and ends as if nothing happened.
    ``timeout`` (Lambda killed) is caught into the rollback loop with ``abortReason: tick
    failed: LambdaTimeout``: fail closed, it ends RolledBack (stable alone, as before) unless
    the tick that died had begun in Finalizing — the stable variant is off the endpoint and the
    rollout past its decision, so that tick's work is finished: Succeeded. Either way the
    endpoint serves one variant, the right one, with nothing left over, the config live before
    the rollout is still recorded as the stable one, and the status and history say why."""
    error = KINDS[kind]
    slug = PLANS.index(plan)  # short names: inventory() tells them apart by a 36-char prefix
    reference, clean, _ = _crash_case(engine, f"crash-{kind}-{slug}-0", 0, error, plan)
    first = current_status(engine, reference.name)
    assert first.phase == plan.expected, history_line(
        engine.service, reference.name, reference.rollout_id
    )
    settled(reference.name, plan.serving(reference, first.phase), plan.target())
    actions = len(clean.applied)
    assert actions >= 4, clean.applied
    ends: set[str] = set()
    for k in range(1, actions + 1):
        canary, crash, execution = _crash_case(engine, f"crash-{kind}-{slug}-{k}", k, error, plan)
        assert crash.crashed_after is not None and execution.errors == [error.__name__]
        where = (k, crash.crashed_in, crash.crashed_after.kind)
        status = current_status(engine, canary.name)
        history = history_line(engine.service, canary.name, canary.rollout_id)
        reasons = {first.reason.replace(reference.name, canary.name)}
        expected = plan.expected
        if error is LambdaTimeout and crash.crashed_in != Phase.FINALIZING:
            expected = Phase.ROLLED_BACK
            reasons = {TIMED_OUT} if not plan.rollback else {TIMED_OUT, *reasons}
        assert (status.phase, execution.end) == (expected, ENDS[expected]), (where, history)
        assert status.reason in reasons and status.reason in history, (where, history)
        assert status.stable_config == canary.stable_config, where
        assert inventory(canary.name).leaks() == [], (where, history)
        settled(canary.name, plan.serving(canary, status.phase), plan.target())
        ends.add(str(status.phase))
    record(
        CRASH,
        f"{plan.label}: {kind} after each of its {actions} actions",
        " or ".join(sorted(ends)),
        "InService, 1 variant (the right one); no model, config, alarm or scalable target left "
        "over (at every crash point)",
        _expectation(error, plan),
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_first_deploy_crashing_after_each_action_converges(engine: Engine, kind: str) -> None:
    """A first deploy (the rollout creates the endpoint), its tick dying after each action.
    ``transient``: retried, the endpoint is created, Succeeded ("created"). ``timeout``: the
    rollback loop asks for an abort; before the endpoint exists nothing is left (RolledBack),
    after CreateEndpoint there is nothing to roll back to, so the rollout ends Failed with the
    reason, the new endpoint left serving for a person to look at — as a timeout in the next
    tick (Initializing) ends — never Succeeded as if the model had been live before."""
    error = KINDS[kind]

    def crashed(k: int) -> tuple[Canary, CrashAfter, Execution]:
        canary = Canary.begin(engine, f"first-{kind}-{k}", first=True, analysis="none")
        crash = CrashAfter(engine.service, k, error, canary.name)
        try:
            return canary, crash, canary.execute()
        finally:
            crash.restore()

    reference, clean, _ = crashed(0)
    assert current_status(engine, reference.name).phase == Phase.SUCCEEDED
    settled(reference.name, reference.candidate_variant)
    assert [a.kind for a in clean.applied] == [
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
    ]
    ends: set[str] = set()
    for k in range(1, len(clean.applied) + 1):
        canary, crash, execution = crashed(k)
        assert crash.crashed_after is not None and execution.errors == [error.__name__]
        where = (k, crash.crashed_after.kind)
        status = current_status(engine, canary.name)
        history = history_line(engine.service, canary.name, canary.rollout_id)
        found = inventory(canary.name)
        ends.add(str(status.phase))
        if error is TransientError:
            assert (status.phase, status.reason, execution.end) == (
                Phase.SUCCEEDED,
                "created",
                "Done",
            ), (where, history)
            settled(canary.name, canary.candidate_variant)
        elif crash.crashed_after.kind != "CreateEndpoint":
            assert (status.phase, execution.end) == (Phase.ROLLED_BACK, "RolledBack"), (
                where,
                history,
            )
            assert (found.status, found.models, found.configs) == ("absent", (), ()), where
        else:
            assert (status.phase, execution.end) == (Phase.FAILED, "Failed"), (where, history)
            assert status.reason == TIMED_OUT and TIMED_OUT in history, (where, history)
            assert found.status == "InService" and found.leaks() == [], (where, found)
            assert found.weights == {canary.candidate_variant: 100.0}, found
    record(
        CRASH,
        f"first deploy: {kind} after each of its {len(clean.applied)} actions",
        " or ".join(sorted(ends)),
        "InService, 1 variant (the new one); nothing left over (at every crash point)"
        if error is TransientError
        else "no endpoint, nothing left (crash before CreateEndpoint); the new endpoint, "
        "InService, nothing left over (after it)",
        "the same end and reason as without the crash"
        if error is TransientError
        else f"RolledBack before the endpoint exists; after CreateEndpoint Failed with reason "
        f"'{TIMED_OUT}' (nothing to roll back to)",
    )


def test_a_tick_killed_after_the_finalize_update_still_ends_cleanly(engine: Engine) -> None:
    """The stable variant is already off the endpoint when the rollback loop starts: it must
    come back with the stable-only config, not with a weights call naming a missing variant."""
    reference, clean, _ = _crash_case(engine, "reference", 0, LambdaTimeout, PLANS[0])
    index = next(
        i
        for i, action in enumerate(clean.applied, start=1)
        if isinstance(action, UpdateEndpoint) and action.config == _final_config(reference)
    )
    canary, crash, _ = _crash_case(engine, "crash-final", index, LambdaTimeout, PLANS[0])
    assert _final_update(canary, crash)
    status = current_status(engine, canary.name)
    found = inventory(canary.name)
    ended_well = status.phase in {Phase.SUCCEEDED, Phase.ROLLED_BACK} and not found.leaks()
    record(
        CRASH,
        "canary: Lambda killed right after the candidate-only UpdateEndpoint",
        f"{status.phase}" + ("" if ended_well else " ✗"),
        resources_line(found),
        history_line(engine.service, canary.name, canary.rollout_id),
    )
    assert status.phase in {Phase.SUCCEEDED, Phase.ROLLED_BACK}
    variant = canary.candidate_variant if status.phase == Phase.SUCCEEDED else canary.stable
    settled(canary.name, variant)
