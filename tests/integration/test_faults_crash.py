"""A tick that dies after acting and before persisting, at every action of every strategy,
against the emulator with the state machine's own error handling (:class:`Execution`):
``TransientError`` (retried) or a Lambda timeout (caught into the rollback loop). Each test
asserts how the rollout ends and why, what the endpoint serves, that nothing is left over
(models, configs, generated alarms, scalable targets), and records its row of the fault ×
outcome table (docs/reliability.md). Its own module: the longest fault tests, so that
``--dist loadscope`` runs them beside the others."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from smgitops.declaration.models import Declaration
from smgitops.errors import ActionRejectedError, EndpointBusyError, TransientError
from smgitops.rollout import naming
from smgitops.rollout.actions import UpdateEndpoint
from smgitops.rollout.operate import Operating
from smgitops.rollout.status import Phase
from tests.builders import declaration
from tests.support.faults import (
    ENDS,
    Canary,
    CrashAfter,
    Execution,
    LambdaTimeout,
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

# --- a tick that dies after acting, before persisting -------------------------------------------

CRASH = "Tick crashing after acting, before persisting"
C3 = "3" * 40
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
    Plan("blueGreen autoscaling", STRATEGIES["blueGreen"], autoscaling=True),
    Plan("blueGreen autoscaling alarm-rollback", STRATEGIES["blueGreen"], True, autoscaling=True),
    Plan("shadow-then-canary autoscaling", STRATEGIES["shadow-then-canary"], autoscaling=True),
    Plan("abTest autoscaling", STRATEGIES["abTest"], autoscaling=True),
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
    return isinstance(action, UpdateEndpoint) and action.config == canary.final_config


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


# Every plan with both crash kinds is about 55 cases of up to 30 crash points each: minutes of
# CPU, more than CI's budget. By default one plan per strategy (and one with autoscaling, one
# alarm rollback, one serverless swap) runs, each with one crash kind, alternating down the list
# so that both kinds are exercised; SMGITOPS_FULL_FAULTS=1 runs the whole matrix
# (docs/reliability.md: how the fault table is regenerated).
FULL_MATRIX = os.environ.get("SMGITOPS_FULL_FAULTS") == "1"
DEFAULT_PLANS = {
    *STRATEGIES,
    "allAtOnce",
    "canary alarm-rollback",
    "canary autoscaling",
    "blueGreen serverless swap",
}


def _matrix() -> list[Any]:
    kinds = sorted(KINDS)
    plans = PLANS if FULL_MATRIX else [p for p in PLANS if p.label in DEFAULT_PLANS]
    return [
        pytest.param(kind, plan, id=f"{kind}-{plan.label.replace(' ', '-')}")
        for index, plan in enumerate(plans)
        for kind in (kinds if FULL_MATRIX else [kinds[index % len(kinds)]])
    ]


@pytest.mark.parametrize(("kind", "plan"), _matrix())
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


def _superseded(engine: Engine, name: str, k: int, kind: type[Exception]) -> Superseding:
    """v2's canary at 10 %, then v3 pushed (queued): v3's execution drives v2's rollback, the
    hand-over and v3's own rollout, its ticks dying after the k-th action."""
    canary = Canary.begin(engine, name)
    for _ in range(2):  # Initializing, then the first step
        engine.tick(name, canary.rollout_id)
    assert current_status(engine, name).phase == Phase.PROGRESSING
    newer = declaration(name, version=3, steps=[10, 50], analysis="none")
    outcome = engine.start(newer, C3)
    assert outcome.kind == "queued", outcome
    crash = CrashAfter(engine.service, k, kind, name)
    execution = Execution(engine.service, engine.clock, name, outcome.rollout_id)
    try:
        execution.run()
    finally:
        crash.restore()
    return Superseding(canary, newer, outcome.rollout_id, crash, execution)


@dataclass(frozen=True)
class Superseding:
    older: Canary
    newer: Declaration
    rollout_id: str
    crash: CrashAfter
    execution: Execution


