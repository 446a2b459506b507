"""decide() specifications the other decide tests leave open: hand-overs, gates, operators, repairs.

Each test states a behaviour as a rollout trail (what every tick decides) on the in-memory
world. Every loop is bounded: a wrong decision fails the test, it never hangs it.
"""

from __future__ import annotations

from typing import Any

import pytest

from smgitops.declaration.freeze import FreezeWindow
from smgitops.declaration.golden import GoldenRequest, NamedRequest
from smgitops.declaration.models import Declaration
from smgitops.rollout import naming
from smgitops.rollout.actions import SetWeights
from smgitops.rollout.decide import Decision, abort_now, decide, queue, rejected
from smgitops.rollout.golden import ValidationOutcome
from smgitops.rollout.observation import LiveVariant
from smgitops.rollout.status import Context, Phase, QueuedRollout, RolloutStatus
from tests.builders import ROLE, declaration, declaration_dict
from tests.unit.fake_world import World
from tests.unit.test_decide import NAME, deployed, run, start
from tests.unit.test_decide_safeguards import tick

FREEZE = [{"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
           "start": "00:00", "end": "23:59", "reason": "year-end freeze"}]  # fmt: skip
GOLDEN = [NamedRequest(name="churn/a.json", request=GoldenRequest(body="{}"))]


def until(world: World, status: RolloutStatus, phase: Phase, limit: int = 30) -> RolloutStatus:
    for _ in range(limit):
        if status.phase == phase:
            return status
        status = tick(world, status).status
    raise AssertionError(f"never reached {phase}: {status.phase}")


def handed_over(world: World, status: RolloutStatus, limit: int = 30) -> Decision:
    """Tick until the active rollout hands over to the queued one."""
    for _ in range(limit):
        decision = tick(world, status)
        if decision.superseded is not None:
            return decision
        status = decision.status
    raise AssertionError(f"no hand-over: {status.phase}")


def queued(version: int, context: Context | None = None, **kwargs: Any) -> QueuedRollout:
    decl = declaration(version=version, **kwargs)
    return QueuedRollout(
        rollout_id=f"v{version}",
        commit=str(version) * 40,
        pushed_at=1_000_000.0,
        spec_hash=decl.content_hash(),
        declaration=decl.model_dump(mode="json", by_alias=True),
        source={"repo": "acme/models"},
        context=context or Context(),
    )


def candidate_percent(world: World, status: RolloutStatus) -> float:
    return world.percent(NAME).get(status.candidate.name, 0.0)


# --- a newer push while the active rollout is Pending, rolling back or finalizing ------------


def test_a_push_while_the_active_rollout_is_pending_replaces_it_and_deploys() -> None:
    world = World()
    stable = deployed(world)
    pending = start(declaration(version=2), world).evolve(freeze=FREEZE)
    frozen = tick(world, pending).status  # waits Pending for the freeze to end
    assert frozen.phase == Phase.PENDING
    v3 = queued(3)
    superseded = queue(frozen, v3, world.now)
    assert superseded.phase == Phase.SUPERSEDED
    assert superseded.next == v3
    assert superseded.reason == "superseded before it began"
    decision = tick(world, superseded)
    assert decision.superseded is not None
    assert decision.superseded.phase == Phase.SUPERSEDED and decision.superseded.next is None
    assert decision.superseded.rollout_id == frozen.rollout_id
    assert decision.status.rollout_id == "v3" and decision.status.phase == Phase.PENDING
    assert decision.status.commit == "3" * 40 and decision.status.source == {"repo": "acme/models"}
    assert decision.notes == ("superseded by 333333333333",) and decision.wait_seconds == 1
    final, _ = run(world, decision.status)
    assert final.phase == Phase.SUCCEEDED
    assert world.percent(NAME) == {final.candidate.name: 100.0}
    assert stable.candidate.model not in world.models


