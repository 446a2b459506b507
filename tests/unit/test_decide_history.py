"""What a rollout's history says, tick by tick: phase, traffic, wait, notes and actions.

The notes are what ``smgitops status`` and the history show an operator; the waits are what the
state machine sleeps; the actions are what reaches AWS. Each test states a whole trail, so a
decision that says the wrong thing, acts twice or sleeps the wrong time fails here. Every loop is
bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smgitops.rollout.status import Phase, RolloutStatus
from tests.builders import declaration
from tests.unit.fake_world import World
from tests.unit.test_decide import NAME, deployed, start, tick

# The content-addressed names of the builder's declarations: version 1 is the stable model,
# version 2 the candidate. Pinned: a rollout in flight while smgitops is upgraded must find the
# models and configs it created under the same names.
STABLE_VARIANT = "v-9197ccb82e75"
STABLE_MODEL = "smg-churn-predictor-6e16a11859"
CANDIDATE_VARIANT = "v-ba5e5015cad4"
CANDIDATE_MODEL = "smg-churn-predictor-cb94eb9ee7"
BOTH_CONFIG = "smg-churn-predictor-382d44729df5"  # stable 100 + candidate 0
FINAL_CONFIG = "smg-churn-predictor-6fda939be316"  # the candidate alone
STABLE_ONLY_CONFIG = "smg-churn-predictor-5f8a45f74e66"  # the stable variant alone
SHADOW_CONFIG = "smg-churn-predictor-fd312fa2b0ae"  # stable, candidate as a 100 % shadow
ADDING = f"adding candidate {CANDIDATE_VARIANT} at 0 % beside stable {STABLE_VARIANT}"
PROMOTING = "100 % on the candidate; stable kept warm for one interval"
FINALIZING = f"replacing the endpoint config with {FINAL_CONFIG} (candidate only)"
SUCCEEDED = "rollout succeeded; old variant removed"
REMOVING = f"removing the candidate: endpoint config {STABLE_ONLY_CONFIG}"
ROLLED_BACK = "rolled back: the candidate is off the endpoint"
ADD = ("CreateModel", "CreateEndpointConfig", "UpdateEndpoint")  # the candidate beside stable
GATE = "waiting at gate beforeFirstStep: smgitops promote churn-predictor (or abort)"

Tick = tuple[str, float | None, int, tuple[str, ...], tuple[str, ...]]


def history(
    world: World,
    status: RolloutStatus,
    limit: int = 40,
    before: Callable[[int, World, RolloutStatus], RolloutStatus] | None = None,
) -> tuple[RolloutStatus, list[Tick]]:
    """(phase, candidate %, wait, notes, action kinds) of every tick until the rollout ends."""
    trail: list[Tick] = []
    for index in range(limit):
        if before is not None:
            status = before(index, world, status)
        decision = tick(world, status)
        status = decision.status
        percent = (
            world.percent(NAME).get(status.candidate.name) if NAME in world.endpoints else None
        )
        kinds = tuple(action.kind for action in decision.actions)
        trail.append((status.phase.value, percent, decision.wait_seconds, decision.notes, kinds))
        if status.done:
            return status, trail
    return status, trail


def rollout(**kwargs: Any) -> tuple[World, RolloutStatus]:
    world = World()
    deployed(world)
    return world, start(declaration(version=2, **kwargs), world)


def test_the_names_of_models_and_configs_are_stable_across_releases() -> None:
    world, status = rollout(strategy="shadow")
    history(world, status)
    assert world.models == {STABLE_MODEL}  # the observed candidate is removed again
    created = [a.name for a in world.applied if a.kind == "CreateEndpointConfig"]
    assert created[-2:] == [SHADOW_CONFIG, STABLE_ONLY_CONFIG]
    assert [a.name for a in world.applied if a.kind == "CreateModel"][-1] == CANDIDATE_MODEL
    world, status = rollout(steps=[50])
    history(world, status)
    created = [a.name for a in world.applied if a.kind == "CreateEndpointConfig"]
    assert created[-2:] == [BOTH_CONFIG, FINAL_CONFIG]
    assert world.models == {CANDIDATE_MODEL}


def test_a_canary_says_each_step_and_sleeps_one_interval_per_step() -> None:
    world, status = rollout(steps=[20, 50])
    final, trail = history(world, status)
    step_2 = "step 2: 50 % on the candidate"
    assert trail == [
        ("Initializing", 0.0, 6, (ADDING,), ADD),
        ("Progressing", 20.0, 30, ("step 1: 20 % on the candidate",), ("SetWeights",)),
        ("Progressing", 50.0, 30, ("step 1 passed its checks", step_2), ("SetWeights",)),
        ("Promoting", 100.0, 30, ("step 2 passed its checks", PROMOTING), ("SetWeights",)),
        ("Finalizing", 100.0, 6, (FINALIZING,), ("CreateEndpointConfig", "UpdateEndpoint")),
        ("Succeeded", 100.0, 0, (SUCCEEDED,), ("DeleteUnused",)),
    ]  # fmt: skip
    assert final.reason == "promoted"
    assert final.stable == final.candidate and final.weights == {CANDIDATE_VARIANT: 100.0}


def test_blue_green_bakes_at_zero_without_a_weights_call_then_switches() -> None:
    world, status = rollout(strategy="blueGreen")
    _, trail = history(world, status)
    assert trail == [
        ("Initializing", 0.0, 6, (ADDING,), ADD),
        ("Progressing", 0.0, 30, ("step 1: 0 % on the candidate",), ()),
        ("Promoting", 100.0, 30, ("step 1 passed its checks", PROMOTING), ("SetWeights",)),
        ("Finalizing", 100.0, 6, (FINALIZING,), ("CreateEndpointConfig", "UpdateEndpoint")),
        ("Succeeded", 100.0, 0, (SUCCEEDED,), ("DeleteUnused",)),
    ]  # fmt: skip


def test_a_shadow_report_says_what_it_copies_and_how_long_it_observes() -> None:
    world, status = rollout(strategy="shadow", shadow={"samplingPercent": 40})
    _, trail = history(world, status)
    assert [(phase, wait, notes, kinds) for phase, _, wait, notes, kinds in trail] == [
        ("Initializing", 6, (f"shadow: 40 % of requests copied to {CANDIDATE_VARIANT}",),
         ADD),
        ("Progressing", 30, ("shadow run: observing the candidate for 30s, no user traffic",), ()),
        ("Finalizing", 6, ("shadow report complete (then: stop): removing the shadow variant",),
         ("CreateEndpointConfig", "UpdateEndpoint")),
        ("Succeeded", 0, ("shadow run ended; the stable model serves alone, as before",),
         ("DeleteUnused",)),
    ]  # fmt: skip


def test_an_alarm_counted_then_breached_again_rolls_back_and_says_why() -> None:
    world, status = rollout(steps=[20, 50], analysis={"alarms": ["a1"]}, maxFailedChecks=2)
    world.alarms["a1"] = "OK"

    def alarm(index: int, world: World, status: RolloutStatus) -> RolloutStatus:
        world.alarms["a1"] = "ALARM" if index >= 2 else "OK"
        return status

    final, trail = history(world, status, before=alarm)
    at_20 = "alarm a1 in ALARM at 20 %: a1 breached"
    held = f"failed check 1/2: holding at 20 % for another 30s: {at_20}"
    assert trail == [
        ("Initializing", 0.0, 6, (ADDING,), ADD),
        ("Progressing", 20.0, 30, ("step 1: 20 % on the candidate",), ("SetWeights",)),
        ("Progressing", 20.0, 30, (held,), ()),  # a failed check holds the weight: never 50 %
        ("RollingBack", 0.0, 1, (f"rolling back: {at_20}",), ("SetWeights",)),
        ("RollingBack", None, 1, (REMOVING,), ("CreateEndpointConfig", "UpdateEndpoint")),
        ("RolledBack", None, 0, (ROLLED_BACK,), ("DeleteUnused",)),
    ]  # fmt: skip
    assert final.reason == at_20 and final.failed_checks == 2
    cleanup = world.applied[-1]
    assert cleanup.kind == "DeleteUnused"
    assert cleanup.configs == [BOTH_CONFIG, FINAL_CONFIG, SHADOW_CONFIG]
    assert cleanup.models == [CANDIDATE_MODEL]


def test_a_gate_says_how_to_release_it_and_waits_its_whole_timeout() -> None:
    world, status = rollout(strategy="abTest", split=20, gates=["beforeFirstStep"])
    final, trail = history(world, status, limit=4)
    timed_out = "manual gate beforeFirstStep timed out after 86400s"
    assert trail == [
        ("Initializing", 0.0, 6, (ADDING,), ADD),
        ("Paused", 0.0, 86400, (GATE,), ()),
        ("RollingBack", 0.0, 1, (f"rolling back: {timed_out}",), ()),
        ("RollingBack", None, 1, (REMOVING,), ("CreateEndpointConfig", "UpdateEndpoint")),
    ]  # fmt: skip
    assert final.reason == timed_out


def test_a_first_deploy_says_it_creates_the_endpoint() -> None:
    world = World()
    final, trail = history(world, start(declaration(version=1), world))
    assert trail == [
        ("Initializing", 100.0, 6, (f"creating endpoint {NAME} with {STABLE_VARIANT}",),
         ("CreateModel", "CreateEndpointConfig", "CreateEndpoint")),
        ("Succeeded", 100.0, 0, ("endpoint created and InService",), ()),
    ]  # fmt: skip
    assert final.phase == Phase.SUCCEEDED and final.reason == "created"


# --- how a rollout ends when the endpoint fails or vanishes under it --------------------------


def until_phase(
    world: World, status: RolloutStatus, phase: Phase, limit: int = 30
) -> RolloutStatus:
    for _ in range(limit):
        if status.phase == phase:
            return status
        status = tick(world, status).status
    raise AssertionError(f"never reached {phase}: {status.phase}")


def test_a_finished_rollout_deletes_the_config_the_endpoint_served_before_whatever_its_name() -> (
    None
):
    world = World()
    deployed(world)
    endpoint = world.endpoints[NAME]
    older = "smg-churn-predictor-made-by-an-older-release"  # the config live before this rollout
    world.configs[older] = world.configs[endpoint.config].model_copy(update={"name": older})
    endpoint.config = older
    final, _ = history(world, start(declaration(version=2, steps=[50]), world))
    assert final.phase == Phase.SUCCEEDED and final.stable_config == older
    cleanup = world.applied[-1]
    assert cleanup.kind == "DeleteUnused"
    assert (cleanup.configs, cleanup.models) == (
        [older, BOTH_CONFIG, STABLE_ONLY_CONFIG],
        [STABLE_MODEL],
    )
    assert set(world.configs) == {FINAL_CONFIG}


def test_a_capacity_change_keeps_the_model_both_variants_share() -> None:
    world = World()
    deployed(world)
    final, _ = history(world, start(declaration(version=1, instance_count=2, steps=[50]), world))
    assert final.phase == Phase.SUCCEEDED
    cleanup = world.applied[-1]
    assert cleanup.kind == "DeleteUnused" and cleanup.models == []
    assert world.models == {STABLE_MODEL}


def test_an_endpoint_deleted_while_finalizing_ends_failed() -> None:
    world, status = rollout(steps=[50])
    status = until_phase(world, status, Phase.FINALIZING)
    del world.endpoints[NAME]
    decision = tick(world, status)
    assert decision.status.phase == Phase.FAILED
    assert decision.status.reason == "endpoint disappeared"
    assert decision.actions == () and decision.wait_seconds == 0


def test_a_final_config_that_fails_to_apply_rolls_back_with_sagemakers_reason() -> None:
    world, status = rollout(steps=[50])
    status = until_phase(world, status, Phase.PROMOTING)
    world.fail_updates_with = "CannotStartContainerError"
    status = until_phase(world, status, Phase.ROLLING_BACK)
    assert status.reason == "endpoint update failed: CannotStartContainerError"
    # the candidate-only config never went live: the stable-only config brings stable back
    world.fail_updates_with = ""
    final, _ = history(world, status)
    assert final.phase == Phase.ROLLED_BACK
    assert world.endpoints[NAME].config == STABLE_ONLY_CONFIG
    assert world.percent(NAME) == {STABLE_VARIANT: 100.0}


def test_a_finalizing_endpoint_that_enters_failed_rolls_back() -> None:
    world, status = rollout(steps=[50])
    status = until_phase(world, status, Phase.FINALIZING)
    world.endpoints[NAME].status = "Failed"
    world.endpoints[NAME].failure_reason = ""
    decision = tick(world, status, settle=False)
    assert decision.status.phase == Phase.ROLLING_BACK
    assert decision.status.reason == "endpoint update failed: Failed"


def test_a_finalizing_tick_waits_while_the_final_config_is_still_being_applied() -> None:
    world, status = rollout(steps=[50])
    status = until_phase(world, status, Phase.PROMOTING)
    decision = tick(world, status, settle=False)  # UpdateEndpoint sent, endpoint Updating
    assert decision.status.phase == Phase.FINALIZING
    world.endpoints[NAME].status = "InService"  # the update not applied yet, no failure
    waiting = tick(world, decision.status, settle=False)
    assert waiting.status.phase == Phase.FINALIZING and waiting.actions == ()
    assert waiting.notes == (f"waiting for config {FINAL_CONFIG} to be live",)


def _rolling_back(**kwargs: Any) -> tuple[World, RolloutStatus]:
    world, status = rollout(steps=[50], analysis={"metrics": [{"metric": "Invocation5XXErrors",
                                                               "max": 1}]}, **kwargs)  # fmt: skip
    status = until_phase(world, status, Phase.PROGRESSING)
    world.alarms = dict.fromkeys(world.alarms, "ALARM")
    return world, until_phase(world, status, Phase.ROLLING_BACK)


def test_an_endpoint_deleted_during_a_rollback_ends_failed_and_removes_what_the_rollout_made() -> (
    None
):
    world, status = _rolling_back()
    alarms = list(status.generated_alarms)
    assert alarms
    del world.endpoints[NAME]
    decision = tick(world, status)
    assert decision.status.phase == Phase.FAILED
    assert decision.status.reason == f"{status.reason}; endpoint disappeared"
    delete_alarms, delete_unused = decision.actions
    assert delete_alarms.kind == "DeleteAlarms" and delete_alarms.names == alarms
    assert delete_unused.kind == "DeleteUnused"
    assert delete_unused.configs == [BOTH_CONFIG, FINAL_CONFIG, SHADOW_CONFIG, STABLE_ONLY_CONFIG]
    assert delete_unused.models == [CANDIDATE_MODEL]


def test_an_endpoint_that_fails_during_a_rollback_ends_failed_with_sagemakers_reason() -> None:
    world, status = _rolling_back()
    world.endpoints[NAME].status = "Failed"
    world.endpoints[NAME].failure_reason = "capacity error"
    decision = tick(world, status, settle=False)
    assert decision.status.phase == Phase.FAILED
    assert decision.status.reason == f"{status.reason}; endpoint failed: capacity error"


def test_a_rollback_without_a_stable_variant_that_loses_its_endpoint_deletes_only_the_model() -> (
    None
):
    world, status = _rolling_back()
    del world.endpoints[NAME]
    orphan = status.evolve(stable=None, generated_alarms=[])
    decision = tick(world, orphan)
    assert decision.status.phase == Phase.FAILED
    assert [(a.kind, a.configs, a.models) for a in decision.actions] == [
        ("DeleteUnused", [], [CANDIDATE_MODEL])
    ]


def test_a_rollback_waits_while_the_endpoint_is_updating() -> None:
    world, status = _rolling_back()
    world.endpoints[NAME].status = "Updating"
    decision = tick(world, status, settle=False)
    assert decision.status.phase == Phase.ROLLING_BACK and decision.actions == ()
    assert decision.notes == ("endpoint is Updating",)


def test_a_capacity_change_rolled_back_keeps_the_model_stable_still_uses() -> None:
    world = World()
    deployed(world)
    status = start(declaration(version=1, instance_count=2, steps=[50]), world)
    status = until_phase(world, status, Phase.PROGRESSING)
    status = tick(world, status.evolve(abort_requested="aborted by alice")).status
    final, trail = history(world, status)
    assert final.phase == Phase.ROLLED_BACK
    assert trail[-1][3] == (ROLLED_BACK,)
    cleanup = world.applied[-1]
    assert cleanup.kind == "DeleteUnused" and cleanup.models == []
    assert world.models == {STABLE_MODEL}


# --- the guard: the deadline and a vanished endpoint -------------------------------------------


def test_the_deadline_is_exceeded_only_after_it_passes() -> None:
    world, status = rollout(steps=[50, 80])
    status = until_phase(world, status, Phase.PROGRESSING)
    world.now = status.deadline_at
    on_time = tick(world, status)
    assert on_time.status.phase == Phase.PROGRESSING
    world.now = status.deadline_at + 1
    late = tick(world, status)
    assert late.status.phase == Phase.ROLLING_BACK and late.status.reason == "deadline exceeded"


def test_an_endpoint_deleted_mid_step_rolls_back_then_ends_failed() -> None:
    world, status = rollout(steps=[50])
    status = until_phase(world, status, Phase.PROGRESSING)
    del world.endpoints[NAME]
    first = tick(world, status)
    assert first.status.phase == Phase.ROLLING_BACK and first.actions == ()
    assert first.status.reason == "endpoint disappeared"
    assert first.notes == ("rolling back: endpoint disappeared",)
    second = tick(world, first.status)
    assert second.status.phase == Phase.FAILED
    assert second.status.reason == "endpoint disappeared; endpoint disappeared"
