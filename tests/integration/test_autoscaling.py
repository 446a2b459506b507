"""Autoscaling survives rollouts (issue 17): an autoscaled endpoint (min 2, max 8) whose stable
variant has scaled to 5 keeps 5 instances at every step of a canary, a blue/green, a rollback
and a superseded rollout; the candidate has its own scalable target and policy, sized for its
share; after promotion only the new variant is a target (min/max as declared), and the old one
was deregistered before the update that removed it (SageMaker refuses otherwise: the emulator
does too, docs/emulator.md)."""

from __future__ import annotations

from typing import Any

import pytest

from smgitops.declaration.autoscaling import SCALABLE_DIMENSION, resource_id
from smgitops.local.emulator import scale_variant
from smgitops.rollout.decide.scaling import POLICY_NAME
from smgitops.rollout.status import Phase
from tests.builders import declaration_dict
from tests.integration.conftest import Engine

NAME = "churn-predictor"
C1, C2, C3 = "1" * 40, "2" * 40, "3" * 40
SCALING = {
    "minInstances": 2,
    "maxInstances": 8,
    "target": {"metric": "InvocationsPerInstance", "value": 200},
    "scaleInCooldown": "5m",
    "scaleOutCooldown": "1m",
}


def _declaration(version: int, **rollout: Any) -> Any:
    from smgitops.declaration.models import Declaration

    raw = declaration_dict(version=version, instance_count=2, **rollout)
    raw["spec"]["autoscaling"] = SCALING
    return Declaration.model_validate(raw)


def _counts(engine: Engine) -> dict[str, int]:
    live = engine.sagemaker.describe_endpoint(EndpointName=NAME)
    return {v["VariantName"]: v["DesiredInstanceCount"] for v in live["ProductionVariants"]}


def _targets(engine: Engine) -> dict[str, dict[str, Any]]:
    out = engine.autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ScalableDimension=SCALABLE_DIMENSION
    )
    return {t["ResourceId"].split("/")[-1]: t for t in out["ScalableTargets"]}


def _policies(engine: Engine, variant: str) -> list[dict[str, Any]]:
    out = engine.autoscaling.describe_scaling_policies(
        ServiceNamespace="sagemaker",
        ResourceId=resource_id(NAME, variant),
        ScalableDimension=SCALABLE_DIMENSION,
    )
    return list(out["ScalingPolicies"])


def _policy_settings(engine: Engine, variant: str) -> list[tuple[str, str, Any]]:
    return [
        (p["PolicyName"], p["PolicyType"], p["TargetTrackingScalingPolicyConfiguration"])
        for p in _policies(engine, variant)
    ]


@pytest.fixture
def scaled(engine: Engine) -> str:
    """v1 deployed with autoscaling; its policy has scaled it out to 5 instances."""
    engine.deploy(_declaration(1), C1)
    [stable] = _counts(engine)
    assert scale_variant(NAME, stable, 5) == 5
    return stable


