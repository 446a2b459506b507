"""decide() fails closed (issue 14): a watched alarm that vanished or sees no data beyond its
grace is a failed check, and an endpoint OutOfService or UpdateRollbackFailed has failed."""

from __future__ import annotations

from typing import Any

import pytest

from smgitops.rollout.decide import generated_alarms
from smgitops.rollout.status import Phase, RolloutStatus
from tests.builders import declaration
from tests.unit.fake_world import World
from tests.unit.test_decide import deployed, run, start, tick

ALARM = "churn-5xx-rate"


def progressing(world: World, **rollout: Any) -> RolloutStatus:
    """A canary [10, 50] with the declared alarm, ticked into its first step."""
    deployed(world)
    analysis = {"alarms": [ALARM], **rollout.pop("analysis", {})}
    decl = declaration(version=2, steps=[10, 50], interval="5m", analysis=analysis, **rollout)
    world.alarms[ALARM] = "OK"
    status = start(decl, world)
    for _ in range(2):
        status = tick(world, status).status
    assert status.phase == Phase.PROGRESSING
    return status


def test_a_watched_alarm_that_vanished_rolls_back() -> None:
    world = World()
    status = progressing(world)
    del world.alarms[ALARM]  # someone deleted it mid-rollout: the check can no longer see
    decision = tick(world, status, settle=False)
    assert decision.status.phase == Phase.ROLLING_BACK
    assert decision.status.reason == (
        f"alarm {ALARM} does not exist at 10 %: the alarm no longer exists, so the check cannot see"
    )
    final, _ = run(world, decision.status)
    assert final.phase == Phase.ROLLED_BACK


def test_a_vanished_alarm_counts_as_one_failed_check_of_max_failed_checks() -> None:
    world = World()
    status = progressing(world, maxFailedChecks=2)
    del world.alarms[ALARM]
    first = tick(world, status, settle=False)
    assert first.status.phase == Phase.PROGRESSING and first.status.failed_checks == 1
    assert tick(world, first.status).status.phase == Phase.ROLLING_BACK


@pytest.mark.parametrize(("grace", "expected"), [(None, Phase.ROLLING_BACK), ("1h", None)])
def test_insufficient_data_beyond_the_grace_rolls_back(
    grace: str | None, expected: Phase | None
) -> None:
    world = World()
    analysis = {} if grace is None else {"insufficientDataGrace": grace}
    status = progressing(world, analysis=analysis)
    world.alarms[ALARM] = "INSUFFICIENT_DATA"
    world.now = status.started_at + 301  # the default grace is the interval, 5m
    decision = tick(world, status, settle=False)
    if expected is None:
        assert decision.status.phase in {Phase.PROGRESSING, Phase.PROMOTING}
        return
    assert decision.status.phase == expected
    assert decision.status.reason.startswith(f"alarm {ALARM} sees no data at 10 %: ")
    assert "beyond the 300s grace: the check cannot see" in decision.status.reason


def test_insufficient_data_within_the_grace_is_not_yet_a_failure() -> None:
    world = World()
    status = progressing(world)
    world.alarms[ALARM] = "INSUFFICIENT_DATA"
    world.now = status.started_at + 120
    decision = tick(world, status, settle=False)
    assert decision.status.phase == Phase.PROGRESSING
    assert decision.status.failed_checks == 0


def test_a_missing_alarm_stops_the_rollout_before_the_first_step() -> None:
    world = World()
    deployed(world)
    decl = declaration(version=2, steps=[10, 50], analysis={"alarms": [ALARM]})
    status = tick(world, start(decl, world)).status
    assert status.phase == Phase.INITIALIZING
    decision = tick(world, status, settle=False)
    assert decision.status.phase == Phase.ROLLING_BACK
    assert decision.status.reason.startswith(f"alarm {ALARM} does not exist before the first step")
    assert world.percent(decision.status.endpoint)[decision.status.candidate.name] == 0.0


@pytest.mark.parametrize("state", ["OutOfService", "UpdateRollbackFailed"])
def test_out_of_service_and_update_rollback_failed_are_failures(state: str) -> None:
    world = World()
    status = progressing(world)
    world.endpoints[status.endpoint].status = state
    decision = tick(world, status, settle=False)
    assert decision.status.phase in {Phase.ROLLING_BACK, Phase.FAILED}
    assert decision.status.reason == f"endpoint failed: endpoint is {state}"


def test_a_custom_metric_is_watched_in_its_own_namespace() -> None:
    check = {"metric": "ScoreDrift", "namespace": "churn/quality", "statistic": "Maximum", "max": 1}
    decl = declaration(version=2, analysis={"metrics": [check]})
    (alarm,) = generated_alarms(decl, "v-1")
    assert (alarm.namespace, alarm.metric) == ("churn/quality", "ScoreDrift")
    cpu = {"metric": "CPUUtilization", "statistic": "Maximum", "max": 90}
    (alarm,) = generated_alarms(declaration(version=2, analysis={"metrics": [cpu]}), "v-1")
    assert alarm.namespace == "/aws/sagemaker/Endpoints"


# --- a step nobody calls (analysis.traffic) ---------------------------------------------------


@pytest.mark.parametrize("strategy", ["canary", "linear", "abTest"])
def test_a_candidate_nobody_calls_never_reaches_100_percent(strategy: str) -> None:
    """Its generated alarm stays OK on no data (missing data does not breach): the step is
    extended, then rolled back, not passed."""
    world = World(served=0)
    deployed(world)
    checks = {"metrics": [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 2}]}
    decl = declaration(version=2, strategy=strategy, interval="5m", analysis=checks)
    final, trail = run(world, start(decl, world), limit=80)
    assert final.phase == Phase.ROLLED_BACK, trail
    assert all((percent or 0) < 100 for _, percent in trail), trail
    assert final.reason == (
        "inconclusive after 3 extensions (fail): too few invocations of the candidate "
        "(0, 0 on stable; minInvocations 10)"
    )
    extended = [phase for phase, percent in trail if phase == Phase.PROGRESSING and percent]
    assert len(extended) >= 4  # the step, then three extensions of one interval each


def test_enough_traffic_passes_the_step_and_too_little_extends_it() -> None:
    world = World(served=9)
    status = progressing(world, analysis={"traffic": {"minInvocations": 10}})
    world.now = status.step_since + 300  # the step has baked
    extended = tick(world, status).status
    assert (extended.step_index, extended.extensions) == (0, 1)
    assert extended.reason.startswith("step extended: extension 1/3: too few invocations")
    world.served = 10
    world.now = extended.step_since + 600
    passed = tick(world, extended).status
    assert (passed.step_index, passed.extensions) == (1, 0)


def test_blue_green_bakes_at_0_percent_without_traffic_by_design() -> None:
    """Its bake step serves no user: no traffic is asked of it (golden requests are its check
    before traffic; the alarms watch the promotion)."""
    world = World(served=0)
    deployed(world)
    decl = declaration(version=2, strategy="blueGreen", analysis={"alarms": [ALARM]})
    world.alarms[ALARM] = "OK"
    final, _ = run(world, start(decl, world))
    assert final.phase == Phase.SUCCEEDED


def test_no_check_observes_a_step_so_no_traffic_is_asked() -> None:
    world = World(served=0)
    deployed(world)
    final, _ = run(world, start(declaration(version=2, steps=[10, 50]), world))  # analysis: none
    assert final.phase == Phase.SUCCEEDED
