"""What a rollout records and says at its edges: a first deploy's stable, a config that is not
live yet, an abTest's hold, a 1 % step's traffic, the model's network, who
owns what a rollback creates, a replayed promotion, a rollback after the endpoint vanished.

Each states behaviour an operator or AWS sees (the status, the notes, the actions); every loop
is bounded.
"""

from __future__ import annotations

import pytest

from smgitops.declaration.models import Declaration, Strategy
from smgitops.rollout.ownership import OWNER_TAG, owner_tag
from smgitops.rollout.status import Phase, RolloutStatus
from tests.builders import declaration, declaration_dict
from tests.unit.fake_world import World
from tests.unit.test_decide import NAME, deployed, start, tick
from tests.unit.test_decide_autoscaling import scaled, scaled_endpoint
from tests.unit.test_decide_history import (
    BOTH_CONFIG,
    STABLE_ONLY_CONFIG,
    history,
    rollout,
    until_phase,
)
from tests.unit.test_decide_serverless import ALARM

OWNER = "github.com/acme/models"


def test_a_first_deploy_is_its_own_stable_and_everything_it_creates_is_owned() -> None:
    world = World()
    first = start(declaration(version=1), world).evolve(owner=OWNER)
    final, trail = history(world, first)
    assert [phase for phase, *_ in trail] == ["Initializing", "Succeeded"]
    assert final.stable == final.candidate and final.reason == "created"
    created = [a for a in world.applied if a.kind in {"CreateModel", "CreateEndpoint"}]
    assert [a.kind for a in created] == ["CreateModel", "CreateEndpoint"]
    assert all(a.tags[OWNER_TAG] == owner_tag(OWNER) for a in created)


def test_a_config_not_live_yet_is_waited_for_not_taken_for_a_failed_update() -> None:
    world, status = rollout(steps=[50])
    status = tick(world, status, settle=False).status  # the candidate's config is on its way
    endpoint = world.endpoints[NAME]
    pending, endpoint.status, endpoint.pending_config = endpoint.pending_config, "InService", ""
    waiting = tick(world, status, settle=False)  # InService, on the old config, no failure
    assert waiting.status.phase == Phase.INITIALIZING
    assert waiting.notes == (f"waiting for config {BOTH_CONFIG} to be live",)
    assert waiting.wait_seconds == 6 and waiting.actions == ()
    endpoint.status, endpoint.pending_config = "Updating", pending
    world.settle()
    final, _ = history(world, waiting.status)
    assert final.phase == Phase.SUCCEEDED


def test_an_ab_test_promoted_a_step_during_its_split_holds_it_until_promoted() -> None:
    world, status = rollout(strategy="abTest", split=20)

    def promote_step(index: int, world: World, status: RolloutStatus) -> RolloutStatus:
        return status.evolve(promote="step") if index == 1 else status

    held, trail = history(world, status, limit=5, before=promote_step)
    assert [(phase, percent, notes) for phase, percent, _, notes, _ in trail[2:]] == [
        ("Paused", 20.0,
         ("step 1 passed its checks", "holding 20 % on the challenger until promote or abort")),
        ("Paused", 20.0, ()),  # the step's promote was used up: it is not a promotion
        ("Paused", 20.0, ()),
    ]  # fmt: skip
    assert held.reason == "holding 20 % on the challenger until promote or abort"
    assert held.promote == ""


def test_a_one_percent_step_is_a_step_that_serves_and_its_traffic_is_counted() -> None:
    world, status = rollout(steps=[1, 50], analysis={"alarms": [ALARM]})
    world.alarms[ALARM] = "OK"
    _, trail = history(world, status, limit=3)
    assert trail[2][3] == (
        "the candidate served 1000 invocations during the step",
        "step 1 passed its checks",
        "step 2: 50 % on the candidate",
    )


def test_the_model_runs_in_the_declared_vpc() -> None:
    raw = declaration_dict(version=2)
    raw["spec"]["model"]["vpc"] = {
        "subnets": ["subnet-0a1b2c3d"],
        "securityGroups": ["sg-0a1b2c3d"],
    }
    world = World()
    deployed(world)
    decision = tick(world, start(Declaration.model_validate(raw), world))
    [model] = [a for a in decision.actions if a.kind == "CreateModel"]
    assert model.vpc == {"SecurityGroupIds": ["sg-0a1b2c3d"], "Subnets": ["subnet-0a1b2c3d"]}


def test_the_stable_only_config_a_rollback_creates_carries_the_owner() -> None:
    world, status = rollout(steps=[50])
    status = until_phase(world, status.evolve(owner=OWNER), Phase.PROGRESSING)
    applied = len(world.applied)
    final, _ = history(world, status.evolve(abort_requested="abort by jdoe"))
    [config] = [a for a in world.applied[applied:] if a.kind == "CreateEndpointConfig"]
    assert config.name == STABLE_ONLY_CONFIG == world.endpoints[NAME].config
    assert config.tags[OWNER_TAG] == owner_tag(OWNER)
    assert final.phase == Phase.ROLLED_BACK