def test_a_push_during_a_rollback_runs_once_the_rollback_ends() -> None:
    world = World()
    stable = deployed(world)
    status = until(world, start(declaration(version=2, steps=[10, 50]), world), Phase.PROGRESSING)
    aborted = abort_now(status.spec(), status, world.observe(NAME), "aborted by alice")
    world.apply(aborted.actions)
    assert aborted.status.phase == Phase.ROLLING_BACK
    world.now += 5
    v3 = queued(3)
    rolling_back = queue(aborted.status, v3, world.now)
    assert rolling_back.phase == Phase.ROLLING_BACK
    assert rolling_back.next == v3
    assert rolling_back.abort_requested == "aborted by alice"  # the rollback's own reason stays
    assert rolling_back.updated_at == world.now
    decision = handed_over(world, rolling_back)
    assert decision.superseded is not None
    assert decision.superseded.reason == "aborted by alice"
    assert world.percent(NAME) == {stable.candidate.name: 100.0}  # v2 is gone before v3 starts
    final, _ = run(world, decision.status)
    assert final.phase == Phase.SUCCEEDED and final.rollout_id == "v3"
    assert world.percent(NAME) == {final.candidate.name: 100.0}


def test_a_push_while_finalizing_records_the_finished_rollout_as_succeeded() -> None:
    world = World()
    deployed(world)
    status = until(world, start(declaration(version=2, steps=[50]), world), Phase.FINALIZING)
    queue_at = world.now
    status = queue(status, queued(3), queue_at)
    assert status.abort_requested == "superseded by commit 333333333333"
    assert status.updated_at == queue_at
    decision = handed_over(world, status)
    assert decision.superseded is not None
    assert decision.superseded.phase == Phase.SUCCEEDED  # it serves: not "Superseded"
    assert decision.superseded.reason == "promoted"
    assert decision.status.rollout_id == "v3"
    assert decision.status.version == decision.superseded.version


def test_a_superseded_rollout_returns_traffic_to_stable_before_the_newer_one() -> None:
    world = World()
    stable = deployed(world)
    status = until(world, start(declaration(version=2, steps=[10, 50]), world), Phase.PROGRESSING)
    status = queue(status, queued(3), world.now)
    decision = handed_over(world, status)
    assert decision.superseded is not None
    assert decision.superseded.phase == Phase.SUPERSEDED
    assert decision.superseded.reason == "superseded by commit 333333333333"
    assert world.percent(NAME) == {stable.candidate.name: 100.0}


def test_the_queued_rollouts_context_survives_the_hand_over() -> None:
    world = World()
    deployed(world)
    status = until(world, start(declaration(version=2), world), Phase.PROGRESSING)
    context = Context(golden=GOLDEN, freeze=FREEZE, override="", self_heal=True)
    decision = handed_over(world, queue(status, queued(3, context), world.now))
    fresh = decision.status
    assert (fresh.golden, fresh.freeze, fresh.override, fresh.self_heal) == (
        GOLDEN,
        [FreezeWindow.model_validate(w) for w in FREEZE],
        "",
        True,
    )
    waiting = tick(world, fresh)  # the freeze applies to the queued push too
    assert waiting.status.phase == Phase.PENDING and not waiting.actions
    assert waiting.status.reason.startswith("frozen: ")


def test_a_queued_deploy_override_lets_the_queued_push_through_a_freeze() -> None:
    world = World()
    deployed(world)
    status = until(world, start(declaration(version=2), world), Phase.PROGRESSING)
    context = Context(freeze=FREEZE, override="hotfix INC-7")
    fresh = handed_over(world, queue(status, queued(3, context), world.now)).status
    assert fresh.override == "hotfix INC-7"
    decision = tick(world, fresh)
    assert decision.status.phase == Phase.INITIALIZING
    assert decision.details["override"] == "hotfix INC-7"


# --- manual gates: waits, release, timeout, and the deadline after a release -----------------


