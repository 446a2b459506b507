"""The rollout core's entry points besides decide(): needs(), new_status(), abort_now().

Pure and fast: the moto-backed integration tests exercise the same through the service; these
pin what each returns.
"""

from __future__ import annotations

from typing import Any

import pytest

from smgitops.declaration.freeze import FreezeWindow
from smgitops.declaration.golden import GoldenRequest, NamedRequest
from smgitops.declaration.models import Declaration
from smgitops.rollout.analysis import StepJudgement
from smgitops.rollout.decide import abort_now, decide, needs, new_status
from smgitops.rollout.golden import ValidationOutcome
from smgitops.rollout.status import Context, Phase, RolloutStatus
from tests.builders import IMAGE, ROLE, declaration
from tests.unit.fake_world import World
from tests.unit.test_decide import NAME, deployed, run, start
from tests.unit.test_decide_safeguards import tick

GOLDEN = {"requests": ["tests/churn/*.json"]}
COMPARE = {"compare": {"metrics": [{"metric": "ModelLatency"}]}}
PASSED = ValidationOutcome(score=1.0, min_score=1.0, passed=3, total=3)
JUDGED = StepJudgement("pass", "ok", (), 0.0, 0.0, 0)


def trail_of_needs(decl: Declaration, limit: int = 12) -> list[tuple[Phase, set[str]]]:
    """What needs() asks for at each tick of a rollout whose checks all pass."""
    world = World()
    deployed(world)
    status = start(decl, world)
    trail = []
    for _ in range(limit):
        trail.append((status.phase, needs(decl, status, world.observe(NAME))))
        if status.done:
            return trail
        status = tick(world, status, validation=PASSED, judgement=JUDGED).status
    raise AssertionError(f"rollout did not end: {trail}")


def test_needs_asks_for_golden_requests_at_zero_percent_and_a_judgement_at_each_steps_end() -> None:
    decl = declaration(version=2, steps=[10, 50], validation=GOLDEN, analysis=COMPARE)
    assert trail_of_needs(decl) == [
        (Phase.PENDING, set()),
        (Phase.INITIALIZING, {"validation"}),  # both variants live, the candidate at 0 %
        (Phase.PROGRESSING, {"judgement"}),
        (Phase.PROGRESSING, {"judgement"}),
        (Phase.PROMOTING, set()),
        (Phase.FINALIZING, set()),
        (Phase.SUCCEEDED, set()),
    ]


def test_needs_asks_for_nothing_a_declaration_does_not_declare() -> None:
    assert {n for _, wanted in trail_of_needs(declaration(version=2)) for n in wanted} == set()


def test_needs_no_golden_requests_before_the_candidate_is_on_the_endpoint() -> None:
    world = World()
    deployed(world)
    decl = declaration(version=2, validation=GOLDEN)
    initializing = decide(decl, start(decl, world), world.observe(NAME))
    world.apply(initializing.actions)  # the endpoint is Updating to the both-variant config
    assert needs(decl, initializing.status, world.observe(NAME)) == set()
    world.settle()
    assert needs(decl, initializing.status, world.observe(NAME)) == {"validation"}
    validated = initializing.status.evolve(validated=True)
    assert needs(decl, validated, world.observe(NAME)) == set()
    aborted = initializing.status.evolve(abort_requested="aborted by alice")
    assert needs(decl, aborted, world.observe(NAME)) == set()


def test_needs_no_golden_requests_for_a_first_deploy_or_a_shadow() -> None:
    world = World()
    decl = declaration(version=1, validation=GOLDEN)
    first = tick(world, start(decl, world)).status
    assert first.phase == Phase.INITIALIZING and first.first_deploy
    assert needs(decl, first, world.observe(NAME)) == set()
    world = World()
    deployed(world)
    shadow = declaration(version=2, strategy="shadow", validation=GOLDEN)
    started = tick(world, start(shadow, world)).status
    assert started.phase == Phase.INITIALIZING and started.shadow
    assert needs(shadow, started, world.observe(NAME)) == set()


