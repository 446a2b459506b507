"""decide() for the rollout's safeguards besides alarms: shadow, gates, golden requests,
judgements, freezes; and framework images and instance-metric alarms."""

from __future__ import annotations

from typing import Any

import pytest

from smgitops.rollout.actions import SetWeights
from smgitops.rollout.analysis import StepJudgement, StepVerdict
from smgitops.rollout.decide import Decision, decide, needs
from smgitops.rollout.golden import ValidationOutcome
from smgitops.rollout.status import Phase, RolloutStatus
from tests.builders import declaration
from tests.unit.fake_world import World
from tests.unit.test_decide import NAME, deployed, run, start


def tick(world: World, status: RolloutStatus, **observed: Any) -> Decision:
    observation = world.observe_tick(status.spec(), status).model_copy(update=observed)
    decision = decide(status.spec(), status, observation)
    world.apply(decision.actions)
    world.settle()
    world.now += decision.wait_seconds
    return decision


def until(world: World, status: RolloutStatus, phase: Phase, **observed: Any) -> RolloutStatus:
    for _ in range(30):
        if status.phase == phase:
            return status
        status = tick(world, status, **observed).status
    raise AssertionError(f"never reached {phase}: {status.phase}")


def test_shadow_report_only_never_shifts_traffic() -> None:
    world = World()
    stable = deployed(world)
    status = start(declaration(version=2, strategy="shadow", shadow={"samplingPercent": 40}), world)
    status = until(world, status, Phase.PROGRESSING)
    assert world.endpoints[NAME].shadows == [status.candidate.name]
    assert world.percent(NAME) == {stable.candidate.name: 100.0}
    final, _ = run(world, status)
    assert final.phase == Phase.SUCCEEDED and final.reason.startswith("shadow report")
    assert world.percent(NAME) == {stable.candidate.name: 100.0}
    assert world.endpoints[NAME].shadows == []
    assert not [a for a in world.applied if isinstance(a, SetWeights)]
    assert status.candidate.model not in world.models  # the observed model is cleaned up
    shadow_configs = [
        a for a in world.applied if a.kind == "CreateEndpointConfig" and a.shadow_variants
    ]
    assert shadow_configs[0].shadow_variants[0].weight == 40.0


def test_shadow_then_canary_continues_into_steps() -> None:
    world = World()
    deployed(world)
    decl = declaration(version=2, strategy="shadow", steps=[30], shadow={"then": "canary"})
    final, trail = run(world, start(decl, world))
    assert final.phase == Phase.SUCCEEDED
    percents = [p for phase, p in trail if phase == Phase.PROGRESSING]
    assert percents[0] == 0.0 or percents[0] is None  # the shadow step: no traffic
    assert 30.0 in percents
    assert world.percent(NAME) == {final.candidate.name: 100.0}


def test_gate_before_first_step_holds_until_promote() -> None:
    world = World()
    deployed(world)
    status = start(declaration(version=2, gates=["beforeFirstStep"]), world)
    status = tick(world, status).status  # Initializing
    gated = tick(world, status)
    assert gated.status.phase == Phase.PAUSED and gated.gate
    assert gated.status.gate == "beforeFirstStep"
    assert gated.wait_seconds == 24 * 3600  # the task token's timeout: gateTimeout
    status = gated.status
    for minutes in (1, 30, 600):  # repeated ticks inside the timeout change nothing
        world.now = status.phase_since + minutes * 60
        status = tick(world, status).status
    assert status.phase == Phase.PAUSED
    assert world.percent(NAME)[status.candidate.name] == 0.0
    released = tick(world, status.evolve(promote="step"))
    assert released.status.phase == Phase.PROGRESSING
    assert world.percent(NAME)[status.candidate.name] == 10.0
    final, _ = run(world, released.status)
    assert final.phase == Phase.SUCCEEDED


def test_gate_before_promotion_times_out_into_a_rollback() -> None:
    world = World()
    stable = deployed(world)
    decl = declaration(version=2, steps=[20], gates=["beforePromotion"], gateTimeout="10m")
    status = until(world, start(decl, world), Phase.PAUSED)
    assert status.gate == "beforePromotion"
    world.now = status.phase_since + 601
    decision = tick(world, status)
    assert decision.status.phase == Phase.ROLLING_BACK
    assert "gate beforePromotion timed out" in decision.status.reason
    final, _ = run(world, decision.status)
    assert final.phase == Phase.ROLLED_BACK
    assert world.percent(NAME) == {stable.candidate.name: 100.0}


GOLDEN = {"requests": ["tests/churn/*.json"]}