def test_a_gate_waits_for_its_timeout_without_acting_then_releases_into_step_one() -> None:
    world = World()
    deployed(world)
    decl = declaration(version=2, steps=[10, 50], gates=["beforeFirstStep"], gateTimeout="1h")
    gated = until(world, start(decl, world), Phase.PAUSED)
    assert gated.gate == "beforeFirstStep"
    for waited in (0, 60, 1800, 3599):
        world.now = gated.phase_since + waited
        decision = tick(world, gated)
        assert decision.gate is True
        assert decision.actions == ()
        assert decision.wait_seconds == 3600 - waited
        assert decision.status.phase == Phase.PAUSED and decision.status.gate == "beforeFirstStep"
    world.now = gated.phase_since + 1000
    released = tick(world, gated.evolve(promote="step"))
    assert released.gate is False
    assert released.notes[0] == "gate beforeFirstStep released by an operator"
    assert released.status.gate == "" and released.status.gates_passed == ["beforeFirstStep"]
    assert released.status.reason == "" and released.status.promote == ""
    assert released.status.phase == Phase.PROGRESSING and released.status.step_index == 0
    assert candidate_percent(world, released.status) == 10.0


def test_a_gate_times_out_at_exactly_its_timeout() -> None:
    world = World()
    stable = deployed(world)
    decl = declaration(version=2, gates=["beforeFirstStep"], gateTimeout="10m")
    gated = until(world, start(decl, world), Phase.PAUSED)
    world.now = gated.phase_since + 600
    decision = tick(world, gated)
    assert decision.status.phase == Phase.ROLLING_BACK
    assert decision.status.reason == "manual gate beforeFirstStep timed out after 600s"
    final, _ = run(world, decision.status)
    assert final.phase == Phase.ROLLED_BACK
    assert world.percent(NAME) == {stable.candidate.name: 100.0}


def test_time_at_a_gate_moves_the_deadline_by_the_time_waited() -> None:
    world = World()
    deployed(world)
    decl = declaration(version=2, steps=[10, 50], gates=["beforeFirstStep"], gateTimeout="24h")
    gated = until(world, start(decl, world), Phase.PAUSED)
    world.now = gated.phase_since + 5 * 3600  # far past the rollout's own deadline
    assert world.now > gated.deadline_at
    released = tick(world, gated.evolve(promote="step")).status
    assert released.deadline_at == gated.deadline_at + 5 * 3600
    assert released.phase == Phase.PROGRESSING
    # the resumed deadline still applies: a step that overruns it rolls back
    world.now = released.deadline_at + 1
    late = tick(world, released).status
    assert late.phase == Phase.ROLLING_BACK and late.reason == "deadline exceeded"


def test_a_gate_before_promotion_released_goes_straight_to_promoting() -> None:
    world = World()
    deployed(world)
    decl = declaration(version=2, steps=[20], gates=["beforePromotion"])
    gated = until(world, start(decl, world), Phase.PAUSED)
    assert gated.gate == "beforePromotion" and gated.gates_passed == []
    world.now = gated.phase_since + 120
    released = tick(world, gated.evolve(promote="full"))
    assert released.status.phase == Phase.PROMOTING
    assert released.status.gates_passed == ["beforePromotion"] and released.status.gate == ""
    assert released.status.deadline_at == gated.deadline_at + 120
    assert candidate_percent(world, released.status) == 100.0


# --- operators: promote during a step, an abTest held past its deadline ----------------------


def test_promote_full_during_a_canary_step_promotes_at_once() -> None:
    world = World()
    deployed(world)
    step = until(world, start(declaration(version=2, steps=[10, 50]), world), Phase.PROGRESSING)
    world.now = (step.step_since or 0) + 5  # long before the step's interval ends
    decision = tick(world, step.evolve(promote="full"))
    assert decision.notes[0] == "promoted to 100 % by an operator"
    assert decision.status.phase == Phase.PROMOTING and decision.status.promote == ""
    assert candidate_percent(world, decision.status) == 100.0
    final, _ = run(world, decision.status)
    assert final.phase == Phase.SUCCEEDED


