"""Drift detection (pure) for each kind of change, and the drift check's record/notify/heal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from smgitops.declaration.golden import Expect, GoldenRequest, NamedRequest
from smgitops.drift.compare import (
    DriftReport,
    LiveEndpoint,
    LiveModel,
    LiveVariantState,
    compare,
    expected_state,
    not_comparable,
)
from smgitops.drift.service import DriftService, last_fingerprint
from smgitops.errors import ConflictError, TransientError
from smgitops.rollout import naming
from smgitops.rollout.decide import new_status
from smgitops.rollout.status import HistoryRecord, Phase, RolloutStatus, VariantRef
from tests.builders import IMAGE, ROLE, declaration

NOW = 1_700_000_000.0


def succeeded(**kwargs: Any) -> RolloutStatus:
    decl = declaration(**kwargs)
    status = new_status(
        decl, rollout_id="r-1", commit="c0ffee" * 6, pushed_at=NOW, source={}, now=NOW
    )
    return status.evolve(
        phase=Phase.SUCCEEDED,
        stable=status.candidate,
        weights={status.candidate.name: 100.0},
    )


def live_of(status: RolloutStatus, /, **changes: Any) -> LiveEndpoint:
    """The endpoint exactly as the status says it should be, then ``changes``."""
    ref = status.stable
    assert ref is not None
    model = status.spec().spec.model
    endpoint = LiveEndpoint(
        name=status.endpoint,
        status="InService",
        config=naming.config_name(status.endpoint, [ref]),
        variants=[
            LiveVariantState(
                name=ref.name,
                model=ref.model,
                instance_type=ref.instance_type,
                instance_count=ref.instance_count,
                weight=1.0,
            )
        ],
        models={
            ref.model: LiveModel(
                name=ref.model,
                image=model.image,
                model_data_url=model.model_data_url,
                environment=dict(model.environment),
                execution_role_arn=ROLE,
            )
        },
    )
    return endpoint.model_copy(update=changes)


def fields(report: DriftReport) -> list[str]:
    return [d.field for d in report.drifts]


STATUS = succeeded(environment={"WORKERS": "2"}, instance_count=2)
VARIANT = STATUS.candidate.name
MODEL = STATUS.candidate.model


def variant_with(**changes: Any) -> list[LiveVariantState]:
    return [live_of(STATUS).variants[0].model_copy(update=changes)]


def model_with(**changes: Any) -> dict[str, LiveModel]:
    return {MODEL: live_of(STATUS).models[MODEL].model_copy(update=changes)}


def test_an_endpoint_as_declared_has_no_drift() -> None:
    report = compare(STATUS, live_of(STATUS))
    assert report.drifts == []
    assert report.summary() == "in sync"
    assert report.basis == "declaration"


def test_a_deleted_endpoint() -> None:
    report = compare(STATUS, None)
    assert fields(report) == ["endpoint"]
    assert report.cause == "the endpoint was deleted outside smgitops"
    assert report.healable


def test_instance_count_changed_in_the_console() -> None:
    report = compare(STATUS, live_of(STATUS, variants=variant_with(instance_count=5)))
    assert [(d.field, d.declared, d.live) for d in report.drifts] == [
        (f"variants[{VARIANT}].instanceCount", 2, 5)
    ]
    assert "UpdateEndpointWeightsAndCapacities" in report.cause


def test_weight_set_to_zero() -> None:
    report = compare(STATUS, live_of(STATUS, variants=variant_with(weight=0.0)))
    assert [(d.field, d.declared, d.live) for d in report.drifts] == [
        (f"variants[{VARIANT}].weight", 100.0, 0.0)
    ]


def test_weights_moved_to_a_second_variant() -> None:
    ours = variant_with(weight=1.0)
    theirs = LiveVariantState(name="manual", model="m", instance_type="ml.m5.large", weight=1.0)
    report = compare(STATUS, live_of(STATUS, variants=[*ours, theirs]))
    assert fields(report) == ["variants"]
    assert report.drifts[0].live == sorted([VARIANT, "manual"])


def test_config_replaced_outside_smgitops() -> None:
    manual = LiveVariantState(
        name="AllTraffic",
        model="my-model",
        instance_type="ml.c5.xlarge",
        instance_count=1,
        weight=1,
    )
    report = compare(STATUS, live_of(STATUS, config="console-config", variants=[manual]))
    assert fields(report) == ["endpointConfig", "variants"]
    assert report.drifts[0].declared == naming.config_name(STATUS.endpoint, [STATUS.candidate])
    assert report.cause.startswith("the endpoint config was replaced outside smgitops")


def test_sagemaker_rolled_back_to_an_older_smgitops_config() -> None:
    older = succeeded(version=1)
    current = succeeded(version=2)
    live = live_of(older)  # what the endpoint ran before the update that SageMaker undid
    report = compare(current, live)
    assert "endpointConfig" in fields(report)
    assert report.cause.startswith("the endpoint runs another smgitops config")


def test_same_variant_name_with_another_model_or_instance_type() -> None:
    changed = variant_with(model="other-model", instance_type="ml.c5.xlarge")
    report = compare(STATUS, live_of(STATUS, config="hand-made", variants=changed))
    assert fields(report) == [
        "endpointConfig",
        f"variants[{VARIANT}].model",
        f"variants[{VARIANT}].instanceType",
    ]


def test_model_re_created_with_another_image_or_environment() -> None:
    report = compare(
        STATUS,
        live_of(STATUS, models=model_with(image=f"{IMAGE}-evil", environment={"WORKERS": "8"})),
    )
    assert fields(report) == [f"models[{MODEL}].image", f"models[{MODEL}].environment"]
    assert report.cause == "a model was deleted or re-created outside smgitops"
    assert not report.healable  # a rollout cannot replace a model that has the same name


def test_model_deleted() -> None:
    report = compare(STATUS, live_of(STATUS, models={MODEL: LiveModel(name=MODEL, found=False)}))
    assert [(d.field, d.live) for d in report.drifts] == [(f"models[{MODEL}]", "missing")]


def framework_status() -> RolloutStatus:
    status = succeeded(instance_count=2)
    decl = status.spec().model_dump(by_alias=True, exclude_none=True)
    del decl["spec"]["model"]["image"]
    decl["spec"]["model"]["framework"] = {"name": "xgboost", "version": "1.7-1"}
    return status.evolve(declaration=decl)


def test_a_framework_endpoint_as_deployed_has_no_drift() -> None:
    # The model smgitops created runs the image resolved from the table; nothing declares it.
    status = framework_status()
    resolved = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    live = live_of(status)
    live.models[status.candidate.model] = live.models[status.candidate.model].model_copy(
        update={"image": resolved}
    )
    report = compare(status, live)
    assert report.drifts == []  # used to be models[…].image: null → <resolved image>, forever
    scaled = live.model_copy(update={"variants": [live.variants[0].model_copy(
        update={"instance_count": 5})]})  # fmt: skip
    report = compare(status, scaled)
    assert fields(report) == [f"variants[{status.candidate.name}].instanceCount"]
    assert "UpdateEndpointWeightsAndCapacities" in report.cause  # not "a model was re-created"


def test_a_model_package_is_compared_by_its_arn() -> None:
    status = succeeded()
    decl = status.spec().model_dump(by_alias=True)
    package = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/7"
    decl["spec"]["model"] = {"modelPackageArn": package, "executionRoleArn": ROLE}
    status = status.evolve(declaration=decl)
    name = status.candidate.model
    live_model = LiveModel(name=name, model_package_arn=package, execution_role_arn=ROLE)
    assert compare(status, live_of(status, models={name: live_model})).drifts == []
    other = live_model.model_copy(update={"model_package_arn": package[:-1] + "8"})
    assert fields(compare(status, live_of(status, models={name: other}))) == [
        f"models[{name}].modelPackageArn"
    ]


def test_shadow_variant_added() -> None:
    shadow = LiveVariantState(name="shadow-1", model="m2", instance_type="ml.m5.large")
    report = compare(STATUS, live_of(STATUS, shadow_variants=[shadow]))
    assert fields(report) == ["shadowVariants"]
    assert report.cause == "a shadow variant was added outside smgitops"


def test_failed_endpoint_and_deleted_config() -> None:
    failed = compare(STATUS, live_of(STATUS, status="Failed", failure_reason="image pull"))
    assert [(d.field, d.live) for d in failed.drifts] == [("endpoint.status", "Failed: image pull")]
    deleted = compare(STATUS, live_of(STATUS, config_found=False))
    assert fields(deleted) == ["endpointConfig"]
    assert deleted.cause.startswith("the endpoint config was deleted outside smgitops")


def test_a_busy_endpoint_is_checked_next_time() -> None:
    report = compare(STATUS, live_of(STATUS, status="Updating", variants=variant_with(weight=0)))
    assert report.skipped == "the endpoint is Updating; checked next time"
    assert report.drifts == []


def test_after_a_rollback_the_stable_variant_is_expected() -> None:
    old = succeeded(version=1)
    assert old.stable is not None
    rolled_back = succeeded(version=2).evolve(
        phase=Phase.ROLLED_BACK,
        stable=old.stable,
        weights={old.stable.name: 100.0},
        stable_config="hand-made-before-smgitops",
    )
    expected = expected_state(rolled_back)
    assert expected is not None
    assert expected.basis == "rollback"
    assert expected.models == {}  # the old model's content was declared by an older commit
    assert compare(rolled_back, live_of(old)).drifts == []
    adopted = live_of(old, config="hand-made-before-smgitops")
    assert compare(rolled_back, adopted).drifts == []
    changed = compare(
        rolled_back,
        live_of(old, variants=[live_of(old).variants[0].model_copy(update={"instance_count": 3})]),
    )
    assert changed.drifted
    assert not changed.healable  # healing would roll the rolled-back model out again


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"phase": Phase.PROGRESSING}, "a rollout is Progressing"),
        ({"phase": Phase.FAILED, "reason": "boom"}, "the last rollout failed (boom)"),
        ({"weights": {}}, "no variant is recorded as live"),
        ({"phase": Phase.SUPERSEDED}, "superseded"),
    ],
)
def test_statuses_that_say_nothing_about_the_live_endpoint(
    changes: dict[str, Any], reason: str
) -> None:
    status = STATUS.evolve(**changes)
    assert reason in not_comparable(status)
    assert compare(status, None).skipped == not_comparable(status)


def test_fingerprint_ignores_order_and_changes_with_the_drift() -> None:
    one = compare(STATUS, live_of(STATUS, variants=variant_with(instance_count=5, weight=0.0)))
    reordered = one.model_copy(update={"drifts": list(reversed(one.drifts))})
    assert one.fingerprint() == reordered.fingerprint()
    other = compare(STATUS, live_of(STATUS, variants=variant_with(instance_count=6, weight=0.0)))
    assert other.fingerprint() != one.fingerprint()


# --- the drift check ----------------------------------------------------------------------------


@dataclass
class Store:
    statuses: list[RolloutStatus]
    records: list[HistoryRecord] = field(default_factory=list)

    def list_statuses(self) -> list[RolloutStatus]:
        return self.statuses

    def get(self, endpoint: str) -> RolloutStatus | None:
        return next((s for s in self.statuses if s.endpoint == endpoint), None)

    def history(self, endpoint: str, limit: int = 200) -> list[HistoryRecord]:
        return [r for r in reversed(self.records) if r.endpoint == endpoint][:limit]

    def append_history(self, records: Any) -> None:
        self.records.extend(records)


@dataclass
class Live:
    endpoints: dict[str, LiveEndpoint | None]
    broken: set[str] = field(default_factory=set)

    def read(self, endpoint: str) -> LiveEndpoint | None:
        if endpoint in self.broken:
            raise TransientError("DescribeEndpoint: throttled")
        return self.endpoints.get(endpoint)


@dataclass
class Notifier:
    sent: list[DriftReport] = field(default_factory=list)

    def drift(self, report: DriftReport) -> None:
        self.sent.append(report)


@dataclass(frozen=True)
class Outcome:
    kind: str
    rollout_id: str


@dataclass
class Healer:
    calls: list[dict[str, Any]] = field(default_factory=list)
    error: Exception | None = None

    def start(self, declaration: Any, **kwargs: Any) -> Outcome:
        self.calls.append({"endpoint": declaration.name, **kwargs})
        if self.error is not None:
            raise self.error
        return Outcome("started", "heal-1")


def world(**live: Any) -> tuple[DriftService, Store, Live, Notifier, Healer]:
    store = Store([STATUS])
    endpoints = Live({STATUS.endpoint: live_of(STATUS, **live)})
    notifier, healer = Notifier(), Healer()
    service = DriftService(
        store, endpoints, notifier, healer, self_heal=True, clock=lambda: NOW + 60
    )
    return service, store, endpoints, notifier, healer


def test_a_new_drift_is_recorded_notified_and_healed_once() -> None:
    service, store, _, notifier, healer = world(variants=variant_with(instance_count=5))
    first = service.check_all()[0]
    assert first.changed
    assert first.healed == "heal-1"
    [record] = store.records
    assert record.event.startswith("drift: weights or instance counts were changed")
    assert record.details["drift"][0]["field"] == f"variants[{VARIANT}].instanceCount"
    assert record.details["heal"] == "heal-1"
    assert record.commit == STATUS.commit
    assert [r.endpoint for r in notifier.sent] == [STATUS.endpoint]
    [call] = healer.calls
    assert call["force"] is True
    assert call["commit"] == STATUS.commit
    assert call["source"]["provider"] == "drift"

    again = service.check_all()[0]
    assert again.report.drifted
    assert not again.changed
    assert len(store.records) == 1
    assert len(notifier.sent) == 1
    assert len(healer.calls) == 1


def test_a_status_that_changed_while_the_endpoint_was_read_is_checked_next_time() -> None:
    """The statuses are listed first, each endpoint read later: a push whose rollout started
    in between (its config live, its status no longer the one listed) is no drift — and is
    never healed back to the commit listed."""
    service, store, endpoints, notifier, healer = world()
    rollout_started = STATUS.evolve(phase=Phase.INITIALIZING, version=STATUS.version + 1)

    class Meanwhile(Live):
        def read(self, endpoint: str) -> LiveEndpoint | None:
            store.statuses = [rollout_started]  # the push's rollout saved its status...
            return live_of(STATUS, variants=variant_with(instance_count=5))  # ...and acted

    service.live = Meanwhile(endpoints.endpoints)
    [outcome] = service.check_all()
    assert not outcome.changed and not outcome.report.drifted
    assert "changed during the check" in outcome.report.skipped
    assert store.records == [] and notifier.sent == [] and healer.calls == []


def test_resolved_drift_is_recorded_and_notified() -> None:
    service, store, endpoints, notifier, _ = world(variants=variant_with(instance_count=5))
    service.check_all()
    endpoints.endpoints[STATUS.endpoint] = live_of(STATUS)
    outcome = service.check_all()[0]
    assert outcome.changed
    assert store.records[-1].event == "drift resolved"
    assert not notifier.sent[-1].drifted
    assert last_fingerprint(store.history(STATUS.endpoint)) == ""
    assert not service.check_all()[0].changed  # in sync stays quiet


def test_no_healing_without_self_heal_or_for_a_rollback() -> None:
    service, _, _, _, healer = world(variants=variant_with(instance_count=5))
    service.self_heal = False
    assert service.check_all()[0].changed
    assert healer.calls == []


@pytest.mark.parametrize(
    ("function", "app_config", "heals"),
    [
        (False, True, False),  # a repository cannot turn on what the operator keeps off
        (False, None, False),
        (False, False, False),
        (True, False, False),  # ... but can turn off what the operator allows
        (True, None, True),
        (True, True, True),
    ],
)
def test_the_operators_selfheal_bounds_what_the_app_config_at_the_commit_says(
    function: bool, app_config: bool | None, heals: bool
) -> None:
    service, store, _, _, healer = world(variants=variant_with(instance_count=5))
    store.statuses = [STATUS.evolve(self_heal=app_config)]
    service.self_heal = function
    outcome = service.check_all()[0]
    assert outcome.changed and bool(outcome.healed) is heals
    assert len(healer.calls) == int(heals)


def test_a_heal_keeps_what_the_commit_said_besides_the_declaration() -> None:
    service, store, _, _, healer = world(variants=variant_with(instance_count=5))
    request = GoldenRequest(body={"x": 1}, expect=Expect(status=200))
    golden = [NamedRequest(name="tests/churn/a.json", request=request)]
    store.statuses = [STATUS.evolve(self_heal=True, golden=golden, override="hotfix")]
    service.check_all()
    context = healer.calls[0]["context"]
    assert (context.self_heal, context.golden, context.override) == (True, golden, "hotfix")


def test_a_heal_that_cannot_start_is_recorded() -> None:
    service, store, _, _, healer = world(variants=variant_with(instance_count=5))
    healer.error = ConflictError("status keeps changing")
    outcome = service.check_all()[0]
    assert outcome.error == "status keeps changing"
    assert store.records[0].details["heal"] == "failed: status keeps changing"


def test_one_failing_endpoint_does_not_stop_the_others() -> None:
    other = succeeded(name="fraud-scorer")
    service, store, endpoints, _, _ = world()
    store.statuses = [STATUS, other]
    endpoints.broken.add(STATUS.endpoint)
    endpoints.endpoints[other.endpoint] = None
    first, second = service.check_all()
    assert first.error == "DescribeEndpoint: throttled"
    assert first.report.skipped.startswith("check failed")
    assert second.report.drifts[0].field == "endpoint"
    assert service.check_all(["fraud-scorer"])[0].report.endpoint == "fraud-scorer"


def test_an_active_rollout_is_not_read() -> None:
    service, store, endpoints, _, _ = world()
    store.statuses = [STATUS.evolve(phase=Phase.PROGRESSING)]
    endpoints.broken.add(STATUS.endpoint)  # would raise if read
    [outcome] = service.check_all()
    assert outcome.report.skipped == "a rollout is Progressing"
    assert not outcome.error


def test_expected_state_names_smgitops_config_and_model() -> None:
    expected = expected_state(STATUS)
    assert expected is not None
    assert expected.variants == [STATUS.candidate]
    assert expected.configs == [naming.config_name(STATUS.endpoint, [STATUS.candidate])]
    assert expected.models[MODEL]["environment"] == {"WORKERS": "2"}
    assert isinstance(expected.variants[0], VariantRef)


def test_a_drift_recorded_while_the_operator_kept_healing_off_heals_once_it_is_on() -> None:
    service, store, _, _, healer = world(variants=variant_with(instance_count=5))
    store.statuses = [STATUS.evolve(self_heal=True)]
    service.self_heal = False  # SMGITOPS_SELF_HEAL=false: the repository's true is not enough
    assert service.check_all()[0].changed and healer.calls == []
    service.self_heal = True  # the operator turns SelfHeal on
    assert service.check_all()[0].healed == "heal-1" and len(healer.calls) == 1
    assert service.check_all()[0].healed == ""  # once


def test_a_drift_recorded_before_selfheal_was_on_is_healed_once_it_is() -> None:
    service, store, _, notifier, healer = world(variants=variant_with(instance_count=5))
    store.statuses = [STATUS.evolve(self_heal=False)]
    assert service.check_all()[0].changed and healer.calls == []
    store.statuses = [STATUS.evolve(self_heal=True)]  # a later push said selfHeal: true
    late = service.check_all()[0]
    assert late.healed == "heal-1" and not late.changed
    assert len(healer.calls) == 1
    assert store.records[-1].details["heal"] == "heal-1"
    assert (
        last_fingerprint(store.history(STATUS.endpoint)) == store.records[0].details["fingerprint"]
    )
    assert len(notifier.sent) == 1  # the drift is not news: notified once
    assert service.check_all()[0].healed == ""  # a heal that did not repair it never loops
    assert len(healer.calls) == 1


def test_a_drift_whose_heal_failed_is_not_retried_by_every_run() -> None:
    service, _, _, _, healer = world(variants=variant_with(instance_count=5))
    healer.error = ConflictError("status keeps changing")
    assert service.check_all()[0].error == "status keeps changing"
    healer.error = None
    assert service.check_all()[0].healed == ""
    assert len(healer.calls) == 1


def _autoscaled() -> RolloutStatus:
    from smgitops.declaration.models import Declaration
    from tests.builders import declaration_dict

    raw = declaration_dict(instance_count=2)
    raw["spec"]["autoscaling"] = {
        "minInstances": 2,
        "maxInstances": 8,
        "target": {"metric": "InvocationsPerInstance", "value": 200},
    }
    decl = Declaration.model_validate(raw)
    status = new_status(
        decl, rollout_id="r-1", commit="c0ffee" * 6, pushed_at=NOW, source={}, now=NOW
    )
    return status.evolve(
        phase=Phase.SUCCEEDED, stable=status.candidate, weights={status.candidate.name: 100.0}
    )


def test_an_autoscaled_count_within_its_range_is_no_drift() -> None:
    """The autoscaler scaled the variant from the declared 2 to 5 (within 2..8): its work, not
    drift; outside the range something else changed it."""
    status = _autoscaled()
    scaled_to = [live_of(status).variants[0].model_copy(update={"instance_count": 5})]
    assert compare(status, live_of(status, variants=scaled_to)).drifts == []
    beyond = [live_of(status).variants[0].model_copy(update={"instance_count": 9})]
    report = compare(status, live_of(status, variants=beyond))
    [drift] = report.drifts
    assert (drift.field, drift.declared, drift.live) == (
        f"variants[{status.stable.name if status.stable else ''}].instanceCount",
        "2..8",
        9,
    )


def test_after_a_rollback_the_stable_targets_range_applies() -> None:
    from smgitops.rollout.status import VariantScaling

    status = STATUS.evolve(
        phase=Phase.ROLLED_BACK,
        stable_scaling=VariantScaling(variant=VARIANT, min_capacity=1, max_capacity=6),
    )
    assert compare(status, live_of(status, variants=variant_with(instance_count=6))).drifts == []
    assert fields(compare(status, live_of(status, variants=variant_with(instance_count=7)))) == [
        f"variants[{VARIANT}].instanceCount"
    ]


def _with_target(status: RolloutStatus, **target: Any) -> LiveEndpoint:
    from smgitops.rollout.decide.scaling import POLICY_NAME
    from smgitops.rollout.status import ScalingPolicy, VariantScaling

    assert status.stable is not None
    scaling = {
        "variant": status.stable.name,
        "min_capacity": 2,
        "max_capacity": 8,
        "policies": [ScalingPolicy(name=POLICY_NAME)],
        **target,
    }
    return live_of(status, scaling={status.stable.name: VariantScaling(**scaling)})


def test_the_declared_scalable_target_is_watched() -> None:
    status = _autoscaled()
    variant = status.stable.name if status.stable else ""
    assert compare(status, _with_target(status)).drifts == []
    gone = compare(status, live_of(status, scaling={}))
    assert [(d.field, d.declared, d.live) for d in gone.drifts] == [
        (f"autoscaling[{variant}]", "2..8", "not registered")
    ]
    assert "Application Auto Scaling" in gone.cause
    assert gone.healable
    narrowed = compare(status, _with_target(status, max_capacity=4))
    assert [(d.declared, d.live) for d in narrowed.drifts] == [("2..8", "2..4")]
    no_policy = compare(status, _with_target(status, policies=[]))
    assert fields(no_policy) == [f"autoscaling[{variant}].policy"]
    # not read (an adapter without Application Auto Scaling): nothing said about it
    assert compare(status, live_of(status)).drifts == []


def test_a_drift_record_names_the_endpoints_owner_like_every_other_record() -> None:
    service, store, _, _, _ = world(variants=variant_with(instance_count=5))
    store.statuses = [STATUS.evolve(owner="https://github.com/acme/churn")]
    service.check_all()
    assert [r.owner for r in store.records] == ["https://github.com/acme/churn"]