def _record(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    """Every SageMaker and Application Auto Scaling request, in order, with its parameters."""
    sent: list[tuple[str, dict[str, Any]]] = []
    for client in (engine.sagemaker, engine.autoscaling):
        client.meta.events.register(
            "provide-client-params.*.*",
            lambda params, model, **_: sent.append((model.name, dict(params))),
        )
    return sent


def _into_the_steps(engine: Engine, rollout_id: str) -> None:
    """Tick until the rollout walks its steps (the candidate serves beside the stable), and
    once more: the first tick of the bake sizes the candidate."""
    for _ in range(10):
        if engine.tick(NAME, rollout_id).phase == Phase.PROGRESSING:
            assert engine.tick(NAME, rollout_id).phase == Phase.PROGRESSING
            return
    raise AssertionError("the rollout never reached its steps")


def _run(engine: Engine, rollout_id: str, stable: str, limit: int = 60) -> list[Phase]:
    """Tick to the end; the stable variant has 5 instances after every tick it is live."""
    phases = []
    for _ in range(limit):
        result = engine.tick(NAME, rollout_id)
        phases.append(result.phase)
        counts = _counts(engine)
        if stable in counts:
            assert counts[stable] == 5, (result.phase, counts)
        if result.done:
            return phases
    raise AssertionError(f"rollout did not end: {phases}")


def test_first_deploy_registers_the_declared_target_and_policy(engine: Engine) -> None:
    engine.deploy(_declaration(1), C1)
    [variant] = _counts(engine)
    target = _targets(engine)[variant]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 8)
    [policy] = _policies(engine, variant)
    assert policy["PolicyName"] == POLICY_NAME
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 200.0
    assert config["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    }
    assert (config["ScaleInCooldown"], config["ScaleOutCooldown"]) == (300, 60)


def test_canary_keeps_the_scaled_stable_fleet_and_scales_the_candidate(
    engine: Engine, scaled: str
) -> None:
    stable = scaled
    sent = _record(engine)
    outcome = engine.start(_declaration(2, steps=[10, 50]), C2)
    candidate_floors: list[int] = []
    for _ in range(60):
        result = engine.tick(NAME, outcome.rollout_id)
        counts = _counts(engine)
        if stable in counts:
            assert counts[stable] == 5, (result.phase, counts)
            if result.phase in {Phase.PROGRESSING, Phase.PROMOTING}:
                [candidate] = set(counts) - {stable}
                # registered in the tick after the weights moved (never in the same tick)
                target = _targets(engine).get(candidate)
                if target is not None:
                    candidate_floors.append(target["MinCapacity"])
                    assert [p["PolicyName"] for p in _policies(engine, candidate)] == [POLICY_NAME]
                    assert target["MaxCapacity"] == 8
        if result.done:
            break
    assert result.phase == Phase.SUCCEEDED
    # sized one step ahead: at 10 % for 50 % of 5 (3), at 50 % for all of it (5)
    assert candidate_floors[0] == 3 and candidate_floors[-1] == 5, candidate_floors
    [candidate] = _counts(engine)
    assert _counts(engine) == {candidate: 5}
    targets = _targets(engine)
    assert set(targets) == {candidate}, "only the new variant is a scalable target"
    assert (targets[candidate]["MinCapacity"], targets[candidate]["MaxCapacity"]) == (2, 8)
    assert not targets[candidate].get("SuspendedState", {}).get("DynamicScalingInSuspended")
    # the old variant was deregistered before the update that removed it
    operations = [op for op, _ in sent]
    deregistered = operations.index("DeregisterScalableTarget")
    removal = max(i for i, op in enumerate(operations) if op == "UpdateEndpoint")
    assert deregistered < removal
    assert sent[deregistered][1]["ResourceId"] == resource_id(NAME, stable)
    # no capacity was ever sent to SageMaker: Application Auto Scaling owns it
    for op, params in sent:
        if op == "UpdateEndpointWeightsAndCapacities":
            for entry in params["DesiredWeightsAndCapacities"]:
                assert "DesiredInstanceCount" not in entry, params


def test_the_stable_fleet_cannot_scale_in_while_traffic_moves(engine: Engine, scaled: str) -> None:
    outcome = engine.start(_declaration(2, steps=[10, 50]), C2)
    _into_the_steps(engine, outcome.rollout_id)
    # its traffic dropped: its policy would scale it in, but the rollback needs it whole
    assert scale_variant(NAME, scaled, 2) == 5
    assert scale_variant(NAME, scaled, 6) == 6, "scale-out still works"


def test_rollback_leaves_the_stable_scaling_as_it_was(engine: Engine, scaled: str) -> None:
    stable = scaled
    before = _targets(engine)[stable]
    policies_before = _policy_settings(engine, stable)
    sent = _record(engine)
    outcome = engine.start(_declaration(2, steps=[10, 50]), C2)
    _into_the_steps(engine, outcome.rollout_id)
    [candidate] = set(_counts(engine)) - {stable}
    assert candidate in _targets(engine)
    engine.service.abort(NAME, by="test")
    phases = _run(engine, outcome.rollout_id, stable)
    assert phases[-1] == Phase.ROLLED_BACK
    assert _counts(engine) == {stable: 5}
    after = _targets(engine)
    assert set(after) == {stable}, "the candidate's target is gone"
    keep = ("MinCapacity", "MaxCapacity", "SuspendedState")
    assert {k: after[stable].get(k) for k in keep} == {k: before.get(k) for k in keep}
    assert _policy_settings(engine, stable) == policies_before
    operations = [op for op, _ in sent]
    deregistered = operations.index("DeregisterScalableTarget")
    assert sent[deregistered][1]["ResourceId"] == resource_id(NAME, candidate)
    assert deregistered < max(i for i, op in enumerate(operations) if op == "UpdateEndpoint")


def test_blue_green_sizes_the_green_fleet_like_the_blue_one(engine: Engine, scaled: str) -> None:
    stable = scaled
    outcome = engine.start(_declaration(2, strategy="blueGreen"), C2)
    _into_the_steps(engine, outcome.rollout_id)
    [candidate] = set(_counts(engine)) - {stable}
    # full capacity before any traffic: the green fleet is sized for all of it
    assert _targets(engine)[candidate]["MinCapacity"] == 5
    assert _counts(engine) == {stable: 5, candidate: 5}
    phases = _run(engine, outcome.rollout_id, stable)
    assert phases[-1] == Phase.SUCCEEDED
    assert _counts(engine) == {candidate: 5}
    target = _targets(engine)[candidate]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 8)