def test_a_replayed_promotion_does_not_set_weights_that_are_live_already() -> None:
    world, status = rollout(steps=[50])
    last_step = until_phase(world, status, Phase.PROGRESSING)
    world.now += 30
    promoted = tick(world, last_step)
    assert promoted.status.phase == Phase.PROMOTING
    assert [a.kind for a in promoted.actions] == ["SetWeights"]
    # the status write was lost: the same tick runs again on the world it already changed
    world.now -= promoted.wait_seconds
    replayed = tick(world, last_step)
    assert replayed.status.phase == Phase.PROMOTING and replayed.actions == ()


def test_a_rollback_after_the_endpoint_vanished_registers_no_target_for_it() -> None:
    world, deployed_status = scaled_endpoint()
    status = start(scaled(2, steps=[33, 67]), world)
    status = until_phase(world, status, Phase.PROGRESSING)
    assert status.stable_scaling is not None  # recorded: a rollback would put it back
    del world.endpoints[NAME]  # deleted behind the rollout's back
    applied = len(world.applied)
    final, trail = history(world, status)
    assert trail == [
        ("RollingBack", None, 1, ("rolling back: endpoint disappeared",), ()),
        ("Failed", None, 0, (), ("DeleteUnused",)),
    ]
    # nothing to put the stable's target back on: no RegisterScaling for a variant that is gone
    assert [a.kind for a in world.applied[applied:]] == ["DeleteUnused"]
    assert final.phase == Phase.FAILED and deployed_status.phase == Phase.SUCCEEDED


def test_a_step_judged_against_stable_says_so_when_it_passes() -> None:
    from smgitops.rollout.analysis import StepJudgement
    from tests.unit.test_decide_safeguards import COMPARE
    from tests.unit.test_decide_safeguards import tick as tick_seeing

    world, status = rollout(steps=[50], analysis=COMPARE)
    status = until_phase(world, status, Phase.PROGRESSING)
    world.now = (status.step_since or 0) + 30
    judged = StepJudgement("pass", "ModelLatency: +2 % (p=0.4)", (), 900.0, 900.0, 0)
    decision = tick_seeing(world, status, judgement=judged)
    assert decision.notes[0] == "judged no worse than stable: ModelLatency: +2 % (p=0.4)"
    assert decision.status.phase == Phase.PROMOTING


@pytest.mark.parametrize("strategy", list(Strategy))
def test_every_strategy_a_declaration_can_name_starts_a_rollout(strategy: Strategy) -> None:
    extra = {"split": 20} if strategy == Strategy.AB_TEST else {}
    world, status = rollout(strategy=str(strategy), **extra)
    decision = tick(world, status)
    assert decision.status.phase in {Phase.INITIALIZING, Phase.FINALIZING}
    assert decision.actions[0].kind == "CreateModel"


def test_a_pending_rollout_waits_for_an_endpoint_being_updated() -> None:
    world, status = rollout(steps=[50])
    world.endpoints[NAME].status = "Updating"
    decision = tick(world, status, settle=False)
    assert (decision.status.phase, decision.notes) == (
        Phase.PENDING,
        ("waiting for the endpoint to leave Updating",),
    )
    assert decision.actions == ()


@pytest.mark.parametrize(
    ("failure", "reason"),
    [("ping health check failed", "endpoint is Failed: ping health check failed"),
     ("", "endpoint is Failed")],
)  # fmt: skip
def test_a_rollout_onto_a_failed_endpoint_fails_before_anything_saying_why(
    failure: str, reason: str
) -> None:
    world, status = rollout(steps=[50])
    world.endpoints[NAME].status, world.endpoints[NAME].failure_reason = "Failed", failure
    applied = len(world.applied)
    final, trail = history(world, status)
    assert trail == [("Failed", None, 0, (reason,), ())]
    assert final.reason == reason and world.applied[applied:] == []


def test_a_live_config_deleted_outside_smgitops_fails_the_rollout_before_anything() -> None:
    world, status = rollout(steps=[50])
    live = world.endpoints[NAME].config
    del world.configs[live]
    applied = len(world.applied)
    final, trail = history(world, status)
    reason = (
        f"the endpoint's live config {live} no longer exists (deleted outside smgitops), so its "
        "variants cannot be kept as the stable one; recreate that config, or update the "
        "endpoint to an existing one, and push again"
    )
    assert trail == [("Failed", None, 0, (reason,), ())]
    assert final.reason == reason and world.applied[applied:] == []
