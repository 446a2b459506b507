"""decide() at the edges of each phase: crash replays, the clock's boundaries, a hand-edited
endpoint, the first tick's choice of the stable variant, and what a status records.

Every loop is bounded: a wrong decision fails the test, it never hangs it.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from smgitops.declaration.models import Declaration
from smgitops.rollout.actions import DeregisterScaling, RegisterScaling, SetWeights
from smgitops.rollout.analysis import StepJudgement
from smgitops.rollout.decide import Decision, decide, queue
from smgitops.rollout.decide.scaling import POLICY_NAME
from smgitops.rollout.observation import LiveVariant
from smgitops.rollout.ownership import OWNER_TAG, owner_tag
from smgitops.rollout.status import Phase, QueuedRollout, ScalingPolicy, VariantScaling
from tests.builders import declaration, declaration_dict
from tests.unit.fake_world import Endpoint, World
from tests.unit.test_decide import NAME, deployed, start, tick
from tests.unit.test_decide_history import (
    CANDIDATE_VARIANT,
    STABLE_ONLY_CONFIG,
    STABLE_VARIANT,
    history,
    rollout,
    until_phase,
)
from tests.unit.test_decide_safeguards import tick as observed_tick


@pytest.mark.parametrize("strategy", ["shadow", "canary"])
def test_a_first_tick_run_again_after_its_update_went_live_sends_no_second_update(
    strategy: str,
) -> None:
    """A crash after acting: the retry finds the endpoint already on the config it asked for."""
    world, status = rollout(strategy=strategy)
    first = tick(world, status)  # applied and settled, then the status was not persisted
    assert "UpdateEndpoint" in [a.kind for a in first.actions]
    again = tick(world, status)
    assert again.status.phase == first.status.phase == Phase.INITIALIZING
    assert "UpdateEndpoint" not in [a.kind for a in again.actions]


def _framework_declaration(**rollout: Any) -> Declaration:
    document = declaration_dict(version=2, **rollout)
    del document["spec"]["model"]["image"]
    document["spec"]["model"]["framework"] = {"name": "xgboost", "version": "1.7-1"}
    return Declaration.model_validate(document)


@pytest.mark.parametrize("strategy", ["shadow", "allAtOnce", "first deploy"])
def test_every_way_of_creating_the_model_uses_the_regions_framework_image(strategy: str) -> None:
    world = World()
    if strategy != "first deploy":
        deployed(world)
        decl = _framework_declaration(strategy=strategy)
    else:
        decl = _framework_declaration()
    decision = observed_tick(world, start(decl, world), region="eu-west-1")
    created = [a for a in decision.actions if a.kind == "CreateModel"]
    assert len(created) == 1 and created[0].image is not None
    assert ".eu-west-1." in created[0].image and "sagemaker-xgboost:1.7-1" in created[0].image


def test_a_first_deploy_tags_the_endpoint_and_records_the_candidate_at_100_percent() -> None:
    world = World()
    decision = tick(world, start(declaration(version=1), world))
    create = next(a for a in decision.actions if a.kind == "CreateEndpoint")
    assert create.tags == {
        "team": "risk",
        "smgitops:managed": "true",
        "smgitops:endpoint": NAME,
    }
    assert decision.status.weights == {STABLE_VARIANT: 100.0}


def test_an_endpoint_not_visible_yet_is_waited_for_one_minute_then_fails() -> None:
    world = World()
    status = tick(world, start(declaration(version=1), world), settle=False).status
    del world.endpoints[NAME]  # the create call returned, DescribeEndpoint does not see it yet
    world.now = status.phase_since + 59
    waiting = tick(world, status)
    assert waiting.status.phase == Phase.INITIALIZING
    assert waiting.notes == ("endpoint not visible yet",)
    world.now = status.phase_since + 60
    failed = tick(world, status)
    assert failed.status.phase == Phase.FAILED
    assert failed.status.reason == "endpoint was not created"


@pytest.mark.parametrize("cause", ["abort", "deadline"])
def test_an_abort_or_the_deadline_while_initializing_rolls_back(cause: str) -> None:
    world, status = rollout(steps=[50])
    status = tick(world, status, settle=False).status  # both-config being applied
    assert status.phase == Phase.INITIALIZING
    if cause == "abort":
        status = status.evolve(abort_requested="aborted by alice")
    else:
        world.now = status.deadline_at + 1
    decision = tick(world, status, settle=False)
    assert decision.status.phase == Phase.ROLLING_BACK
    expected = "aborted by alice" if cause == "abort" else "deadline exceeded"
    assert decision.status.reason == expected
    assert decision.status.weights == {CANDIDATE_VARIANT: 0.0, STABLE_VARIANT: 100.0}


def test_the_deadline_while_initializing_is_exceeded_only_after_it_passes() -> None:
    world, status = rollout(steps=[50])
    status = tick(world, status, settle=False).status
    world.now = status.deadline_at
    assert tick(world, status, settle=False).status.phase == Phase.INITIALIZING


def test_a_first_deploy_that_cannot_roll_back_ends_failed_and_says_why() -> None:
    world = World()
    status = tick(world, start(declaration(version=1), world), settle=False).status
    decision = tick(world, status.evolve(abort_requested="aborted by alice"), settle=False)
    assert decision.status.phase == Phase.FAILED
    assert decision.status.reason == "aborted by alice"
    assert decision.notes == ("cannot roll back a first deploy: aborted by alice",)
    assert decision.actions == ()


def _with_a_variant_added_by_hand(world: World, by_hand: float, stable: float | None) -> str:
    """The deployed endpoint's config gains ``v-by-hand`` (config weights as given, None: the
    stable's unchanged); the config's name."""
    deployed(world)
    endpoint = world.endpoints[NAME]
    live = world.configs[endpoint.config]
    other = live.variants[0].model_copy(update={"name": "v-by-hand", "weight": by_hand})
    kept = live.variants[0]
    if stable is not None:
        kept = kept.model_copy(update={"weight": stable})
    world.configs[endpoint.config] = live.model_copy(update={"variants": [other, kept]})
    return endpoint.config


def test_the_stable_variant_is_the_heaviest_live_one_and_its_config_is_recorded() -> None:
    world = World()
    config = _with_a_variant_added_by_hand(world, 30.0, 70.0)
    world.endpoints[NAME].weights = {"v-by-hand": 30.0, STABLE_VARIANT: 70.0}
    decision = tick(world, start(declaration(version=2), world))
    assert decision.status.stable is not None and decision.status.stable.name == STABLE_VARIANT
    assert decision.status.stable_config == config
    assert decision.status.weights == {STABLE_VARIANT: 100.0, CANDIDATE_VARIANT: 0.0}
    assert decision.notes == (
        f"adding candidate {CANDIDATE_VARIANT} at 0 % beside stable {STABLE_VARIANT}",
    )


def test_a_stable_variant_missing_from_the_weights_counts_as_weight_zero() -> None:
    world = World()
    _with_a_variant_added_by_hand(world, 0.0, None)
    decision = tick(world, start(declaration(version=2), world))  # v-by-hand has no weight
    assert decision.status.stable is not None and decision.status.stable.name == STABLE_VARIANT


def test_a_replayed_first_tick_keeps_the_config_the_endpoint_served_before() -> None:
    """The replay sees the both-config live (candidate on it), so the first tick writes the
    config it replaces ahead of its actions (still Pending); the replay keeps it."""
    world, status = rollout(steps=[50])
    first = tick(world, status)
    config = first.status.stable_config
    assert config and first.ahead is not None
    assert (first.ahead.phase, first.ahead.stable_config) == (Phase.PENDING, config)
    assert first.ahead.stable == first.status.stable
    again = tick(world, status)  # the Pending status again, the candidate now on the endpoint
    assert again.status.stable_config == ""  # not the both-config: that is smgitops' own
    replayed = tick(world, first.ahead)
    assert replayed.status.stable_config == config and replayed.ahead is None


def test_an_abort_while_pending_after_a_crash_that_added_the_candidate_removes_it() -> None:
    world, status = rollout(steps=[50])
    tick(world, status)  # the both-config went live; the status was not persisted
    aborted = status.evolve(abort_requested="aborted by alice")
    decision = tick(world, aborted)
    # the candidate is on the endpoint: not "ended before any change", a rollback
    assert decision.status.phase == Phase.ROLLING_BACK
    final, _ = history(world, decision.status)
    assert final.phase == Phase.ROLLED_BACK and final.reason == "aborted by alice"
    assert world.percent(NAME) == {STABLE_VARIANT: 100.0}


def test_all_at_once_says_it_replaces_the_model_in_one_update() -> None:
    world, status = rollout(strategy="allAtOnce")
    decision = tick(world, status)
    assert decision.notes == ("allAtOnce: replacing the model in one update",)


def test_a_gate_says_how_to_release_it_in_the_status() -> None:
    world, status = rollout(steps=[50], gates=["beforeFirstStep"])
    paused = until_phase(world, status, Phase.PAUSED)
    assert paused.reason == f"waiting at gate beforeFirstStep: smgitops promote {NAME} (or abort)"


def test_promote_step_on_the_last_step_does_not_also_release_the_gate_before_promotion() -> None:
    world, status = rollout(steps=[50], gates=["beforePromotion"])
    status = until_phase(world, status, Phase.PROGRESSING)
    status = tick(world, status.evolve(promote="step")).status
    assert status.phase == Phase.PAUSED and status.gate == "beforePromotion"
    assert status.promote == ""
    world.now = status.phase_since + 10
    held = tick(world, status)
    assert held.status.phase == Phase.PAUSED and held.gate


def test_a_shadow_promoted_into_its_canary_starts_without_the_shadows_extensions() -> None:
    world, status = rollout(
        strategy="shadow",
        shadow={"then": "canary"},
        steps=[50],
        analysis={"compare": {"metrics": [{"metric": "ModelLatency"}]}},
    )
    status = until_phase(world, status, Phase.PROGRESSING)
    extend = StepJudgement("extend", "too few invocations", (), 0.0, 0.0, 0)
    world.now = status.step_since + status.spec().spec.rollout.shadow.duration_seconds(30)
    status = observed_tick(world, status, judgement=extend).status
    assert status.extensions == 1
    # an operator skips the rest of the shadow run: no judgement resets the count
    canary = observed_tick(world, status.evolve(promote="step")).status
    assert canary.phase == Phase.INITIALIZING and not canary.shadow
    assert canary.extensions == 0


def test_an_alarm_during_an_ab_test_hold_rolls_back() -> None:
    world, status = rollout(strategy="abTest", split=20, analysis={"alarms": ["a1"]})
    world.alarms["a1"] = "OK"
    status = until_phase(world, status, Phase.PAUSED)
    world.alarms["a1"] = "ALARM"
    decision = tick(world, status)
    assert decision.status.phase == Phase.ROLLING_BACK
    assert decision.status.reason == "alarm a1 in ALARM at 20 %: a1 breached"


def test_an_ab_test_hold_checks_every_interval_at_first_then_backs_off_to_an_hour() -> None:
    world, status = rollout(strategy="abTest", split=20, interval="60s")
    status = until_phase(world, status, Phase.PAUSED)
    waits = []
    for _ in range(40):
        decision = tick(world, status)
        assert decision.status.phase == Phase.PAUSED and decision.actions == ()
        waits.append(decision.wait_seconds)
        status = decision.status
    assert waits[0] == 60  # one interval into the hold: the first re-check after an interval
    assert waits == sorted(waits) and max(waits) == 3600
    assert all(later <= max(60, 2 * earlier) for earlier, later in itertools.pairwise(waits))


def test_a_stale_failure_reason_does_not_fail_a_final_config_that_went_live() -> None:
    world, status = rollout(steps=[50])
    status = until_phase(world, status, Phase.FINALIZING)
    world.endpoints[NAME].failure_reason = "an earlier update failed"
    final = tick(world, status).status
    assert final.phase == Phase.SUCCEEDED


def test_promoting_keeps_stable_warm_for_a_whole_interval_even_when_ticked_early() -> None:
    world, status = rollout(steps=[50])
    status = until_phase(world, status, Phase.PROMOTING)
    world.now = status.step_since + 29
    early = tick(world, status)
    assert early.status.phase == Phase.PROMOTING
    assert early.wait_seconds == 1 and early.actions == ()


def test_a_rollback_that_found_the_endpoint_busy_restores_the_weights_once_it_is_free() -> None:
    world, status = rollout(steps=[50], analysis={"alarms": ["a1"]})
    world.alarms["a1"] = "OK"
    status = until_phase(world, status, Phase.PROGRESSING)
    world.alarms["a1"] = "ALARM"
    world.endpoints[NAME].status = "Updating"  # someone else's update in flight
    rolled = tick(world, status, settle=False)
    assert rolled.status.phase == Phase.ROLLING_BACK and rolled.actions == ()
    assert rolled.status.weights == {CANDIDATE_VARIANT: 0.0, STABLE_VARIANT: 100.0}
    world.endpoints[NAME].status = "InService"
    restore = tick(world, rolled.status)
    assert restore.actions == (
        SetWeights(endpoint=NAME, weights={CANDIDATE_VARIANT: 0.0, STABLE_VARIANT: 100.0}),
    )
    assert restore.wait_seconds == 1
    assert world.percent(NAME)[CANDIDATE_VARIANT] == 0.0


def test_a_rollback_without_a_stable_variant_ends_without_deleting_a_config() -> None:
    world, status = rollout(steps=[50])
    status = until_phase(world, status, Phase.PROGRESSING)
    orphan = status.evolve(phase=Phase.ROLLING_BACK, stable=None)
    world.endpoints[NAME] = Endpoint("InService", "hand-made", {STABLE_VARIANT: 100.0})
    decision = tick(world, orphan)
    assert decision.status.phase == Phase.ROLLED_BACK
    assert not [a for a in decision.actions if a.kind == "DeleteUnused" and a.configs]


def test_weights_of_a_variant_gone_from_the_endpoint_are_not_live() -> None:
    world, status = rollout(steps=[50])
    status = until_phase(world, status, Phase.PROMOTING)
    world.now = status.step_since + 5  # mid-interval: the weights are held
    view = world.observe(NAME)
    assert view.endpoint is not None
    alone = [LiveVariant(name=CANDIDATE_VARIANT, desired_weight=1.0)]  # stable removed by hand
    only_candidate = view.endpoint.model_copy(update={"variants": alone})
    decision = decide(status.spec(), status, view.model_copy(update={"endpoint": only_candidate}))
    assert decision.notes == ("re-applying intended weights",)
    assert [a.kind for a in decision.actions] == ["SetWeights"]


def test_a_step_passed_inconclusively_says_only_why() -> None:
    world, status = rollout(
        steps=[50, 80], analysis={"compare": {"metrics": [{"metric": "ModelLatency"}]}}
    )
    status = until_phase(world, status, Phase.PROGRESSING)
    world.now = status.step_since + 30
    reason = "inconclusive after 3 extensions (pass): too few invocations"
    judgement = StepJudgement("pass", reason, (), 0.0, 0.0, 3, inconclusive=True)
    decision = observed_tick(world, status, judgement=judgement)
    assert decision.notes[0] == reason


def test_a_rollout_ticked_at_the_instant_of_its_push_keeps_its_deadline() -> None:
    world, status = rollout(steps=[50])
    assert tick(world, status).status.deadline_at == status.deadline_at


def test_waits_on_a_slow_update_grow_with_half_the_time_waited_up_to_five_minutes() -> None:
    world, status = rollout(steps=[50])
    status = tick(world, status, settle=False).status  # both-config being applied, for long
    waits = []
    for _ in range(40):
        if world.now > status.deadline_at - 300:
            break
        waited = world.now - status.phase_since
        decision = tick(world, status, settle=False)
        assert decision.notes == ("endpoint is Updating",)
        assert decision.wait_seconds == max(6, min(300, -(-waited // 2)))
        waits.append(decision.wait_seconds)
    assert waits[:4] == [6, 6, 9, 14] and max(waits) == 300


def test_a_check_not_observed_yet_is_waited_for_and_said() -> None:
    world, status = rollout(validation={"requests": ["tests/churn/*.json"]})
    status = tick(world, status).status  # the candidate is live at 0 %
    golden = tick(world, status)
    assert golden.status.phase == Phase.INITIALIZING and golden.actions == ()
    assert golden.notes == ("waiting for the golden requests to be sent",)
    compare = {"metrics": [{"metric": "ModelLatency"}]}
    world, status = rollout(steps=[50, 80], analysis={"compare": compare})
    status = until_phase(world, status, Phase.PROGRESSING)
    world.now = status.step_since + 30
    metrics = tick(world, status)
    assert metrics.status.phase == Phase.PROGRESSING and metrics.actions == ()
    assert metrics.notes == ("waiting for the step's metrics",)


def test_an_extended_step_says_why_and_bakes_one_more_interval() -> None:
    compare = {"metrics": [{"metric": "ModelLatency"}]}
    world, status = rollout(steps=[50, 80], analysis={"compare": compare})
    status = until_phase(world, status, Phase.PROGRESSING)
    world.now = status.step_since + 30
    extend = StepJudgement("extend", "ModelLatency: 12 invocations, 30 needed", (), 12, 40, 0)
    decision = observed_tick(world, status, judgement=extend)
    assert decision.notes == ("step extended: ModelLatency: 12 invocations, 30 needed",)
    assert decision.status.reason == "step extended: ModelLatency: 12 invocations, 30 needed"
    assert decision.status.extensions == 1 and decision.wait_seconds == 30


# --- the declared model already live alone, with and without autoscaling --------------------


def _live_alone(
    decl: Declaration,
    *,
    weight: float = 1.0,
    count: int = 1,
    scaling: dict[str, VariantScaling] | None = None,
    variants: bool = True,
) -> Decision:
    """decide() for ``decl`` pushed while its own variant serves alone (as hand-edited)."""
    world = World()
    deployed(world)
    status = start(decl, world, "9" * 40)
    observation = world.observe(NAME)
    assert observation.endpoint is not None
    variant = LiveVariant(name=STABLE_VARIANT, desired_weight=weight, desired_instance_count=count)
    live = observation.endpoint.model_copy(update={"variants": [variant] if variants else []})
    seen = observation.model_copy(update={"endpoint": live, "scaling": scaling})
    decision = decide(status.spec(), status, seen)
    assert decision.status.phase == Phase.SUCCEEDED
    assert decision.status.weights == {STABLE_VARIANT: 100.0}
    return decision


def _scaled(**autoscaling: Any) -> Declaration:
    raw = declaration_dict(version=1)
    raw["spec"]["autoscaling"] = {
        "minInstances": 1,
        "maxInstances": 4,
        "target": {"metric": "InvocationsPerInstance", "value": 100},
        **autoscaling,
    }
    return Declaration.model_validate(raw)


def _target(*, ours: bool) -> dict[str, VariantScaling]:
    name = POLICY_NAME if ours else "team-policy"
    return {
        STABLE_VARIANT: VariantScaling(
            variant=STABLE_VARIANT, min_capacity=1, max_capacity=9,
            policies=[ScalingPolicy(name=name)],
        )
    }  # fmt: skip


@pytest.mark.parametrize("weight", [1.0, 0.0])
def test_a_live_scaled_model_gets_its_declared_target_and_its_weight_not_a_count(
    weight: float,
) -> None:
    decl = _scaled()
    spec = decl.spec.autoscaling
    assert spec is not None
    decision = _live_alone(decl, weight=weight, count=3)
    policy = ScalingPolicy(
        name=POLICY_NAME, configuration=spec.policy_configuration(NAME, STABLE_VARIANT)
    )
    register = RegisterScaling(
        endpoint=NAME,
        variant=STABLE_VARIANT,
        min_capacity=1,
        max_capacity=4,
        suspended={},
        policies=[policy],
    )
    weights = [SetWeights(endpoint=NAME, weights={STABLE_VARIANT: 100.0})] if not weight else []
    assert decision.actions == (register, *weights)
    assert decision.notes == ("the declared model is already live",)


def test_autoscaling_removed_from_the_declaration_deregisters_smgitops_target() -> None:
    decision = _live_alone(declaration(version=1), count=3, scaling=_target(ours=True))
    assert decision.notes == (
        "the declared model is already live",
        f"autoscaling removed from the declaration: deregistering {STABLE_VARIANT}",
        "restoring 1 instance(s) at 100 %",
    )
    assert decision.actions == (
        DeregisterScaling(endpoint=NAME, variant=STABLE_VARIANT),
        SetWeights(endpoint=NAME, weights={STABLE_VARIANT: 100.0}, counts={STABLE_VARIANT: 1}),
    )


@pytest.mark.parametrize("weight", [1.0, 0.0])
def test_a_target_registered_outside_smgitops_keeps_the_count_only_the_weight_is_restored(
    weight: float,
) -> None:
    decision = _live_alone(
        declaration(version=1), weight=weight, count=3, scaling=_target(ours=False)
    )
    assert decision.notes == (
        "the declared model is already live",
        "instance count left to the scalable target registered outside smgitops",
    )
    weights = [SetWeights(endpoint=NAME, weights={STABLE_VARIANT: 100.0})] if not weight else []
    assert decision.actions == tuple(weights)


def test_a_live_config_whose_variant_the_endpoint_does_not_list_changes_nothing() -> None:
    decision = _live_alone(_scaled(), variants=False)
    assert decision.actions == ()


# --- who owns what a rollout creates -----------------------------------------------------------

OWNER = "github.com/acme/models"


@pytest.mark.parametrize("strategy", ["shadow", "allAtOnce"])
def test_the_model_a_rollout_creates_carries_its_owner(strategy: str) -> None:
    world, status = rollout(strategy=strategy)
    decision = tick(world, status.evolve(owner=OWNER))
    (model,) = [a for a in decision.actions if a.kind == "CreateModel"]
    assert model.tags[OWNER_TAG] == owner_tag(OWNER)


def test_the_queued_rollout_keeps_the_owner_of_the_rollout_it_supersedes() -> None:
    world, status = rollout(steps=[50])
    status = until_phase(world, status.evolve(owner=OWNER), Phase.PROGRESSING)
    newer = declaration(version=3, steps=[50])
    queued = QueuedRollout(
        rollout_id="v3", commit="3" * 40, pushed_at=world.now, spec_hash=newer.content_hash(),
        declaration=newer.model_dump(mode="json", by_alias=True), source={},
    )  # fmt: skip
    status = queue(status, queued, world.now)
    for _ in range(20):
        decision = tick(world, status)
        if decision.superseded is not None:
            break
        status = decision.status
    assert decision.superseded is not None
    assert decision.status.rollout_id == "v3" and decision.status.owner == OWNER


# --- allAtOnce with autoscaling: the new variant starts as big as the stable runs -------------


# the stable was deployed with 2 instances; 0 live: not seen, its declared count stands
@pytest.mark.parametrize(("stable_runs", "starts"), [(3, 3), (6, 4), (0, 2), (1, 1)])
def test_all_at_once_with_autoscaling_starts_the_new_variant_at_the_stables_live_count(
    stable_runs: int, starts: int
) -> None:
    world = World()
    stable = deployed(world, instance_count=2).candidate.name
    raw = declaration_dict(version=2, strategy="allAtOnce")
    raw["spec"]["autoscaling"] = {
        "minInstances": 1, "maxInstances": 4,
        "target": {"metric": "InvocationsPerInstance", "value": 100},
    }  # fmt: skip
    status = start(Declaration.model_validate(raw), world)
    seen = world.observe(NAME)
    assert seen.endpoint is not None
    live = [LiveVariant(name=stable, desired_weight=1.0, desired_instance_count=stable_runs)]
    seen = seen.model_copy(update={"endpoint": seen.endpoint.model_copy(update={"variants": live})})
    decision = decide(status.spec(), status, seen)
    (config,) = [a for a in decision.actions if a.kind == "CreateEndpointConfig"]
    assert [v.instance_count for v in config.variants] == [starts]
    said = f"the new variant starts with {starts} instance(s), as the stable runs"
    assert (said in decision.notes) == (starts != 1)  # the declared instanceCount is 1


def test_a_shadow_config_carries_the_candidates_config_settings_and_the_owner() -> None:
    capture = {"destination": "s3://captures", "samplingPercentage": 5}
    world, status = rollout(strategy="shadow")
    raw = declaration_dict(version=2, strategy="shadow")
    raw["spec"]["dataCapture"] = capture
    status = start(Declaration.model_validate(raw), world).evolve(owner=OWNER)
    decision = tick(world, status)
    (config,) = [a for a in decision.actions if a.kind == "CreateEndpointConfig"]
    assert config.settings == status.candidate.config_settings and config.settings
    assert config.tags[OWNER_TAG] == owner_tag(OWNER)


def test_a_shadow_report_waits_for_the_stable_only_config_and_says_so() -> None:
    world, status = rollout(strategy="shadow")
    status = until_phase(world, status, Phase.PROGRESSING)
    finalizing = tick(world, status, settle=False).status  # stable-only config being applied
    assert finalizing.phase == Phase.FINALIZING
    world.endpoints[NAME].status = "InService"  # not applied yet, no failure
    waiting = tick(world, finalizing, settle=False)
    assert waiting.status.phase == Phase.FINALIZING and waiting.actions == ()
    assert waiting.notes == (f"waiting for config {STABLE_ONLY_CONFIG} to be live",)