def test_a_superseded_rollout_keeps_capacity_and_hands_over(engine: Engine, scaled: str) -> None:
    stable = scaled
    first = engine.start(_declaration(2, steps=[10, 50]), C2)
    _into_the_steps(engine, first.rollout_id)
    [superseded] = set(_counts(engine)) - {stable}
    second = engine.start(_declaration(3, steps=[10, 50]), C3)
    assert second.kind == "queued"
    phases = _run(engine, second.rollout_id, stable)
    assert phases[-1] == Phase.SUCCEEDED
    [newest] = _counts(engine)
    assert newest not in {stable, superseded}
    assert _counts(engine) == {newest: 5}
    targets = _targets(engine)
    assert set(targets) == {newest}
    assert (targets[newest]["MinCapacity"], targets[newest]["MaxCapacity"]) == (2, 8)


def test_a_change_of_scaling_alone_updates_the_live_variant(engine: Engine, scaled: str) -> None:
    stable = scaled
    from smgitops.declaration.models import Declaration

    raw = declaration_dict(version=1, instance_count=2)
    raw["spec"]["autoscaling"] = {**SCALING, "minInstances": 1, "maxInstances": 4}
    outcome = engine.start(Declaration.model_validate(raw), C2)
    phases = _run_plain(engine, outcome.rollout_id)
    assert phases[-1] == Phase.SUCCEEDED
    # the same variant (no new fleet), its target updated, its count moved into 1..4
    assert _counts(engine) == {stable: 4}
    target = _targets(engine)[stable]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)


def test_dropping_autoscaling_deregisters_and_restores_the_declared_count(
    engine: Engine, scaled: str
) -> None:
    stable = scaled
    from tests.builders import declaration

    outcome = engine.start(declaration(version=1, instance_count=2), C2)
    assert _run_plain(engine, outcome.rollout_id)[-1] == Phase.SUCCEEDED
    assert _counts(engine) == {stable: 2}
    assert _targets(engine) == {}


def _run_plain(engine: Engine, rollout_id: str) -> list[Phase]:
    phases = []
    for _ in range(30):
        result = engine.tick(NAME, rollout_id)
        phases.append(result.phase)
        if result.done:
            return phases
    raise AssertionError(phases)