def test_promote_step_during_a_canary_step_moves_to_the_next_step_at_once() -> None:
    world = World()
    deployed(world)
    step = until(world, start(declaration(version=2, steps=[10, 50]), world), Phase.PROGRESSING)
    world.now = (step.step_since or 0) + 5
    decision = tick(world, step.evolve(promote="step"))
    assert decision.status.phase == Phase.PROGRESSING and decision.status.step_index == 1
    assert decision.status.promote == "" and decision.status.step_since == world.now - 30
    assert candidate_percent(world, decision.status) == 50.0


def test_promote_skips_the_judgement_of_the_step() -> None:
    world = World()
    deployed(world)
    decl = declaration(
        version=2, steps=[10, 50], analysis={"compare": {"metrics": [{"metric": "ModelLatency"}]}}
    )
    step = until(world, start(decl, world), Phase.PROGRESSING)
    world.now = (step.step_since or 0) + 5
    decision = tick(world, step.evolve(promote="step"))  # no judgement observed: not waited for
    assert decision.status.step_index == 1 and "judgement" not in decision.details


def test_promote_full_during_a_shadow_run_keeps_observing() -> None:
    world = World()
    stable = deployed(world)
    decl = declaration(version=2, strategy="shadow", interval="60s")
    shadow = until(world, start(decl, world), Phase.PROGRESSING)
    world.now = (shadow.step_since or 0) + 5
    decision = tick(world, shadow.evolve(promote="full"))
    assert decision.status.phase == Phase.PROGRESSING and decision.actions == ()
    assert world.percent(NAME) == {stable.candidate.name: 100.0}


def test_an_ab_test_held_past_its_deadline_then_promoted_succeeds() -> None:
    world = World()
    deployed(world)
    held = until(
        world, start(declaration(version=2, strategy="abTest", split=20), world), Phase.PAUSED
    )
    assert held.reason == "holding 20 % on the challenger until promote or abort"
    world.now = held.deadline_at + 3600  # held for hours: a hold has no deadline
    still = tick(world, held)
    assert still.status.phase == Phase.PAUSED
    promoted_at = world.now
    promoted = tick(world, still.status.evolve(promote="full"))
    assert promoted.notes[0] == "promoted by an operator"
    assert promoted.status.phase == Phase.PROMOTING and promoted.status.reason == ""
    assert promoted.status.deadline_at == held.deadline_at + (promoted_at - held.phase_since)
    final, trail = run(world, promoted.status)
    assert final.phase == Phase.SUCCEEDED, trail
    assert final.reason == "promoted"


# --- the endpoint changed behind the rollout's back ------------------------------------------


def test_a_candidate_removed_from_the_endpoint_rolls_back() -> None:
    world = World()
    stable = deployed(world)
    step = until(world, start(declaration(version=2, steps=[10, 50]), world), Phase.PROGRESSING)
    world.endpoints[NAME].weights = {stable.candidate.name: 1.0}  # someone removed it
    decision = tick(world, step)
    assert decision.status.phase == Phase.ROLLING_BACK
    assert decision.status.reason == "candidate variant is no longer on the endpoint"
    assert decision.actions == ()  # nothing to move: stable already serves alone
    final, _ = run(world, decision.status)
    assert final.phase == Phase.ROLLED_BACK


@pytest.mark.parametrize("phase", [Phase.PROGRESSING, Phase.PROMOTING])
def test_weights_changed_by_hand_mid_step_are_put_back(phase: Phase) -> None:
    world = World()
    stable = deployed(world)
    decl = declaration(version=2, steps=[10, 50], interval="5m")
    status = until(world, start(decl, world), phase)
    intended = dict(status.weights)
    world.endpoints[NAME].weights = {stable.candidate.name: 1.0, status.candidate.name: 0.0}
    world.now = (status.step_since or 0) + 60
    decision = tick(world, status)
    assert decision.status.phase == phase
    assert decision.actions == (SetWeights(endpoint=NAME, weights=intended),)
    assert decision.notes == ("re-applying intended weights",)
    assert decision.wait_seconds == 15  # the poll interval, not the rest of the step
    assert world.percent(NAME)[status.candidate.name] == intended[status.candidate.name]
    calm = tick(world, decision.status)  # now live: nothing to repeat, wait for the step's end
    assert calm.actions == () and calm.notes == ()
    assert calm.wait_seconds == 300 - 60 - 15