@pytest.mark.parametrize("kind", sorted(KINDS) if FULL_MATRIX else ["transient"])
def test_a_superseded_rollout_crashing_after_each_action_converges(
    engine: Engine, kind: str
) -> None:
    """The newer rollout's execution (v2 back to stable, hand-over, v3), a tick dying after
    each action: v2 always ends Superseded; v3 ends Succeeded (``transient``), or, for a
    ``timeout``, RolledBack to v1 with the reason unless its tick had begun in Finalizing."""
    error = KINDS[kind]
    clean = _superseded(engine, f"sup-{kind}-0", 0, error)
    assert current_status(engine, clean.older.name).phase == Phase.SUCCEEDED
    newest = naming.variant_name(clean.newer)
    settled(clean.older.name, newest)
    actions = len(clean.crash.applied)
    ends: set[str] = set()
    for k in range(1, actions + 1):
        run = _superseded(engine, f"sup-{kind}-{k}", k, error)
        name, crash = run.older.name, run.crash
        assert crash.crashed_after is not None and run.execution.errors == [error.__name__]
        where = (k, crash.crashed_in, crash.crashed_after.kind)
        status = current_status(engine, name)
        history = history_line(engine.service, name, run.rollout_id)
        older = history_line(engine.service, name, run.older.rollout_id)
        assert older.split(";")[0].endswith("Superseded"), (where, older)
        expected, reason = Phase.SUCCEEDED, "promoted"
        if error is LambdaTimeout and crash.crashed_in != Phase.FINALIZING:
            expected, reason = Phase.ROLLED_BACK, TIMED_OUT
        assert status.rollout_id == run.rollout_id, where
        assert (status.phase, run.execution.end) == (expected, ENDS[expected]), (where, history)
        assert status.reason == reason and reason in history, (where, history)
        assert status.stable_config == run.older.stable_config, where
        assert inventory(name).leaks() == [], (where, history)
        settled(name, newest if expected == Phase.SUCCEEDED else run.older.stable)
        ends.add(str(status.phase))
    record(
        CRASH,
        f"superseded canary (v2 at 10 %, v3 queued): {kind} after each of the {actions} "
        "actions of v3's execution",
        " or ".join(sorted(ends)),
        "InService, 1 variant (the right one); nothing left over (at every crash point)",
        "v2 Superseded; v3 " + _expectation(error, PLANS[0]),
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
        if isinstance(action, UpdateEndpoint) and action.config == reference.final_config
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


def _first_update_refused(engine: Engine, name: str, error: Exception) -> Canary:
    """An autoscaled canary whose first UpdateEndpoint (after the tick suspended the stable's
    scale-in) SageMaker refuses with ``error``, run to its end; an alarm rolls it back."""
    plan = Plan("canary autoscaling alarm-rollback", rollback=True, autoscaling=True)
    canary = plan.begin(engine, name)
    adapter: Any = engine.service.sagemaker
    original = adapter.apply
    refused: list[str] = []

    def apply(action: Any) -> None:
        if isinstance(action, UpdateEndpoint) and not refused:
            refused.append(action.config)
            raise error
        original(action)

    adapter.apply = apply
    try:
        execution = canary.execute()
    finally:
        adapter.apply = original
    assert refused
    status = current_status(engine, canary.name)
    history = history_line(engine.service, name, canary.rollout_id)
    assert (status.phase, execution.end) == (Phase.ROLLED_BACK, "RolledBack"), history
    settled(canary.name, canary.stable, plan.target())  # its scale-in no longer suspended
    return canary


def test_a_first_tick_refused_busy_after_holding_the_stable_keeps_its_scaling_as_it_was(
    engine: Engine,
) -> None:
    """Busy: the next tick must not take the held target for the one to restore."""
    _first_update_refused(engine, "busy-after-hold", EndpointBusyError("in-progress endpoint"))


def test_a_first_tick_whose_update_is_rejected_rolls_back_what_it_made(engine: Engine) -> None:
    """Rejected for good (ValidationException): the stable variant is known (written ahead),
    so the rollout rolls back — the endpoint untouched, the candidate's model and config and
    the alarms deleted, the stable's scaling restored — not Failed with them left behind."""
    error = ActionRejectedError("update_endpoint", "Cannot update: instance limit exceeded")
    canary = _first_update_refused(engine, "rejected-after-hold", error)
    status = current_status(engine, canary.name)
    assert status.reason == "update_endpoint rejected: Cannot update: instance limit exceeded"
