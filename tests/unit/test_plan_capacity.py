"""`plan`'s capacity arithmetic: what a rollout holds at each moment, per resource, and the
quota each peak needs (the emulator agrees: tests/integration/test_instance_quota.py)."""

from __future__ import annotations

from typing import Any

import pytest

from smgitops.declaration.models import Declaration
from smgitops.plan.diff import Current, compare, fields_of
from smgitops.plan.rollout import RolloutPlan, planned
from smgitops.rollout.capacity import (
    PROVISIONED,
    SERVERLESS,
    of_live,
    of_spec,
    quota_name,
    rollout_capacity,
)
from tests.builders import declaration, declaration_dict

M5, G5 = "ml.m5.large", "ml.g5.xlarge"


def _rollout(**fields: Any) -> Any:
    return declaration(version=2, **fields).spec.rollout


@pytest.mark.parametrize(
    ("fields", "peak", "at"),
    [
        # 2S + N adding the candidate, S + 2N promoting: the larger
        ({"strategy": "canary", "steps": [10, 50]}, 8, "promoting"),
        ({"strategy": "linear", "stepWeight": 25}, 8, "promoting"),
        ({"strategy": "blueGreen"}, 8, "promoting"),
        ({"strategy": "abTest"}, 8, "promoting"),
        ({"strategy": "allAtOnce"}, 5, "the update to the new model"),
        ({"strategy": "shadow", "shadow": {"then": "stop"}}, 7, "adding the shadow variant"),
        # the shadow fleet and the canary's both run while the shadow becomes a canary
        ({"strategy": "shadow", "shadow": {"then": "canary"}}, 10, "the shadow becomes"),
    ],
)
def test_the_peak_of_each_strategy(fields: dict[str, Any], peak: int, at: str) -> None:
    held = rollout_capacity(_rollout(**fields), {M5: 3}, {M5: 2})
    assert held.peak() == {M5: peak}
    assert held.peak_moment(M5).label.startswith(at)


def test_a_stable_model_that_outweighs_the_new_one_peaks_while_adding_or_rolling_back() -> None:
    held = rollout_capacity(_rollout(steps=[10]), {M5: 1}, {M5: 4})
    assert held.peak() == {M5: 9}  # 4 + (4 + 1)
    assert held.peak_moment(M5).label.startswith("adding the new model")
    rollback = held.moments[-1]
    assert rollback.label.startswith("a rollback") and rollback.total == {M5: 9}


def test_each_step_holds_the_stable_and_the_new_fleet() -> None:
    held = rollout_capacity(_rollout(steps=[10, 25, 50]), {M5: 3}, {M5: 2})
    steps = [(m.weight, m.stable, m.new) for m in held.moments if m.step]
    assert steps == [(w, {M5: 2}, {M5: 3}) for w in (0.0, 10.0, 25.0, 50.0)]
    assert [label for label, _ in held.grouped()] == [
        "before: the stable model alone",
        "adding the new model at 0 %: the old fleet and the new",
        "serving at 0 → 10 → 25 → 50 %",
        "promoting: both fleets until the new model alone serves",
        "after: the new model alone",
        "a rollback (from any step): both fleets until the stable model alone serves",
    ]


def test_a_new_instance_type_needs_each_types_quota() -> None:
    held = rollout_capacity(_rollout(steps=[50]), {G5: 3}, {M5: 2})
    assert held.peak() == {M5: 4, G5: 6}  # m5: 2 + 2 adding; g5: 3 + 3 promoting
    lines = RolloutPlan(_rollout(steps=[50]), capacity=held).details()
    assert any(f"up to 4 × {M5} at once" in line and f"{M5} for endpoint usage" in line
               for line in lines)  # fmt: skip
    assert any(f"up to 6 × {G5} at once" in line for line in lines)
    assert "2 × ml.m5.large (2 stable" not in "\n".join(lines)  # no split across types


def test_a_new_endpoint_holds_its_fleet() -> None:
    held = rollout_capacity(_rollout(), {M5: 3}, None)
    assert held.peak() == {M5: 3}
    assert len(held.moments) == 1