def test_weights_within_half_a_percent_count_as_live() -> None:
    world = World()
    stable = deployed(world)
    status = until(
        world,
        start(declaration(version=2, steps=[10, 50], interval="5m"), world),
        Phase.PROGRESSING,
    )
    world.now = (status.step_since or 0) + 60
    world.endpoints[NAME].weights = {stable.candidate.name: 89.5, status.candidate.name: 10.5}
    assert tick(world, status).actions == ()
    world.now = (status.step_since or 0) + 60
    world.endpoints[NAME].weights = {stable.candidate.name: 89.4, status.candidate.name: 10.6}
    assert [a.kind for a in tick(world, status).actions] == ["SetWeights"]


# --- AWS refusing an action for good ---------------------------------------------------------


def test_an_action_rejected_during_a_rollback_ends_failed() -> None:
    world = World()
    deployed(world)
    status = until(world, start(declaration(version=2), world), Phase.PROGRESSING)
    rolling_back = abort_now(status.spec(), status, world.observe(NAME), "aborted").status
    decision = rejected(rolling_back, world.observe(NAME), "UpdateEndpoint", "quota exceeded")
    assert decision.status.phase == Phase.FAILED
    assert decision.status.reason == "UpdateEndpoint rejected: quota exceeded"
    assert decision.notes == ("UpdateEndpoint rejected: quota exceeded",)
    assert decision.actions == () and decision.wait_seconds == 0


def test_an_action_rejected_while_progressing_rolls_back() -> None:
    world = World()
    stable = deployed(world)
    status = until(world, start(declaration(version=2), world), Phase.PROGRESSING)
    decision = rejected(status, world.observe(NAME), "UpdateEndpoint", "bad")
    assert decision.status.phase == Phase.ROLLING_BACK
    assert decision.status.reason == "UpdateEndpoint rejected: bad"
    world.apply(decision.actions)
    assert world.percent(NAME)[stable.candidate.name] == 100.0


# --- Pending: the model registry, freeze windows, a model already live ----------------------

PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/42"


def _registered(**rollout: Any) -> Declaration:
    document = declaration_dict(version=2, **rollout)
    document["spec"]["model"] = {"modelPackageArn": PACKAGE, "executionRoleArn": ROLE}
    return Declaration.model_validate(document)


def test_a_package_waits_pending_until_approved_then_deploys_with_its_whole_deadline() -> None:
    world = World()
    deployed(world)
    status = start(_registered(approvalTimeout="24h"), world)
    unknown = tick(world, status, package_approval=None)
    assert unknown.status.phase == Phase.PENDING and unknown.actions == ()
    assert unknown.status.reason == f"waiting for approval: {PACKAGE} is unknown"
    assert unknown.wait_seconds == 30  # min(60 s, the interval), at least the poll
    pending = tick(
        world, unknown.status, package_approval="PendingManualApproval", package_version=3
    )
    assert pending.status.reason == (
        f"waiting for approval: {PACKAGE} (version 3) is PendingManualApproval"
    )
    world.now = status.started_at + 2 * 3600  # approved two hours later
    approved = tick(world, pending.status, package_approval="Approved", package_version=3)
    assert approved.notes[0] == f"model package {PACKAGE} (version 3) approved"
    assert approved.status.phase == Phase.INITIALIZING
    assert approved.status.reason == ""  # no longer waiting
    created = [a for a in approved.actions if a.kind == "CreateModel"]
    assert created[0].model_package_arn == PACKAGE and created[0].image is None
    assert (
        approved.status.deadline_at == status.deadline_at + 2 * 3600
    )  # waiting is not rolling out
    final, trail = run(world, approved.status)
    assert final.phase == Phase.SUCCEEDED, trail
    assert final.reason == "promoted"


