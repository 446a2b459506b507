"""Each UpdateEndpoint starts a whole new fleet before it stops the old one, so a rollout needs
about twice the instances for a moment (botocore ``UpdateEndpoint``). Past the account's quota
SageMaker answers ResourceLimitExceeded; the emulator does too, and the rollout ends with that
reason before any traffic moves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smgitops.local.emulator import set_instance_quota
from smgitops.rollout.status import Phase
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
