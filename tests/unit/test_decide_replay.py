"""decide() replaying a tick that acted and died before it persisted: the status it runs on is
the one written ahead of the actions (``Decision.ahead``), the endpoint is already changed.

The integration tests crash every action of every strategy against the emulator
(tests/integration/test_faults_crash.py); these are the same replays tick by tick, pure.
"""

from __future__ import annotations

from typing import Any

from smgitops.rollout.decide import Decision
from smgitops.rollout.status import Phase, RolloutStatus
from tests.builders import declaration
from tests.unit.fake_world import World
from tests.unit.test_decide import NAME, deployed, start, tick
from tests.unit.test_decide_history import (
    BOTH_CONFIG,
    CANDIDATE_MODEL,
    CANDIDATE_VARIANT,
    FINAL_CONFIG,
    STABLE_MODEL,
    STABLE_ONLY_CONFIG,
    STABLE_VARIANT,
    history,
    rollout,
    until_phase,
)

TIMED_OUT = "tick failed: LambdaTimeout"  # the state machine's abortReason for a killed tick


def _died(world: World, status: RolloutStatus) -> tuple[Decision, RolloutStatus]:
    """The first tick acted (its actions applied and live) and died: what is stored is what it
    wrote ahead."""
    first = tick(world, status)
    assert first.ahead is not None and first.ahead.phase == Phase.PENDING
    return first, first.ahead


def _kinds(decision: Decision) -> list[str]:
    return [str(a.kind) for a in decision.actions]


def test_a_replayed_first_tick_still_deletes_the_config_served_before_whatever_its_name() -> None:
    world = World()
    deployed(world)
    endpoint = world.endpoints[NAME]
    older = "smg-churn-predictor-made-by-an-older-release"  # the config live before the rollout
    world.configs[older] = world.configs[endpoint.config].model_copy(update={"name": older})
    endpoint.config = older
    _, stored = _died(world, start(declaration(version=2, steps=[50]), world))
    assert world.endpoints[NAME].config == BOTH_CONFIG and stored.stable_config == older
    final, _ = history(world, stored)
    assert final.phase == Phase.SUCCEEDED and final.stable_config == older
    assert set(world.configs) == {FINAL_CONFIG}  # the older one deleted too


def test_a_replayed_all_at_once_update_finishes_the_rollout_not_already_live() -> None:
    world, status = rollout(strategy="allAtOnce")
    first, stored = _died(world, status)
    assert "UpdateEndpoint" in _kinds(first)
    assert stored.stable is not None and stored.stable.name == STABLE_VARIANT
    assert world.percent(NAME) == {CANDIDATE_VARIANT: 100.0}  # the stable variant is gone
    replay = tick(world, stored)
    assert replay.status.phase == Phase.FINALIZING and "UpdateEndpoint" not in _kinds(replay)
    final, _ = history(world, replay.status)
    assert (final.phase, final.reason) == (Phase.SUCCEEDED, "promoted")
    assert world.models == {CANDIDATE_MODEL} and set(world.configs) == {FINAL_CONFIG}


def test_a_replayed_all_at_once_update_that_timed_out_rolls_back_to_the_stable_model() -> None:
    world, status = rollout(strategy="allAtOnce")
    _, stored = _died(world, status)
    replay = tick(world, stored.evolve(abort_requested=TIMED_OUT))
    assert (replay.status.phase, replay.status.reason) == (Phase.ROLLING_BACK, TIMED_OUT)
    final, _ = history(world, replay.status)
    assert final.phase == Phase.ROLLED_BACK
    assert world.percent(NAME) == {STABLE_VARIANT: 100.0}
    assert world.models == {STABLE_MODEL} and set(world.configs) == {STABLE_ONLY_CONFIG}


