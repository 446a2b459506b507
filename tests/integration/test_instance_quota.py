"""Each UpdateEndpoint starts a whole new fleet before it stops the old one, so a rollout needs
about twice the instances for a moment (botocore ``UpdateEndpoint``). Past the account's quota
SageMaker answers ResourceLimitExceeded; the emulator does too, and the rollout ends with that
reason before any traffic moves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from smgitops.aws import clients, quotas
from smgitops.local.emulator import set_instance_quota
from smgitops.rollout.capacity import of_spec, rollout_capacity
from smgitops.rollout.status import Phase, RolloutStatus
from tests.builders import declaration
from tests.integration.conftest import Engine

NAME = "churn-predictor"
TYPE = "ml.m5.large"


@pytest.fixture
def quota() -> Iterator[None]:
    yield
    set_instance_quota(TYPE, None)


def _configs(engine: Engine) -> int:
    return len(engine.sagemaker.list_endpoint_configs(MaxResults=100)["EndpointConfigs"])


def test_a_rollout_whose_peak_exceeds_the_quota_is_refused_before_anything_is_created(
    engine: Engine, quota: None
) -> None:
    """Another endpoint holds 2 of the 7: the canary's peak 2 + (2 + 2) cannot fit."""
    engine.deploy(declaration(name="other-model", version=1, instance_count=2), "0" * 40)
    engine.deploy(declaration(version=1, instance_count=2), "1" * 40)
    stable, configs = dict(engine.weights(NAME)), _configs(engine)
    set_instance_quota(TYPE, 7)
    outcome = engine.start(declaration(version=2, instance_count=2), "2" * 40)
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1][0] == Phase.FAILED
    assert all(weights == stable for _, weights in trail)
    assert _configs(engine) == configs  # nothing was created
    status = engine.service.store.get(NAME)
    assert status is not None
    assert f"needs up to 6 × {TYPE} at once (canary)" in status.reason
    assert f"'{TYPE} for endpoint usage' is 7 with 2 held by other endpoints" in status.reason
    assert engine.service.store.history(NAME)[0].reason == status.reason


def test_exactly_at_the_quota_with_other_endpoints_the_rollout_proceeds(
    engine: Engine, quota: None
) -> None:
    engine.deploy(declaration(name="other-model", version=1, instance_count=2), "0" * 40)
    engine.deploy(declaration(version=1, instance_count=2), "1" * 40)
    set_instance_quota(TYPE, 8)  # 2 elsewhere + the canary's peak 6
    engine.deploy(declaration(version=2, instance_count=2), "2" * 40)


def test_a_quota_that_cannot_be_read_refuses_the_rollout_naming_the_permission(
    engine: Engine, quota: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.deploy(declaration(version=1, instance_count=2), "1" * 40)
    configs = _configs(engine)
    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}},
        "ListServiceQuotas",
    )
    adapter: Any = engine.service.sagemaker
    monkeypatch.setattr(adapter, "quotas_client", _Denied(denied))
    outcome = engine.start(declaration(version=2, instance_count=2), "2" * 40)
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1][0] == Phase.FAILED
    assert _configs(engine) == configs
    status = engine.service.store.get(NAME)
    assert status is not None
    assert "instance quota could not be read" in status.reason
    assert "servicequotas:ListServiceQuotas" in status.reason


class _Denied:
    def __init__(self, error: ClientError) -> None:
        self.error = error

    def list_service_quotas(self, **_: Any) -> dict[str, Any]:
        raise self.error


def test_what_the_read_cannot_count_sagemaker_still_refuses_before_traffic_moves(
    engine: Engine, quota: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Too many endpoints to count their use: the peak alone fits, SageMaker's
    ResourceLimitExceeded still ends the rollout with that reason before any traffic moves."""
    engine.deploy(declaration(name="other-model", version=1, instance_count=2), "0" * 40)
    engine.deploy(declaration(version=1, instance_count=2), "1" * 40)
    stable = dict(engine.weights(NAME))
    monkeypatch.setattr(quotas, "MAX_ENDPOINTS", 0)
    set_instance_quota(TYPE, 6)  # the peak 6 fits alone; with the other 2 it does not
    outcome = engine.start(declaration(version=2, instance_count=2), "2" * 40)
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1][0] in {Phase.ROLLED_BACK, Phase.FAILED}
    assert all(weights == stable for _, weights in trail)
    status = engine.service.store.get(NAME)
    assert status is not None
    assert f"'{TYPE} for endpoint usage' is 6 Instances" in status.reason


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
    is refused before anything is created, exactly the peak and it goes through."""
    engine.deploy(declaration(version=1, instance_count=2), "1" * 40)
    new = declaration(version=2, instance_count=3, **rollout)
    stable = declaration(version=1, instance_count=2)
    peak = rollout_capacity(new.spec.rollout, of_spec(new.spec), of_spec(stable.spec)).peak()
    assert set(peak) == {TYPE}

    set_instance_quota(TYPE, peak[TYPE] - 1)  # refused up front, with the same figure
    status = _to_the_end(engine, engine.start(new, "2" * 40).rollout_id)
    assert status.phase == Phase.FAILED, status
    assert f"needs up to {peak[TYPE]} × {TYPE} at once" in status.reason

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


def test_the_quota_is_found_past_the_first_page(engine: Engine, quota: None) -> None:
    for index in range(150):  # listed before ml.m5.large: it is on the second page
        set_instance_quota(f"ml.a{index:03d}.large", 1)
    set_instance_quota(TYPE, 5)
    found = quotas.instance_quotas(clients.client("service-quotas"), [TYPE, "ml.g5.xlarge"])
    assert found == {TYPE: 5}


def test_a_first_deploy_over_the_quota_creates_no_endpoint(engine: Engine, quota: None) -> None:
    set_instance_quota(TYPE, 1)
    outcome = engine.start(declaration(version=1, instance_count=2), "1" * 40)
    assert engine.tick(NAME, outcome.rollout_id).phase == Phase.FAILED
    assert engine.sagemaker.list_endpoints()["Endpoints"] == []
    assert _configs(engine) == 0
    status = engine.service.store.get(NAME)
    assert status is not None
    assert f"needs up to 2 × {TYPE} at once" in status.reason