def test_failed_golden_requests_stop_the_rollout_before_any_traffic() -> None:
    world = World()
    stable = deployed(world)
    status = start(declaration(version=2, validation=GOLDEN), world)
    status = tick(world, status).status  # Initializing, candidate at 0 %
    failed = ("tests/churn/a.json: $.score: 0.9 is not <= 0.5",)
    outcome = ValidationOutcome(score=0.5, min_score=1.0, passed=1, total=2, failures=failed)
    decision = tick(world, status, validation=outcome)
    assert decision.status.phase == Phase.ROLLING_BACK
    assert "validation failed before any traffic" in decision.status.reason
    assert "1/2 golden requests passed" in decision.status.reason
    assert decision.details["validation"] == {
        "ok": False, "score": 0.5, "minScore": 1.0, "passed": 1, "total": 2, "failures": [*failed]
    }  # fmt: skip
    final, _ = run(world, decision.status)
    assert final.phase == Phase.ROLLED_BACK
    weights = [a.weights for a in world.applied if isinstance(a, SetWeights)]
    assert all(w.get(status.candidate.name, 0.0) == 0.0 for w in weights)  # never any traffic
    assert world.percent(NAME) == {stable.candidate.name: 100.0}


def test_passing_golden_requests_are_recorded_and_the_steps_begin() -> None:
    world = World()
    deployed(world)
    status = tick(world, start(declaration(version=2, validation=GOLDEN), world)).status
    waiting = tick(world, status)  # no outcome observed yet: wait, do not shift
    assert waiting.status.phase == Phase.INITIALIZING
    ok = ValidationOutcome(score=1.0, min_score=1.0, passed=3, total=3)
    decision = tick(world, waiting.status, validation=ok)
    assert decision.status.phase == Phase.PROGRESSING and decision.status.validated
    assert any("validation passed: 3/3" in n for n in decision.notes)


def _judgement(
    verdict: StepVerdict,
    reason: str = "ModelLatency: +40 % (p=0.001)",
    *,
    inconclusive: bool = False,
) -> StepJudgement:
    return StepJudgement(verdict, reason, (), 0.0, 0.0, 0, inconclusive=inconclusive)


COMPARE = {"compare": {"metrics": [{"metric": "ModelLatency"}]}}


def test_judged_worse_than_stable_rolls_back() -> None:
    world = World()
    deployed(world)
    status = until(world, start(declaration(version=2, analysis=COMPARE), world), Phase.PROGRESSING)
    world.now = (status.step_since or 0) + 30
    decision = tick(world, status, judgement=_judgement("fail"))
    assert decision.status.phase == Phase.ROLLING_BACK
    assert decision.status.reason.startswith("judged worse than stable: ModelLatency")
    assert decision.details["judgement"]["verdict"] == "fail"


@pytest.mark.parametrize(("verdict", "phase"), [("fail", Phase.ROLLING_BACK), ("pass", None)])
def test_an_inconclusive_step_says_so_rather_than_judged_worse_or_no_worse(
    verdict: StepVerdict, phase: Phase | None
) -> None:
    world = World()
    deployed(world)
    status = until(world, start(declaration(version=2, analysis=COMPARE), world), Phase.PROGRESSING)
    world.now = (status.step_since or 0) + 30
    reason = f"inconclusive after 3 extensions ({verdict}): too few invocations"
    decision = tick(world, status, judgement=_judgement(verdict, reason, inconclusive=True))
    if phase is not None:
        assert decision.status.phase == phase and decision.status.reason == reason
    else:
        assert decision.status.step_index == 1
        assert reason in decision.notes and not any("judged" in n for n in decision.notes)


@pytest.mark.parametrize("then", ["pass", "fail"])
def test_too_little_traffic_extends_the_step(then: StepVerdict) -> None:
    world = World()
    deployed(world)
    status = until(world, start(declaration(version=2, analysis=COMPARE), world), Phase.PROGRESSING)
    world.now = (status.step_since or 0) + 30
    extended = tick(world, status, judgement=_judgement("extend", "too few invocations"))
    assert extended.status.phase == Phase.PROGRESSING and extended.status.extensions == 1
    assert extended.status.reason == "step extended: too few invocations"  # shown by `status`
    assert extended.status.step_index == 0  # same step, longer window
    after = tick(world, extended.status, judgement=_judgement(then))
    if then == "pass":
        assert after.status.step_index == 1 and after.status.extensions == 0
        assert after.status.reason == ""  # the extension is over
    else:
        assert after.status.phase == Phase.ROLLING_BACK