def test_plan_shows_a_change_of_scaling_against_the_live_target(
    engine: Engine, scaled: str
) -> None:
    from smgitops.aws.autoscaling import Autoscaling
    from smgitops.aws.sagemaker import SageMaker
    from smgitops.declaration.models import Declaration
    from smgitops.plan.diff import diff, fields_of
    from smgitops.plan.live import LiveState

    live = LiveState(SageMaker(), Autoscaling()).current([NAME])[NAME]
    assert live.fields is not None
    declared = _declaration(1)
    assert diff(live.fields, fields_of(declared)) == (), "as deployed: nothing to show"
    raw = declaration_dict(version=1, instance_count=2)
    raw["spec"]["autoscaling"] = {
        **SCALING,
        "maxInstances": 10,
        "target": {"metric": "CPUUtilization", "value": 60},
    }
    changed = diff(live.fields, fields_of(Declaration.model_validate(raw)))
    assert [(d.field, d.before, d.after) for d in changed] == [
        ("autoscaling.maxInstances", 8, 10),
        ("autoscaling.target", "InvocationsPerInstance 200", "CPUUtilization 60"),
    ]


def test_a_shadow_run_then_canary_keeps_the_stable_fleet(engine: Engine, scaled: str) -> None:
    stable = scaled
    decl = _declaration(2, strategy="shadow", steps=[50], shadow={"then": "canary"})
    outcome = engine.start(decl, C2)
    held = False
    for _ in range(60):
        result = engine.tick(NAME, outcome.rollout_id)
        counts = _counts(engine)
        if stable in counts:
            assert counts[stable] == 5, (result.phase, counts)
        if result.phase == Phase.PROGRESSING and len(counts) == 2:
            # the canary after the shadow run: the stable's scale-in held, the candidate scaled
            target = _targets(engine)[stable]
            held = held or bool(target["SuspendedState"]["DynamicScalingInSuspended"])
        if result.done:
            break
    assert result.phase == Phase.SUCCEEDED and held
    [new] = _counts(engine)
    assert _counts(engine) == {new: 5}
    assert set(_targets(engine)) == {new}


def test_all_at_once_starts_the_new_variant_with_the_stable_capacity(
    engine: Engine, scaled: str
) -> None:
    outcome = engine.start(_declaration(2, strategy="allAtOnce"), C2)
    phases = _run(engine, outcome.rollout_id, scaled)
    assert phases[-1] == Phase.SUCCEEDED
    [new] = _counts(engine)
    assert new != scaled
    assert _counts(engine) == {new: 5}, "not the declared 2: the traffic of 5 moves to it at once"
    assert set(_targets(engine)) == {new}


def test_a_failed_endpoint_still_gets_the_stable_scale_in_back(engine: Engine, scaled: str) -> None:
    """The update that adds the candidate fails the endpoint (failure mode "failed"): the rollout
    ends Failed, and the stable's scale-in, suspended when it began, is not left suspended."""
    from smgitops.declaration.models import Declaration
    from smgitops.local.emulator import set_update_failure_mode

    raw = declaration_dict(
        version=2, instance_count=2, environment={"SMGITOPS_SIM_DEPLOY_FAILURE": "exited"}
    )
    raw["spec"]["autoscaling"] = SCALING
    set_update_failure_mode("failed")
    try:
        outcome = engine.start(Declaration.model_validate(raw), C2)
        phases = _run_plain(engine, outcome.rollout_id)
    finally:
        set_update_failure_mode("rollback")
    assert phases[-1] == Phase.FAILED
    target = _targets(engine)[scaled]
    assert not target["SuspendedState"]["DynamicScalingInSuspended"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 8)


def test_scaling_registered_outside_smgitops_is_released_and_said(engine: Engine) -> None:
    """No autoscaling declared, but someone registered the live variant as a scalable target:
    the promotion must still deregister it first (or SageMaker refuses the update), and the
    history says the new variant is not scaled."""
    from tests.builders import declaration

    engine.deploy(declaration(version=1, instance_count=2), C1)
    [stable] = _counts(engine)
    engine.autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource_id(NAME, stable),
        ScalableDimension=SCALABLE_DIMENSION,
        MinCapacity=1,
        MaxCapacity=4,
    )
    outcome = engine.start(declaration(version=2, instance_count=2, steps=[50]), C2)
    assert _run_plain(engine, outcome.rollout_id)[-1] == Phase.SUCCEEDED
    assert _targets(engine) == {}
    notes = " ".join(r.reason + r.event for r in engine.service.store.history(NAME))
    assert "registered outside smgitops: the new variant is not scaled" in notes


