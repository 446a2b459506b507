"""Autoscaling through rollouts in `smgitops local up` (issue 17), driven as a user drives it:
git push, signed webhook, the CLI, boto3 on the printed emulator URL.

An endpoint declared with autoscaling (min 2, max 8) is scaled out to 5 the way Application
Auto Scaling does it (its service-linked role calls UpdateEndpointWeightsAndCapacities with a
DesiredInstanceCount); then a canary and an abort: the stable variant has 5 instances whenever
it is looked at, the candidate its own scalable target and policy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import declaration_dict
from tests.e2e.conftest import LocalUp, Repo

pytestmark = pytest.mark.e2e

SCALING = {
    "minInstances": 2,
    "maxInstances": 8,
    "target": {"metric": "InvocationsPerInstance", "value": 200},
}
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def _document(name: str, version: int, interval: str = "3s") -> dict[str, Any]:
    document = declaration_dict(name, version=version, interval=interval, instance_count=2)
    document["spec"]["autoscaling"] = SCALING
    document["spec"]["rollout"]["steps"] = [10, 50]
    return document


def _counts(up: LocalUp, name: str) -> dict[str, int]:
    out = up.client("sagemaker").describe_endpoint(EndpointName=name)
    return {v["VariantName"]: v["DesiredInstanceCount"] for v in out["ProductionVariants"]}


def _targets(up: LocalUp, name: str) -> dict[str, dict[str, Any]]:
    out = up.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker", ScalableDimension=DIMENSION
    )
    prefix = f"endpoint/{name}/variant/"
    return {
        t["ResourceId"].removeprefix(prefix): t
        for t in out["ScalableTargets"]
        if t["ResourceId"].startswith(prefix)
    }


def _policies(up: LocalUp, name: str, variant: str) -> list[str]:
    out = up.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=f"endpoint/{name}/variant/{variant}"
    )
    return [p["PolicyName"] for p in out["ScalingPolicies"]]


def _scaled_to_five(up: LocalUp, repo: Repo, name: str) -> str:
    """v1 deployed, then scaled out to 5 by its policy (AWS's call, made here by hand)."""
    sha, delivery = repo.declare(_document(name, 1), "v1 autoscaled")
    assert delivery.status == 202
    up.wait_for(name, sha, {"Succeeded"})
    [stable] = _counts(up, name)
    target = _targets(up, name)[stable]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 8)
    up.client("sagemaker").update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[{"VariantName": stable, "DesiredInstanceCount": 5}],
    )
    return stable


class Watch:
    """Seen on every status poll: the stable keeps 5; the candidate's target while it serves."""

    def __init__(self, up: LocalUp, name: str, stable: str) -> None:
        self.up, self.name, self.stable = up, name, stable
        self.candidate_targets: list[tuple[int, list[str]]] = []

    def __call__(self, status: dict[str, Any] | None) -> None:
        counts = _counts(self.up, self.name)
        if self.stable in counts:
            assert counts[self.stable] == 5, (status, counts)
        if status and status["phase"] in {"Progressing", "Promoting"}:
            for variant, target in _targets(self.up, self.name).items():
                if variant != self.stable:
                    policies = _policies(self.up, self.name, variant)
                    self.candidate_targets.append((target["MinCapacity"], policies))


def test_a_canary_keeps_the_scaled_stable_and_hands_scaling_to_the_new_variant(
    local_up: LocalUp, repo: Repo
) -> None:
    name = "e2e-autoscaled"
    stable = _scaled_to_five(local_up, repo, name)
    sha, _ = repo.declare(_document(name, 2), "v2 autoscaled")
    watch = Watch(local_up, name, stable)
    local_up.wait_for(name, sha, {"Succeeded"}, timeout=120, each=watch)
    assert watch.candidate_targets, "the candidate had its own scalable target while serving"
    assert all(policies == ["smgitops-target-tracking"] for _, policies in watch.candidate_targets)
    assert max(floor for floor, _ in watch.candidate_targets) == 5  # sized for all traffic
    [new] = _counts(local_up, name)
    assert new != stable
    assert _counts(local_up, name) == {new: 5}, "the new variant took over the scaled fleet"
    targets = _targets(local_up, name)
    assert set(targets) == {new}, "only the new variant is a scalable target"
    assert (targets[new]["MinCapacity"], targets[new]["MaxCapacity"]) == (2, 8)
    assert _policies(local_up, name, new) == ["smgitops-target-tracking"]


def test_an_abort_leaves_the_stable_scaling_as_it_was(local_up: LocalUp, repo: Repo) -> None:
    name = "e2e-autoscaled-abort"
    stable = _scaled_to_five(local_up, repo, name)
    before = _targets(local_up, name)[stable]
    # 20 s steps: long enough to abort at 10 %; the abort moves the weights at once, the next
    # tick (at most one interval later) removes the candidate
    sha, _ = repo.declare(_document(name, 2, interval="20s"), "v2 autoscaled, aborted at 10 %")
    watch = Watch(local_up, name, stable)
    local_up.wait_for(name, sha, {"Progressing"}, each=watch)
    aborted = local_up.cli("abort", name, "--by", "alice")
    assert aborted.returncode == 0, aborted.stderr
    local_up.wait_for(name, sha, {"RolledBack"}, timeout=120, each=watch)
    assert _counts(local_up, name) == {stable: 5}
    after = _targets(local_up, name)
    assert set(after) == {stable}, "the candidate's target is gone"
    assert (after[stable]["MinCapacity"], after[stable]["MaxCapacity"]) == (2, 8)
    assert after[stable].get("SuspendedState") == before.get("SuspendedState")
    assert _policies(local_up, name, stable) == ["smgitops-target-tracking"]