def test_a_replayed_first_tick_that_timed_out_rolls_back_and_deletes_its_alarms() -> None:
    analysis: dict[str, Any] = {
        "metrics": [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 2}]
    }
    world, status = rollout(steps=[50], analysis=analysis)
    first, stored = _died(world, status)
    assert "PutAlarms" in _kinds(first) and world.alarms
    replay = tick(world, stored.evolve(abort_requested=TIMED_OUT))
    assert replay.status.phase == Phase.ROLLING_BACK
    assert replay.status.generated_alarms == first.status.generated_alarms
    final, _ = history(world, replay.status)
    assert final.phase == Phase.ROLLED_BACK and not world.alarms
    assert world.models == {STABLE_MODEL}


def test_a_shadow_report_replayed_after_it_removed_the_shadow_ends_as_a_report() -> None:
    """The tick that ended the run sent the stable-only config and died: the replay sees the
    shadow variant gone — its own update, not a lost candidate (no rollback)."""
    world, status = rollout(strategy="shadow")
    observing = until_phase(world, status, Phase.PROGRESSING)
    world.now += 3600  # past the shadow run's duration
    ended = tick(world, observing)
    assert ended.status.phase == Phase.FINALIZING and world.endpoints[NAME].shadows == []
    replay = tick(world, observing)  # the Progressing status again
    assert replay.status.phase == Phase.FINALIZING, replay.notes
    assert replay.status.reason == "shadow report: passed, not promoted"
    assert "UpdateEndpoint" not in _kinds(replay)
    final, _ = history(world, replay.status)
    assert final.phase == Phase.SUCCEEDED and world.percent(NAME) == {STABLE_VARIANT: 100.0}
    assert world.models == {STABLE_MODEL} and set(world.configs) == {STABLE_ONLY_CONFIG}


def test_a_shadow_whose_stable_only_config_is_live_before_its_end_still_rolls_back() -> None:
    """Before the run's duration the shadow variant is not the report's to remove."""
    world, status = rollout(strategy="shadow")
    observing = until_phase(world, status, Phase.PROGRESSING)
    world.endpoints[NAME].shadows = []
    world.endpoints[NAME].config = STABLE_ONLY_CONFIG
    decision = tick(world, observing.evolve(step_since=world.now - 1))  # the run just began
    assert decision.status.phase == Phase.ROLLING_BACK
    assert decision.status.reason == "candidate variant is no longer on the endpoint"


def test_a_shadow_then_canary_deletes_its_shadow_config_when_it_succeeds() -> None:
    world, status = rollout(strategy="shadow", shadow={"then": "canary"}, steps=[50])
    final, _ = history(world, status, limit=60)
    assert final.phase == Phase.SUCCEEDED
    assert set(world.configs) == {world.endpoints[NAME].config}


def test_a_replayed_first_deploy_goes_on_as_created_not_already_live() -> None:
    world = World()
    first, stored = _died(world, start(declaration(version=1), world))
    assert stored.first_deploy and "CreateEndpoint" in _kinds(first)
    replay = tick(world, stored)
    assert replay.status.phase == Phase.INITIALIZING and not replay.actions
    # what the lost tick would have written: the new endpoint serves the candidate alone
    assert replay.status.weights == {stored.candidate.name: 100.0}
    assert replay.notes == (f"endpoint {NAME} created with {stored.candidate.name}",)
    final, _ = history(world, replay.status)
    assert (final.phase, final.reason) == (Phase.SUCCEEDED, "created")


def test_a_replayed_first_deploy_that_timed_out_fails_it_has_nothing_to_roll_back_to() -> None:
    world = World()
    _, stored = _died(world, start(declaration(version=1), world))
    replay = tick(world, stored.evolve(abort_requested=TIMED_OUT))
    assert (replay.status.phase, replay.status.reason) == (Phase.FAILED, TIMED_OUT)
    assert world.percent(NAME) == {stored.candidate.name: 100.0}  # left for a person


def test_the_first_tick_writes_nothing_ahead_when_it_runs_again_on_what_it_wrote() -> None:
    world, status = rollout(steps=[50])
    _, stored = _died(world, status)
    assert tick(world, stored).ahead is None