def test_a_push_that_waited_out_a_freeze_deploys_with_its_whole_deadline() -> None:
    world = World()  # 13:46 UTC
    deployed(world)
    window = [{**FREEZE[0], "start": "13:00", "end": "15:00", "reason": "release freeze"}]
    status = start(declaration(version=2), world).evolve(freeze=window)
    frozen = tick(world, status).status
    assert frozen.phase == Phase.PENDING
    assert frozen.reason.startswith("frozen: release freeze")
    begun = until(world, frozen, Phase.INITIALIZING)  # at 15:00, 74 minutes later
    waited = begun.phase_since - status.started_at
    assert waited > 3600
    assert begun.deadline_at == status.deadline_at + waited
    assert begun.reason == ""
    final, trail = run(world, begun)
    assert final.phase == Phase.SUCCEEDED, trail
    assert final.reason == "promoted"


def test_an_approved_package_deploys_at_once() -> None:
    world = World()
    deployed(world)
    decision = tick(world, start(_registered(), world), package_approval="Approved")
    assert decision.notes[0] == f"model package {PACKAGE} is Approved"
    assert decision.status.phase == Phase.INITIALIZING


@pytest.mark.parametrize("approval", ["Rejected", "NotFound"])
def test_a_rejected_or_missing_package_fails_before_creating_anything(approval: str) -> None:
    world = World()
    deployed(world)
    decision = tick(
        world, start(_registered(), world), package_approval=approval, package_version=3
    )
    reason = f"model package {PACKAGE} (version 3) is {approval}"
    assert decision.status.phase == Phase.FAILED and decision.status.reason == reason
    assert decision.notes == (reason,) and decision.actions == ()


def test_a_package_still_pending_after_the_approval_timeout_fails() -> None:
    world = World()
    deployed(world)
    status = start(_registered(approvalTimeout="1h"), world)
    world.now = status.started_at + 3600
    on_time = tick(world, status, package_approval="PendingManualApproval")
    assert on_time.status.phase == Phase.PENDING
    world.now = status.started_at + 3601
    late = tick(world, status, package_approval="PendingManualApproval")
    assert late.status.phase == Phase.FAILED
    assert late.status.reason == (
        f"model package {PACKAGE} still PendingManualApproval after 3600s: not deployed"
    )


def _again_with_live_variant(count: int, weight: float) -> tuple[Decision, str]:
    """The declared model pushed again while its variant is live alone (``count``, ``weight``)."""
    world = World()
    stable = deployed(world)
    again = start(declaration(version=1), world, "9" * 40)
    observation = world.observe(NAME)
    assert observation.endpoint is not None
    variant = stable.candidate.name
    hand_edited = LiveVariant(name=variant, desired_weight=weight, desired_instance_count=count)
    live = observation.endpoint.model_copy(update={"variants": [hand_edited]})
    decision = decide(again.spec(), again, observation.model_copy(update={"endpoint": live}))
    assert decision.status.phase == Phase.SUCCEEDED
    assert decision.status.stable == again.candidate
    assert decision.status.weights == {variant: 100.0}
    return decision, variant


def test_the_declared_model_already_live_alone_succeeds_without_a_rollout() -> None:
    decision, _ = _again_with_live_variant(count=1, weight=1.0)
    assert decision.notes == ("the declared model is already live",) and decision.actions == ()


@pytest.mark.parametrize(("count", "weight"), [(3, 1.0), (1, 0.0)])
def test_a_live_model_scaled_or_drained_by_hand_is_restored(count: int, weight: float) -> None:
    decision, variant = _again_with_live_variant(count, weight)
    assert decision.notes == (
        "the declared model is already live",
        "restoring 1 instance(s) at 100 %",
    )
    assert decision.actions == (
        SetWeights(endpoint=NAME, weights={variant: 100.0}, counts={variant: 1}),
    )