def _serverless(max_concurrency: int, provisioned: int | None = None) -> Declaration:
    data = declaration_dict(version=2, strategy="allAtOnce")
    spec = data["spec"]
    del spec["instanceType"], spec["instanceCount"]
    spec["serverless"] = {"memorySizeMB": 2048, "maxConcurrency": max_concurrency}
    if provisioned is not None:
        spec["serverless"]["provisionedConcurrency"] = provisioned
    return Declaration.model_validate(data)


def test_serverless_capacity_is_concurrency_against_the_regions_quota() -> None:
    new = _serverless(20, provisioned=2)
    assert of_spec(new.spec) == {SERVERLESS: 20, PROVISIONED: 2}
    held = rollout_capacity(new.spec.rollout, of_spec(new.spec), of_spec(_serverless(10).spec))
    assert held.peak() == {SERVERLESS: 30, PROVISIONED: 2}  # old + new config during the update
    assert quota_name(SERVERLESS).startswith("Maximum total concurrency")
    summary = held.summary()
    assert summary[0].startswith("capacity: up to serverless concurrency 30 at once")
    assert RolloutPlan(new.spec.rollout, capacity=held).peak() == (
        "serverless concurrency 30, serverless provisioned concurrency 2"
    )


def test_from_instances_to_serverless_counts_each() -> None:
    new = _serverless(20)
    held = rollout_capacity(new.spec.rollout, of_spec(new.spec), {M5: 2})
    assert held.peak() == {M5: 2, SERVERLESS: 20}
    assert held.moments[-1].total == {SERVERLESS: 20}


def test_the_markdown_table_lists_each_moment() -> None:
    held = rollout_capacity(_rollout(steps=[10, 50]), {M5: 3}, {M5: 2})
    table = held.markdown_table().splitlines()
    assert table[0] == "| moment | stable | new | total |"
    assert "| serving at 0 → 10 → 50 % | 2 × ml.m5.large | 3 × ml.m5.large | 5 × ml.m5.large |" in (
        table
    )
    assert len(table) == 2 + 6


def test_an_autoscaled_variant_is_counted_at_its_max_instances() -> None:
    scaling = {"minInstances": 2, "maxInstances": 8,
               "target": {"metric": "InvocationsPerInstance", "value": 200}}  # fmt: skip
    data = declaration_dict(version=2, instance_count=2, steps=[10, 50])
    data["spec"]["autoscaling"] = scaling
    scaled = Declaration.model_validate(data)
    assert of_spec(scaled.spec) == {M5: 8}  # the quota must allow what it may scale to
    held = rollout_capacity(
        scaled.spec.rollout, of_spec(scaled.spec), of_spec(scaled.spec), autoscaled=True
    )
    assert held.peak() == {M5: 24}  # 8 stable + (8 + 8) new while promoting
    assert "(autoscaled variants counted at maxInstances)" in held.summary()[0]
    assert held.to_json()["autoscaled"] is True


# --- against the live endpoints: the stable variant at the count it runs now ---------------

SCALING = {"minInstances": 2, "maxInstances": 8,
           "target": {"metric": "InvocationsPerInstance", "value": 200}}  # fmt: skip


def _scaled(version: int, steps: list[int] | None = None) -> Declaration:
    data = declaration_dict(version=version, instance_count=2, steps=steps or [10, 50])
    data["spec"]["autoscaling"] = SCALING
    return Declaration.model_validate(data)


def _live_now(decl: Declaration, held: dict[str, int]) -> Current:
    fields = fields_of(decl)  # what smgitops deployed, its scalable target registered
    return Current(fields, managed=True, held=held)


