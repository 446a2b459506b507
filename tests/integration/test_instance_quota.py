"""Each UpdateEndpoint starts a whole new fleet before it stops the old one, so a rollout needs
about twice the instances for a moment (botocore ``UpdateEndpoint``). Past the account's quota
SageMaker answers ResourceLimitExceeded; the emulator does too, and the rollout ends with that
reason before any traffic moves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from smgitops.local.emulator import set_instance_quota
from smgitops.plan.capacity import of_spec, rollout_capacity
from smgitops.rollout.status import Phase, RolloutStatus
from tests.builders import declaration
from tests.integration.conftest import Engine

NAME = "churn-predictor"
TYPE = "ml.m5.large"


@pytest.fixture
def quota() -> Iterator[None]:
    yield
    set_instance_quota(TYPE, None)


def test_a_quota_the_rollout_would_exceed_ends_it_with_that_reason_before_traffic_moves(
    engine: Engine, quota: None
) -> None:
    engine.deploy(declaration(version=1, instance_count=2), "1" * 40)
    stable = dict(engine.weights(NAME))
    set_instance_quota(TYPE, 4)  # 2 serving; the candidate's update needs 2 + (2 + 2)
    outcome = engine.start(declaration(version=2, instance_count=2), "2" * 40)
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1][0] in {Phase.ROLLED_BACK, Phase.FAILED}
    assert all(weights == stable for _, weights in trail)  # the candidate never served
    status = engine.service.store.get(NAME)
    assert status is not None
    assert "ResourceLimitExceeded" in status.reason or "service limit" in status.reason
    assert f"'{TYPE} for endpoint usage' is 4 Instances" in status.reason


def test_within_the_quota_the_rollout_succeeds(engine: Engine, quota: None) -> None:
    engine.deploy(declaration(version=1, instance_count=2), "1" * 40)
    set_instance_quota(TYPE, 6)  # the peak the plan shows for a canary: 2 + (2 + 2)
    engine.deploy(declaration(version=2, instance_count=2), "2" * 40)


STRATEGIES = [
    {"strategy": "canary", "steps": [10, 50]},
    {"strategy": "linear", "stepWeight": 50},
    {"strategy": "blueGreen"},
    {"strategy": "abTest", "split": 20},
    {"strategy": "allAtOnce"},
    {"strategy": "shadow", "shadow": {"then": "stop"}},
    {"strategy": "shadow", "shadow": {"then": "canary"}, "steps": [20]},
]


@pytest.mark.parametrize("rollout", STRATEGIES, ids=lambda r: str(r["strategy"]) + str(r))
def test_the_planned_peak_is_exactly_the_quota_the_rollout_needs(
    engine: Engine, quota: None, rollout: dict[str, Any]
) -> None:
    """`plan`'s peak is what SageMaker (the emulator) counts: one instance less and the rollout
    ends with ResourceLimitExceeded, exactly the peak and it goes through."""
    engine.deploy(declaration(version=1, instance_count=2), "1" * 40)
    new = declaration(version=2, instance_count=3, **rollout)
    stable = declaration(version=1, instance_count=2)
    peak = rollout_capacity(new.spec.rollout, of_spec(new.spec), of_spec(stable.spec)).peak()
    assert set(peak) == {TYPE}

    set_instance_quota(TYPE, peak[TYPE] - 1)
    status = _to_the_end(engine, engine.start(new, "2" * 40).rollout_id)
    assert status.phase in {Phase.ROLLED_BACK, Phase.FAILED}, status
    assert "ResourceLimitExceeded" in status.reason or "service limit" in status.reason

    set_instance_quota(TYPE, peak[TYPE])
    enough = engine.start(declaration(version=3, instance_count=3, **rollout), "3" * 40)
    assert _to_the_end(engine, enough.rollout_id).phase == Phase.SUCCEEDED


def _to_the_end(engine: Engine, rollout_id: str) -> RolloutStatus:
    """Tick until the rollout ends, promoting it where it holds (abTest)."""
    for _ in range(80):
        result = engine.tick(NAME, rollout_id)
        if result.done:
            break
        if result.phase == Phase.PAUSED:
            engine.service.promote(NAME)
    status = engine.service.store.get(NAME)
    assert status is not None and status.rollout_id == rollout_id
    return status