def test_an_abort_before_the_first_tick_ends_it_cleanly() -> None:
    world = World()
    stable = deployed(world)
    status = start(declaration(version=2), world)
    asked = abort_now(status.spec(), status, world.observe(NAME), "aborted by bob")
    assert asked.status.phase == Phase.PENDING and asked.status.abort_requested == "aborted by bob"
    assert asked.notes == ("abort requested before the rollout began: aborted by bob",)
    ended = tick(world, asked.status)
    assert ended.status.phase == Phase.ROLLED_BACK and ended.status.reason == "aborted by bob"
    assert ended.notes == ("ended before any change to the endpoint",)
    assert [a.kind for a in ended.actions] == ["DeleteUnused"]
    assert ended.actions[0].models == [status.candidate.model]
    assert world.percent(NAME) == {stable.candidate.name: 100.0}
    assert stable.candidate.model in world.models


def test_an_abort_before_a_first_deploy_creates_nothing() -> None:
    world = World()
    status = start(declaration(version=1), world)
    asked = abort_now(status.spec(), status, world.observe(NAME), "aborted by bob")
    ended = decide(asked.status.spec(), asked.status, world.observe(NAME))
    assert ended.status.phase == Phase.ROLLED_BACK and ended.status.reason == "aborted by bob"
    # only what a crashed earlier tick may have made: the candidate-only config, the model
    assert [a.kind for a in ended.actions] == ["DeleteUnused"]
    assert ended.actions[0].models == [status.candidate.model]
    assert len(ended.actions[0].configs) == 1


# --- shadow runs watching generated alarms ---------------------------------------------------


def test_a_shadow_run_watches_its_generated_alarms_and_rolls_back_on_one() -> None:
    world = World()
    stable = deployed(world)
    world.alarms["churn-latency"] = "OK"
    metrics = [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 5}]
    decl = declaration(
        version=2, strategy="shadow", analysis={"alarms": ["churn-latency"], "metrics": metrics}
    )
    status = start(decl, world)
    started = tick(world, status)
    generated = naming.alarm_name(
        NAME, status.candidate.name, "Invocation5XXErrors", "Sum", "AWS/SageMaker"
    )
    assert [a.kind for a in started.actions][-1] == "PutAlarms"
    assert started.status.generated_alarms == [generated]
    assert started.status.watched_alarms == ["churn-latency", generated]
    assert started.status.weights == {stable.candidate.name: 100.0}
    observing = tick(world, started.status).status
    assert observing.phase == Phase.PROGRESSING
    world.alarms[generated] = "ALARM"
    world.now = (observing.step_since or 0) + 5
    decision = tick(world, observing)
    assert decision.status.phase == Phase.ROLLING_BACK
    assert decision.status.reason.startswith(f"alarm {generated} in ALARM at 0 %")
    final, _ = run(world, decision.status)
    assert final.phase == Phase.ROLLED_BACK
    assert generated not in world.alarms and world.endpoints[NAME].shadows == []
    assert world.percent(NAME) == {stable.candidate.name: 100.0}


# --- what status and the history say at each tick --------------------------------------------

VALIDATION = {"requests": ["tests/churn/*.json"]}


def _validated(outcome: ValidationOutcome) -> Decision:
    world = World()
    deployed(world)
    status = tick(world, start(declaration(version=2, validation=VALIDATION), world)).status
    assert status.phase == Phase.INITIALIZING
    return tick(world, status, validation=outcome)


def test_a_failed_validation_names_at_most_three_failures() -> None:
    failures = ["a.json: status 500", "b.json: $.score", "c.json: timeout", "d.json: status 404"]
    outcome = ValidationOutcome(
        score=0.25, min_score=0.9, passed=0, total=4, failures=tuple(failures)
    )
    decision = _validated(outcome)
    assert decision.status.reason == (
        "validation failed before any traffic: 0/4 golden requests passed (score 0.25, "
        "minScore 0.9): a.json: status 500; b.json: $.score; c.json: timeout"
    )