def test_an_autoscaled_stable_is_counted_at_the_instances_it_runs_now() -> None:
    # the stable scaled from 2 to 5 (of max 8): the rollout holds those 5, not 2 and not 8
    [change] = compare({"e": _scaled(2)}, {"e": _live_now(_scaled(1), {M5: 5})})
    assert change.action == "update" and change.rollout is not None
    capacity = change.rollout.capacity
    assert capacity is not None
    assert capacity.moments[0].stable == {M5: 5}  # before: the stable model alone
    # 5 stable + (8 + 8) new while promoting, against 2 × 5 + 8 adding the new model
    assert capacity.peak() == {M5: 21}
    assert capacity.autoscaled and capacity.live
    summary = capacity.summary()[0]
    assert summary.startswith(
        "capacity: up to 21 × ml.m5.large at once (the stable variant at the count it runs now, "
        "an autoscaled new variant at maxInstances)"
    )
    assert "the quota ml.m5.large for endpoint usage must allow it" in summary
    assert capacity.to_json()["stableLive"] is True


def test_a_stable_that_outweighs_the_new_model_peaks_with_its_live_count() -> None:
    new = declaration(version=2, instance_count=1, steps=[10])
    [change] = compare({"e": new}, {"e": _live_now(declaration(version=1), {M5: 6})})
    assert change.rollout is not None and change.rollout.capacity is not None
    assert change.rollout.capacity.peak() == {M5: 13}  # 6 + (6 + 1) adding the new model
    assert not change.rollout.capacity.autoscaled


def test_a_live_serverless_stable_holds_its_concurrency() -> None:
    held = of_live("", 0, {"MemorySizeInMB": 2048, "MaxConcurrency": 10,
                           "ProvisionedConcurrency": 2})  # fmt: skip
    assert held == {SERVERLESS: 10, PROVISIONED: 2}
    assert of_live(M5, 5) == {M5: 5}
    assert of_live(M5, 0) == {}


def test_unknown_live_capacity_plans_no_capacity_and_a_new_endpoint_holds_its_own() -> None:
    [change] = compare({"e": _scaled(2)}, {"e": Current(fields_of(_scaled(1)), managed=True)})
    assert change.action == "update" and change.rollout is None  # no guess
    [change] = compare({"e": _scaled(2)}, {})
    assert change.rollout is not None and change.rollout.first_deploy
    assert change.rollout.capacity is not None
    assert change.rollout.capacity.peak() == {M5: 8}  # the new variant may scale to max
    [change] = compare({"e": _scaled(1)}, {"e": _live_now(_scaled(1), {M5: 5})})
    assert change.action == "unchanged" and change.rollout is None


def _serverless_blue_green(max_concurrency: int) -> Declaration:
    data = _serverless(max_concurrency).model_dump(mode="json", by_alias=True, exclude_none=True)
    data["spec"]["rollout"]["strategy"] = "blueGreen"
    return Declaration.model_validate(data)


def test_a_serverless_blue_green_is_a_swap_never_two_variants_side_by_side() -> None:
    new = _serverless_blue_green(20)
    plan = planned(new, of_spec(_serverless(10).spec))
    assert plan.swap and plan.capacity is not None
    # the old config and the new one during each update, the new one alone while it bakes
    assert plan.capacity.peak() == {SERVERLESS: 30}  # not 10 + 2 × 20 "promoting"
    assert [m.label for m in plan.capacity.moments] == [
        "before: the stable model alone",
        "the swap to the new model: both configs during the update",
        "the new model alone, baking with the checks",
        "a rollback: the swap back, both configs during the update",
    ]
    assert plan.traffic() == [0.0, 100.0]
    assert plan.minimum_seconds() == new.spec.rollout.interval_seconds  # one bake
    assert plan.headline().startswith("blueGreen as a swap (a serverless endpoint holds one")
    assert plan.to_json()["swap"] is True
    # a serverless stable swapped to instances, counted live: the same single update
    instances = declaration(version=2, strategy="blueGreen", instance_count=3)
    live = planned(instances, of_live("", 0, {"MaxConcurrency": 10}), live=True)
    assert live.swap and live.capacity is not None
    assert live.capacity.peak() == {SERVERLESS: 10, M5: 3}
    assert not planned(instances, {M5: 2}).swap  # instances to instances: side by side