def test_a_floor_is_never_raised_in_the_tick_that_moves_traffic(
    engine: Engine, scaled: str
) -> None:
    """Raising the candidate's MinCapacity makes Application Auto Scaling change its capacity at
    once — an UpdateEndpointWeightsAndCapacities that leaves the endpoint Updating (the
    emulator does the same) — so a weights change sent in the same tick would be refused as
    busy. The floor is raised in the next tick, once the weights are applied: no tick of the
    rollout finds the endpoint busy."""
    import time

    from smgitops.local.emulator import set_weights_delay

    set_weights_delay(0.2)
    try:
        outcome = engine.start(_declaration(2, steps=[10, 50]), C2)
        for _ in range(60):
            result = engine.tick(NAME, outcome.rollout_id)
            if result.done:
                break
            time.sleep(0.25)  # what SageMaker takes to apply a change, here
    finally:
        set_weights_delay(0)
    assert result.phase == Phase.SUCCEEDED
    history = [r.event for r in engine.service.store.history(NAME)]
    assert not [event for event in history if "endpoint busy" in event], history
    assert any("candidate scaled for 100 %" in event for event in history)


def test_plan_shows_autoscaling_dropped_but_not_a_target_smgitops_does_not_own(
    engine: Engine, scaled: str
) -> None:
    from smgitops.aws.autoscaling import Autoscaling
    from smgitops.aws.sagemaker import SageMaker
    from smgitops.plan.diff import diff, fields_of
    from smgitops.plan.live import LiveState
    from tests.builders import declaration

    plain = fields_of(declaration(version=1, instance_count=2))
    live = LiveState(SageMaker(), Autoscaling()).current([NAME])[NAME].fields
    assert live is not None
    dropped = {d.field: (d.before, d.after) for d in diff(live, plain)}
    assert dropped["autoscaling.maxInstances"] == (8, None)
    assert dropped["autoscaling.target"] == ("InvocationsPerInstance 200", None)
    # a target someone registered by hand carries no smgitops policy: a push leaves it alone
    engine.autoscaling.delete_scaling_policy(
        PolicyName=POLICY_NAME,
        ServiceNamespace="sagemaker",
        ResourceId=resource_id(NAME, scaled),
        ScalableDimension=SCALABLE_DIMENSION,
    )
    live = LiveState(SageMaker(), Autoscaling()).current([NAME])[NAME].fields
    assert live is not None
    assert not [d for d in diff(live, plain) if d.field.startswith("autoscaling.")]


def test_from_serverless_to_autoscaled_instances_in_a_blue_green_swap(engine: Engine) -> None:
    """A serverless endpoint (one production variant only) becomes an autoscaled instance one:
    the swap replaces the variant, and the new one is registered once it serves alone."""
    from smgitops.declaration.loader import load_text
    from tests.support.production import SERVERLESS, edit

    name = "churn-serverless"
    engine.deploy(load_text(SERVERLESS, "endpoints/s.yaml"), C1)
    instances = edit(
        SERVERLESS,
        "  serverless: {memorySizeMB: 2048, maxConcurrency: 20, provisionedConcurrency: 2}\n",
        "  instanceType: ml.m5.large\n  instanceCount: 2\n"
        "  autoscaling: {minInstances: 2, maxInstances: 4, target: "
        "{metric: InvocationsPerInstance, value: 100}}\n",
    )
    instances = edit(instances, "strategy: allAtOnce", "strategy: blueGreen, interval: 30s")
    outcome = engine.start(load_text(instances, "endpoints/s.yaml"), C2)
    trail = engine.run(name, outcome.rollout_id)
    assert trail[-1][0] == Phase.SUCCEEDED
    out = engine.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")
    [target] = [
        t for t in out["ScalableTargets"] if t["ResourceId"].startswith(f"endpoint/{name}/")
    ]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 4)
    live = engine.sagemaker.describe_endpoint(EndpointName=name)["ProductionVariants"]
    assert [v["VariantName"] for v in live] == [target["ResourceId"].split("/")[-1]]
