"""A rollout never clobbers capacity: the stable fleet keeps the instance count it runs with
(an autoscaler's or an operator's), and weight shifts send weights only.

botocore ``UpdateEndpointInput.RetainAllVariantProperties``: "To use the variant properties
specified in a new EndpointConfig ... set RetainAllVariantProperties to false. The default is
false." — without it, every UpdateEndpoint resets a scaled-out stable fleet to its config's
``InitialInstanceCount``. The emulator does the same (docs/emulator.md).
"""

from __future__ import annotations

from typing import Any

from smgitops.rollout.status import Phase
from tests.builders import declaration
from tests.integration.conftest import Engine

NAME = "churn-predictor"
C1, C2 = "1" * 40, "2" * 40


def _counts(engine: Engine) -> dict[str, int]:
    live = engine.sagemaker.describe_endpoint(EndpointName=NAME)
    return {v["VariantName"]: v["DesiredInstanceCount"] for v in live["ProductionVariants"]}


def test_a_scaled_out_stable_fleet_keeps_its_instances_through_a_rollout(engine: Engine) -> None:
    engine.deploy(declaration(version=1, instance_count=2), C1)
    [stable] = _counts(engine)
    # an autoscaler (or an operator) scales the stable variant out to 5 instances
    engine.sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=NAME,
        DesiredWeightsAndCapacities=[{"VariantName": stable, "DesiredInstanceCount": 5}],
    )
    sent: list[dict[str, Any]] = []
    engine.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.UpdateEndpointWeightsAndCapacities",
        lambda params, **_: sent.append(params),
    )
    outcome = engine.start(declaration(version=2, instance_count=2, steps=[10, 50]), C2)
    counts_seen = []
    for _ in range(30):
        result = engine.tick(NAME, outcome.rollout_id)
        counts = _counts(engine)
        if stable in counts:
            counts_seen.append(counts[stable])
        if result.done:
            break
    assert result.phase == Phase.SUCCEEDED
    assert counts_seen and set(counts_seen) == {5}, counts_seen
    shifted = [entry for params in sent for entry in params["DesiredWeightsAndCapacities"]]
    assert shifted, "the canary shifts weights"
    assert all(set(entry) == {"VariantName", "DesiredWeight"} for entry in shifted), shifted