def test_needs_a_judgement_only_once_the_step_has_baked() -> None:
    world = World()
    deployed(world)
    decl = declaration(version=2, steps=[10, 50], interval="5m", analysis=COMPARE)
    status = tick(world, start(decl, world)).status
    step = tick(world, status).status
    assert step.phase == Phase.PROGRESSING and step.step_since is not None
    for elapsed, wanted in [(0, set()), (299, set()), (300, {"judgement"}), (900, {"judgement"})]:
        world.now = step.step_since + elapsed
        assert needs(decl, step, world.observe(NAME)) == wanted, elapsed
    world.now = step.step_since + 300
    assert needs(decl, step.evolve(promote="step"), world.observe(NAME)) == set()
    world.endpoints[NAME].status = "Updating"
    assert needs(decl, step, world.observe(NAME)) == set()


def test_needs_a_shadow_judgement_after_the_shadow_duration() -> None:
    world = World()
    deployed(world)
    decl = declaration(
        version=2, strategy="shadow", interval="60s", shadow={"duration": "10m"}, analysis=COMPARE
    )
    status = start(decl, world)
    for _ in range(3):
        if status.phase == Phase.PROGRESSING:
            break
        status = tick(world, status).status
    assert status.phase == Phase.PROGRESSING and status.step_since is not None
    world.now = status.step_since + 60  # one interval: not yet, the shadow runs 10 minutes
    assert needs(decl, status, world.observe(NAME)) == set()
    world.now = status.step_since + 600
    assert needs(decl, status, world.observe(NAME)) == {"judgement"}


def test_a_shadow_run_lasts_its_duration_not_the_interval() -> None:
    world = World()
    deployed(world)
    decl = declaration(version=2, strategy="shadow", interval="60s", shadow={"duration": "10m"})
    started = tick(world, start(decl, world)).status
    observing = tick(world, started)
    assert observing.notes == ("shadow run: observing the candidate for 600s, no user traffic",)
    assert observing.wait_seconds == 600
    world.now = (observing.status.step_since or 0) + 120
    assert tick(world, observing.status).wait_seconds == 480


# --- new_status: what a rollout starts from ---------------------------------------------------


def test_new_status_carries_the_commits_context_and_a_deadline_of_twice_the_bake_plus_an_hour() -> (
    None
):
    decl = declaration(version=2, steps=[10, 50], interval="5m", analysis={"alarms": ["a1"]})
    golden = [NamedRequest(name="a.json", request=GoldenRequest(body={}))]
    freeze = [FreezeWindow(start="18:00", end="08:00", reason="x")]
    context = Context(golden=golden, freeze=freeze, override="hotfix", self_heal=False)
    status = new_status(
        decl,
        rollout_id="r1",
        commit="c" * 40,
        pushed_at=5.0,
        source={"repo": "acme/models"},
        now=100.0,
        context=context,
    )
    assert status.phase == Phase.PENDING and status.rollout_id == "r1"
    assert (status.golden, status.freeze, status.override, status.self_heal) == (
        golden,
        freeze,
        "hotfix",
        False,
    )
    assert status.watched_alarms == ["a1"]
    assert (status.started_at, status.phase_since, status.updated_at) == (100.0, 100.0, 100.0)
    assert status.deadline_at == 100.0 + 2 * (3 * 300) + 3600  # two steps and the promotion
    assert status.spec() == decl and status.spec_hash == decl.content_hash()
    assert status.candidate.instance_type == "ml.m5.large" and status.candidate.instance_count == 1
    plain = new_status(decl, rollout_id="r1", commit="c" * 40, pushed_at=5.0, source={}, now=100.0)
    assert (plain.golden, plain.freeze, plain.override, plain.self_heal) == ([], [], "", None)


def test_the_candidate_model_is_created_from_the_declaration() -> None:
    world = World()
    deployed(world)
    decl = declaration(version=2, environment={"THRESHOLD": "0.7"})
    owner = "https://github.com/acme/risk"
    decision = tick(world, start(decl, world).evolve(owner=owner))
    model = decision.actions[0]
    assert model.kind == "CreateModel"
    assert model.name == decision.status.candidate.model
    assert model.image == IMAGE and model.execution_role_arn == ROLE
    assert model.model_data_url == "s3://ml-models/churn/v2/model.tar.gz"
    assert model.model_package_arn is None
    assert model.environment == {"THRESHOLD": "0.7"}
    assert model.tags == {
        "team": "risk",
        "smgitops:managed": "true",
        "smgitops:endpoint": NAME,
        "smgitops:owner": owner,
    }
    config = decision.actions[1]
    assert config.kind == "CreateEndpointConfig" and config.tags == model.tags