def test_needs_names_exactly_the_checks_the_phases_read() -> None:
    """The service runs what needs() names; decide() reads each of those and waits for no other."""
    world = World()
    deployed(world)
    decl = declaration(version=2, steps=[20, 50], validation=GOLDEN, analysis=COMPARE)
    ok = ValidationOutcome(score=1.0, min_score=1.0, passed=1, total=1)
    results: dict[str, object] = {"validation": ok, "judgement": _judgement("pass")}
    status, asked = start(decl, world), []
    for _ in range(40):
        observation = world.observe(status.endpoint)
        wanted = needs(status.spec(), status, observation)
        observed = observation.model_copy(update={k: results[k] for k in wanted})
        decision = decide(status.spec(), status, observed)
        assert decision.details.keys() & results.keys() == wanted
        asked += sorted(wanted)
        world.apply(decision.actions)
        world.settle()
        world.now += decision.wait_seconds
        status = decision.status
        if status.done:
            break
    assert status.phase == Phase.SUCCEEDED
    assert asked == ["validation", "judgement", "judgement"]


FREEZE = [{"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
           "start": "00:00", "end": "23:59", "reason": "year-end freeze"}]  # fmt: skip


def test_a_push_during_a_freeze_waits_pending() -> None:
    world = World()
    deployed(world)
    status = start(declaration(version=2), world).evolve(freeze=FREEZE)
    decision = tick(world, status)
    assert decision.status.phase == Phase.PENDING and not decision.actions
    assert decision.status.reason.startswith("frozen: ")
    assert "year-end freeze" in decision.status.reason


def test_deploy_override_trailer_lets_it_through_and_is_recorded() -> None:
    world = World()
    deployed(world)
    status = start(declaration(version=2), world).evolve(freeze=FREEZE, override="hotfix INC-42")
    decision = tick(world, status)
    assert decision.status.phase == Phase.INITIALIZING
    assert decision.details["override"] == "hotfix INC-42"
    assert any("Deploy-Override: hotfix INC-42" in n for n in decision.notes)


def _framework_declaration() -> Any:
    from smgitops.declaration.models import Declaration
    from tests.builders import declaration_dict

    document = declaration_dict(version=2)
    del document["spec"]["model"]["image"]
    document["spec"]["model"]["framework"] = {"name": "xgboost", "version": "1.7-1"}
    return Declaration.model_validate(document)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_framework_shorthand_creates_the_model_with_the_regions_image(region: str) -> None:
    world = World()
    deployed(world)
    status = start(_framework_declaration(), world)
    decision = tick(world, status, region=region)
    created = [a for a in decision.actions if a.kind == "CreateModel"]
    assert created and created[0].image is not None
    assert "sagemaker-xgboost:1.7-1" in created[0].image
    assert f".{region}." in created[0].image


def test_framework_in_an_unknown_region_fails_before_creating_anything() -> None:
    world = World()
    deployed(world)
    before = len(world.applied)
    decision = tick(world, start(_framework_declaration(), world), region="xx-nowhere-1")
    assert decision.status.phase == Phase.FAILED
    assert "xx-nowhere-1" in decision.status.reason
    assert len(world.applied) == before


def test_instance_metrics_get_per_variant_alarms_in_the_endpoints_namespace() -> None:
    world = World()
    deployed(world)
    metrics = [
        {"metric": "CPUUtilization", "statistic": "Maximum", "max": 90},
        {"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 5},
    ]
    status = start(declaration(version=2, analysis={"metrics": metrics}), world)
    decision = tick(world, status)
    puts = [a for a in decision.actions if a.kind == "PutAlarms"]
    assert puts, decision.actions
    namespaces = {a.metric: a.namespace for a in puts[0].alarms}
    assert namespaces == {
        "CPUUtilization": "/aws/sagemaker/Endpoints",
        "Invocation5XXErrors": "AWS/SageMaker",
    }
    assert all(a.variant == status.candidate.name for a in puts[0].alarms)
    final, _ = run(world, decision.status)
    assert final.phase == Phase.SUCCEEDED and not world.alarms  # created with it, deleted after


def test_promote_full_at_the_gate_before_the_first_step_skips_every_step() -> None:
    world = World()
    deployed(world)
    decl = declaration(version=2, gates=["beforeFirstStep"])
    status = until(world, start(decl, world), Phase.PAUSED)
    released = tick(world, status.evolve(promote="full"))
    assert released.status.phase == Phase.PROMOTING
    assert "gate beforeFirstStep released by an operator, to 100 %" in released.notes
    assert world.percent(NAME)[status.candidate.name] == 100.0
    final, trail = run(world, released.status)
    assert final.phase == Phase.SUCCEEDED
    assert Phase.PROGRESSING not in {phase for phase, _ in trail}
