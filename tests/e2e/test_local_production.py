"""End-to-end, in `smgitops local up`: a declaration using every production field of DESIGN §6
(autoscaling included) deploys and Describe* shows each value; `plan` shows what a change of
one would do, and the capacity its rollout needs; a serverless endpoint deploys, is replaced,
and refuses a canary with the reason."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

from tests.e2e.conftest import SMGITOPS, Traffic
from tests.support.production import FULL, KMS_ARN, SERVERLESS, edit

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.conftest import LocalUp, Repo


def _live_config(local_up: LocalUp, endpoint: str) -> dict[str, object]:
    sm = local_up.client("sagemaker")
    name = sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    config: dict[str, object] = sm.describe_endpoint_config(EndpointConfigName=name)
    return config


# FULL (shared with the unit and integration tests, which assert its line numbers) and the last
# field of §6: autoscaling, appended after kmsKeyId
SCALING = "  autoscaling: {minInstances: 2, maxInstances: 4, target: {metric: InvocationsPerInstance, value: 100}, scaleInCooldown: 10m, scaleOutCooldown: 2m}\n"  # noqa: E501
EVERY = edit(FULL, "  rollout:\n", SCALING + "  rollout:\n")


def test_every_production_field_deploys_and_plan_shows_a_change(
    local_up: LocalUp, repo: Repo
) -> None:
    sha, delivery = repo.push({"endpoints/churn-full.yaml": EVERY}, "every production field")
    assert delivery.status == 202
    local_up.wait_for("churn-full", sha, {"Succeeded"})
    sm = local_up.client("sagemaker")
    config = _live_config(local_up, "churn-full")
    [variant] = config["ProductionVariants"]  # type: ignore[misc]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.p3.2xlarge", 2)
    assert variant["VolumeSizeInGB"] == 100
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 600
    assert variant["ModelDataDownloadTimeoutInSeconds"] == 1200
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    assert config["DataCaptureConfig"] == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": "s3://ml-capture/c/",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }
    assert config["KmsKeyId"] == KMS_ARN
    model = sm.describe_model(ModelName=variant["ModelName"])
    assert model["VpcConfig"]["Subnets"] == ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e"]
    assert model["VpcConfig"]["SecurityGroupIds"] == ["sg-0a1b2c3d"]
    scaling = local_up.client("application-autoscaling")
    resource = f"endpoint/churn-full/variant/{variant['VariantName']}"
    [target] = scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource]
    )["ScalableTargets"]
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 4)
    [policy] = scaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)[
        "ScalingPolicies"
    ]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert tracking["TargetValue"] == 100
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    }
    assert (tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (600, 120)

    # a change committed, not pushed: plan says what the push would do, field by field
    repo.remote.commit(
        {"endpoints/churn-full.yaml": edit(EVERY, "volumeSizeGB: 100", "volumeSizeGB: 200")},
        "bigger volume",
    )
    result = local_up.cli("plan", "--repo", str(repo.remote.work_path), "--output", "json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    [change] = [c for c in plan["changes"] if c["endpoint"] == "churn-full"]
    assert change["action"] == "update"
    assert change["diffs"] == [{"field": "volumeSizeGB", "before": 100, "after": 200}]
    # the live target and policy read back equal to the declaration: no autoscaling diff; the
    # capacity counts the stable at the 2 instances it runs, the new variant at maxInstances
    capacity = change["rollout"]["capacity"]
    assert capacity["moments"][0]["stable"] == {"ml.p3.2xlarge": 2}
    assert (capacity["autoscaled"], capacity["stableLive"]) == (True, True)
    assert capacity["peak"] == {"ml.p3.2xlarge": 10}  # 2 stable + (4 + 4) new while promoting


def test_a_serverless_endpoint_deploys_is_replaced_and_refuses_a_canary(
    local_up: LocalUp, repo: Repo
) -> None:
    name = "churn-serverless"
    first, _ = repo.push({f"endpoints/{name}.yaml": SERVERLESS}, "serverless")
    local_up.wait_for(name, first, {"Succeeded"})
    sm = local_up.client("sagemaker")
    [summary] = sm.describe_endpoint(EndpointName=name)["ProductionVariants"]
    assert summary["CurrentServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 20,
        "ProvisionedConcurrency": 2,
    }
    second, _ = repo.push(
        {f"endpoints/{name}.yaml": edit(SERVERLESS, "memorySizeMB: 2048", "memorySizeMB: 4096")},
        "more memory",
    )
    status = local_up.wait_for(name, second, {"Succeeded", "Failed"})
    assert status["phase"] == "Succeeded", status
    [summary] = sm.describe_endpoint(EndpointName=name)["ProductionVariants"]
    assert summary["CurrentServerlessConfig"]["MemorySizeInMB"] == 4096

    # an instance-based canary would need two variants on a serverless endpoint
    canary = edit(
        edit(
            SERVERLESS,
            "  serverless: {memorySizeMB: 2048, maxConcurrency: 20, provisionedConcurrency: 2}\n",
            "  instanceType: ml.m5.large\n",
        ),
        "{strategy: allAtOnce, analysis: none}",
        "{strategy: canary, analysis: none, interval: 1s}",
    )
    third, _ = repo.push({f"endpoints/{name}.yaml": canary}, "canary off serverless")
    failed = local_up.wait_for(name, third, {"Failed", "Succeeded"})
    assert failed["phase"] == "Failed" and "one production variant" in failed["reason"], failed
    [summary] = sm.describe_endpoint(EndpointName=name)["ProductionVariants"]
    assert summary["CurrentServerlessConfig"]["MemorySizeInMB"] == 4096  # untouched


def test_a_serverless_blue_green_rolls_a_bad_model_back_and_a_good_one_forward(
    local_up: LocalUp, repo: Repo
) -> None:
    """The serverless rollout: swap, bake alone with the checks, swap back on a failure."""
    name = "churn-sl-bg"
    path = f"endpoints/{name}.yaml"
    first = edit(SERVERLESS, "name: churn-serverless", f"name: {name}")
    sha, _ = repo.push({path: first}, "serverless v42")
    local_up.wait_for(name, sha, {"Succeeded"})
    sm = local_up.client("sagemaker")
    [old] = sm.describe_endpoint(EndpointName=name)["ProductionVariants"]
    blue_green = edit(
        first,
        "{strategy: allAtOnce, analysis: none}",
        "{strategy: blueGreen, interval: 4s, analysis: "
        "{metrics: [{metric: Invocation5XXErrors, statistic: Sum, max: 2, period: 60}]}}",
    )
    bad = edit(
        blue_green,
        "    executionRoleArn:",
        '    environment: {SMGITOPS_SIM_ERROR_RATE: "0.8"}\n    executionRoleArn:',
    )
    with Traffic(local_up, name, pause=0.01):
        sha, _ = repo.push({path: bad}, "serverless: a bad model")
        rolled = local_up.wait_for(name, sha, {"RolledBack", "Succeeded"}, timeout=60)
    assert rolled["phase"] == "RolledBack" and "Invocation5XXErrors" in rolled["reason"], rolled
    [now] = sm.describe_endpoint(EndpointName=name)["ProductionVariants"]
    assert now["VariantName"] == old["VariantName"]  # swapped back
    assert now["CurrentServerlessConfig"] == old["CurrentServerlessConfig"]

    good = edit(blue_green, "/v42/", "/v43/")
    with Traffic(local_up, name, pause=0.01):
        sha, _ = repo.push({path: good}, "serverless: v43")
        done = local_up.wait_for(name, sha, {"RolledBack", "Succeeded"}, timeout=60)
    assert done["phase"] == "Succeeded", done
    [now] = sm.describe_endpoint(EndpointName=name)["ProductionVariants"]
    assert now["VariantName"] == done["candidate"]["name"]


def test_validate_locates_each_bad_production_field(tmp_path: Path) -> None:
    folder = tmp_path / "endpoints"
    folder.mkdir()
    bad = edit(
        edit(FULL, "volumeSizeGB: 100", "volumeSizeGB: 1000"),
        "sg-0a1b2c3d]",
        "security-group]",
    )
    (folder / "churn-full.yaml").write_text(bad)
    result = subprocess.run(
        [*SMGITOPS, "validate", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    text = result.stdout + result.stderr
    assert "churn-full.yaml:10: spec.model.vpc.securityGroups:" in text
    assert "churn-full.yaml:15: spec.volumeSizeGB:" in text