def test_a_validation_that_evaluated_nothing_fails_whatever_its_score() -> None:
    decision = _validated(ValidationOutcome(score=1.0, min_score=1.0, passed=0, total=0))
    assert decision.status.phase == Phase.ROLLING_BACK
    assert decision.status.reason == (
        "validation failed before any traffic: 0/0 golden requests passed (score 1.00, "
        "minScore 1.0)"
    )


def test_a_wait_says_what_it_waits_for() -> None:
    world = World()
    deployed(world)
    status = until(world, start(declaration(version=2), world), Phase.PROGRESSING)
    world.endpoints[NAME].status = "Updating"
    waiting = tick(world, status)
    assert waiting.notes == ("endpoint is Updating",) and waiting.actions == ()
    assert waiting.status.phase == Phase.PROGRESSING


def test_a_shadow_then_canary_restarts_from_zero_percent_beside_stable() -> None:
    world = World()
    stable = deployed(world)
    decl = declaration(version=2, strategy="shadow", steps=[30], shadow={"then": "canary"})
    status = until(world, start(decl, world), Phase.PROGRESSING)
    assert status.shadow
    world.now = (status.step_since or 0) + 30
    canary = tick(world, status)
    assert canary.notes == ("shadow passed: continuing as a canary from 0 %",)
    assert canary.status.phase == Phase.INITIALIZING and not canary.status.shadow
    assert canary.status.weights == {status.candidate.name: 0.0, stable.candidate.name: 100.0}
    assert canary.status.extensions == 0
    assert [a.kind for a in canary.actions] == ["CreateEndpointConfig", "UpdateEndpoint"]


def test_a_shadow_report_says_how_it_ended() -> None:
    world = World()
    deployed(world)
    status = until(
        world, start(declaration(version=2, strategy="shadow"), world), Phase.PROGRESSING
    )
    world.now = (status.step_since or 0) + 30
    report = decide(status.spec(), status, world.observe(NAME))
    assert report.notes == ("shadow report complete (then: stop): removing the shadow variant",)
    world.apply(report.actions)  # the endpoint is Updating to the stable-only config
    busy = decide(report.status.spec(), report.status, world.observe(NAME))
    assert busy.notes == ("endpoint is Updating",)
    world.settle()
    done = decide(report.status.spec(), report.status, world.observe(NAME))
    assert done.notes == ("shadow run ended; the stable model serves alone, as before",)


def test_a_shadow_report_replayed_at_exactly_its_interval_ends_as_the_lost_tick_did() -> None:
    world = World()
    deployed(world)
    status = until(
        world, start(declaration(version=2, strategy="shadow"), world), Phase.PROGRESSING
    )
    world.now = (status.step_since or 0) + 30  # the step's interval, to the second
    report = decide(status.spec(), status, world.observe(NAME))
    world.apply(report.actions)  # then the tick dies before persisting its status
    world.settle()
    replay = decide(status.spec(), status, world.observe(NAME))
    assert (replay.status.phase, replay.status.reason) == (
        Phase.FINALIZING,
        "shadow report: passed, not promoted",
    )
    assert [a.kind for a in replay.actions] == ["CreateEndpointConfig"]  # no second update


def test_all_at_once_records_the_candidate_at_100_percent_while_finalizing() -> None:
    world = World()
    deployed(world)
    decision = tick(world, start(declaration(version=2, strategy="allAtOnce"), world))
    assert decision.status.phase == Phase.FINALIZING
    assert decision.status.weights == {decision.status.candidate.name: 100.0}
    assert [a.kind for a in decision.actions] == [
        "CreateModel",
        "CreateEndpointConfig",
        "UpdateEndpoint",
    ]
    assert decision.actions[0].image is not None and "us-east-1" in decision.actions[0].image
