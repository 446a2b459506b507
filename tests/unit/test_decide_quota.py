"""The account's instance quotas, checked in Pending before anything is created: a rollout whose
peak (the stable it holds plus what it adds, the figure `plan` shows) does not fit the quota
less what other endpoints hold fails up front, with the figures; one that fits starts.

The service reads the quotas (aws/quotas.py; against the emulator:
tests/integration/test_instance_quota.py); these state decide()'s verdict on what was read.
"""

from __future__ import annotations

import pytest

from smgitops.rollout.observation import InstanceQuota
from tests.builders import declaration
from tests.unit.fake_world import World
from tests.unit.test_decide import NAME, deployed, start
from tests.unit.test_decide_history import history

LARGE = "ml.m5.large"


def refusal(need: int, strategy: str, quota: int, others: int) -> str:
    return (
        f"the rollout needs up to {need} × {LARGE} at once ({strategy}), and the account's quota "
        f"'{LARGE} for endpoint usage' is {quota} with {others} held by other endpoints: nothing "
        "was created; request a quota increase (Service Quotas), free instances, or choose a "
        "strategy with a smaller peak (plan shows it)"
    )


@pytest.mark.parametrize(
    ("quota", "others", "live", "refused"),
    [
        # the stable's 2 instances and a canary of 2 peak at 6: exactly the quota fits
        (6, 0, None, ""),
        (5, 0, None, refusal(6, "canary", 5, 0)),
        (6, 1, None, refusal(6, "canary", 6, 1)),  # what other endpoints hold counts
        (5, None, None, refusal(6, "canary", 5, 0)),  # too many endpoints to count: none
        # the stable runs 3 instances now (autoscaled), not its declared 2: the peak is 8
        (7, 0, 3, refusal(8, "canary", 7, 0)),
        (8, 0, 3, ""),
    ],
)
def test_a_rollout_starts_only_when_its_peak_fits_the_quota_less_other_endpoints(
    quota: int, others: int | None, live: int | None, refused: str
) -> None:
    world = World()
    stable = deployed(world, instance_count=2).candidate.name
    if live is not None:
        world.endpoints[NAME].instances = {stable: live}
    world.quotas = [
        InstanceQuota(instance_type=LARGE, quota=quota, others=others),
        InstanceQuota(instance_type="ml.p3.2xlarge", quota=0, others=0),  # a type not used
    ]
    applied = len(world.applied)
    final, trail = history(world, start(declaration(version=2, instance_count=2), world), 1)
    if refused:
        assert trail == [("Failed", None, 0, (refused,), ())]
        assert final.reason == refused
        assert world.applied[applied:] == []
    else:
        assert trail[0][0] == "Initializing"
        assert trail[0][4] == ("CreateModel", "CreateEndpointConfig", "UpdateEndpoint")


def test_a_blue_green_is_checked_against_its_own_peak() -> None:
    world = World()
    deployed(world, instance_count=2)
    world.quotas = [InstanceQuota(instance_type=LARGE, quota=5, others=0)]
    _, trail = history(
        world, start(declaration(version=2, strategy="blueGreen", instance_count=2), world), 1
    )
    assert trail[0][3] == (refusal(6, "blueGreen", 5, 0),)


def test_a_quota_that_cannot_be_read_fails_the_rollout_naming_why() -> None:
    world = World()
    deployed(world)
    world.quota_unreadable = "AccessDenied: servicequotas:ListServiceQuotas"
    applied = len(world.applied)
    final, trail = history(world, start(declaration(version=2), world))
    reason = (
        "the instance quota could not be read, so the rollout's peak cannot be checked against "
        "it: AccessDenied: servicequotas:ListServiceQuotas"
    )
    assert trail == [("Failed", None, 0, (reason,), ())]
    assert final.reason == reason and world.applied[applied:] == []


def test_a_first_deploy_over_the_quota_creates_no_endpoint() -> None:
    world = World()
    world.quotas = [InstanceQuota(instance_type=LARGE, quota=1, others=1)]
    final, trail = history(world, start(declaration(version=1), world))
    assert trail == [("Failed", None, 0, (refusal(1, "canary", 1, 1),), ())]
    assert world.endpoints == {} and world.applied == []
    assert final.reason == refusal(1, "canary", 1, 1)