# --- abort_now: an alarm event counts as a check, an operator rolls back -----------------------


def _progressing(world: World, **rollout: Any) -> RolloutStatus:
    deployed(world)
    status = start(declaration(version=2, steps=[10, 50], **rollout), world)
    for _ in range(3):
        if status.phase == Phase.PROGRESSING:
            return status
        status = tick(world, status).status
    raise AssertionError(status.phase)


def test_an_alarm_event_counts_one_failed_check_until_max_failed_checks() -> None:
    world = World()
    status = _progressing(world, maxFailedChecks=3)
    first = abort_now(status.spec(), status, world.observe(NAME), "alarm a1", count_as_check=True)
    assert first.status.phase == Phase.PROGRESSING and first.status.failed_checks == 1
    held = "failed check 1/3: holding at 10 % for another 30s: alarm a1"
    assert first.notes == (held,) and first.actions == () and first.status.reason == held
    assert first.wait_seconds == 1 and first.status.abort_requested == ""
    second = abort_now(
        status.spec(), first.status, world.observe(NAME), "alarm a1", count_as_check=True
    )
    assert second.status.phase == Phase.PROGRESSING and second.status.failed_checks == 2
    third = abort_now(
        status.spec(), second.status, world.observe(NAME), "alarm a1", count_as_check=True
    )
    assert third.status.phase == Phase.ROLLING_BACK and third.status.failed_checks == 3
    assert third.status.reason == "alarm a1" and third.status.abort_requested == ""
    assert [a.kind for a in third.actions] == ["SetWeights"]
    assert third.actions[0].weights[status.candidate.name] == 0.0


def test_an_alarm_event_with_one_allowed_failure_rolls_back_at_once() -> None:
    world = World()
    status = _progressing(world)
    decision = abort_now(
        status.spec(), status, world.observe(NAME), "alarm a1", count_as_check=True
    )
    assert decision.status.phase == Phase.ROLLING_BACK and decision.status.failed_checks == 1


def test_an_operators_abort_rolls_back_at_once_whatever_max_failed_checks() -> None:
    world = World()
    status = _progressing(world, maxFailedChecks=3)
    decision = abort_now(status.spec(), status, world.observe(NAME), "aborted by alice")
    assert decision.status.phase == Phase.ROLLING_BACK
    assert decision.status.reason == "aborted by alice"
    assert decision.status.abort_requested == "aborted by alice"
    assert decision.status.failed_checks == 0
    assert decision.notes == ("rolling back: aborted by alice",)


@pytest.mark.parametrize("count_as_check", [False, True])
def test_an_abort_after_the_end_or_during_a_rollback_changes_nothing(count_as_check: bool) -> None:
    world = World()
    status = _progressing(world)
    rolling_back = abort_now(status.spec(), status, world.observe(NAME), "first").status
    again = abort_now(
        status.spec(), rolling_back, world.observe(NAME), "second", count_as_check=count_as_check
    )
    assert again.status.model_dump(exclude={"updated_at"}) == rolling_back.model_dump(
        exclude={"updated_at"}
    )
    assert again.actions == () and again.wait_seconds == 1
    final, _ = run(world, rolling_back)
    late = abort_now(
        status.spec(), final, world.observe(NAME), "late", count_as_check=count_as_check
    )
    assert late.status.phase == Phase.ROLLED_BACK and late.status.reason == "first"
    assert late.actions == () and late.wait_seconds == 0


@pytest.mark.parametrize("count_as_check", [False, True])
def test_an_abort_while_pending_ends_the_rollout_at_its_next_tick(count_as_check: bool) -> None:
    world = World()
    deployed(world)
    status = start(declaration(version=2), world)
    asked = abort_now(
        status.spec(), status, world.observe(NAME), "a1", count_as_check=count_as_check
    )
    assert asked.status.phase == Phase.PENDING and asked.status.abort_requested == "a1"
    assert asked.status.failed_checks == 0 and asked.wait_seconds == 1
    kept = abort_now(status.spec(), asked.status, world.observe(NAME), "a2")
    assert kept.status.abort_requested == "a1"  # the first reason is the one recorded
    assert tick(world, kept.status).status.phase == Phase.ROLLED_BACK
