"""The production fields of DESIGN §6 on the emulator: what a declaration says is what
CreateModel / CreateEndpointConfig receive and Describe* shows, through a rollout and a
rollback; and SageMaker's serverless exclusions, refused as AWS refuses them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from smgitops.declaration.loader import load_text
from smgitops.rollout.status import Phase
from tests.support.emulator import (
    create_config,
    deploy,
    instant_sagemaker,
    put_manual_alarm,
    variant,
)
from tests.support.production import FULL, KMS_ARN, SERVERLESS, edit

if TYPE_CHECKING:
    from collections.abc import Iterator

    from smgitops.declaration.models import Declaration
    from tests.integration.conftest import Engine

C1, C2 = "1" * 40, "2" * 40
SERVERLESS_CONFIG = {"MemorySizeInMB": 2048, "MaxConcurrency": 20, "ProvisionedConcurrency": 2}
CAPTURE_20 = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 20,
    "DestinationS3Uri": "s3://ml-capture/c/",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
}


def full(text: str = FULL) -> Declaration:
    return load_text(text, "endpoints/churn-full.yaml")


def _config_of(engine: Engine, endpoint: str) -> dict[str, Any]:
    live = engine.sagemaker.describe_endpoint(EndpointName=endpoint)
    config: dict[str, Any] = engine.sagemaker.describe_endpoint_config(
        EndpointConfigName=live["EndpointConfigName"]
    )
    return config


def test_every_field_reaches_sagemaker_and_describe_shows_it(engine: Engine) -> None:
    decl = full()
    engine.deploy(decl, C1)
    config = _config_of(engine, decl.name)
    [production] = config["ProductionVariants"]
    assert production["InstanceType"] == "ml.p3.2xlarge"
    assert production["InitialInstanceCount"] == 2
    assert production["VolumeSizeInGB"] == 100
    assert production["ContainerStartupHealthCheckTimeoutInSeconds"] == 600
    assert production["ModelDataDownloadTimeoutInSeconds"] == 1200
    assert production["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    assert config["DataCaptureConfig"] == CAPTURE_20
    assert config["KmsKeyId"] == KMS_ARN
    live = engine.sagemaker.describe_endpoint(EndpointName=decl.name)
    assert live["DataCaptureConfig"] == {  # DataCaptureConfigSummary
        "EnableCapture": True,
        "CaptureStatus": "Started",
        "CurrentSamplingPercentage": 20,
        "DestinationS3Uri": "s3://ml-capture/c/",
    }
    model = engine.sagemaker.describe_model(ModelName=production["ModelName"])
    assert model["VpcConfig"] == {
        "SecurityGroupIds": ["sg-0a1b2c3d"],
        "Subnets": ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e"],
    }


def test_both_variants_capture_through_a_canary_and_a_rollback_restores_the_old_capture(
    engine: Engine,
) -> None:
    decl = full()
    engine.deploy(decl, C1)
    put_manual_alarm(engine.cloudwatch, "churn-full-5xx", "C")
    changed = full(
        edit(
            edit(FULL, "samplingPercentage: 20", "samplingPercentage: 50"),
            "        - {metric: Invocation5XXErrors, statistic: Sum, max: 5}\n",
            "        - {metric: Invocation5XXErrors, statistic: Sum, max: 5}\n"
            "      alarms: [churn-full-5xx]\n",
        )
    )
    outcome = engine.start(changed, C2)
    engine.tick(decl.name, outcome.rollout_id)  # Initializing: both variants in one config
    config = _config_of(engine, decl.name)
    assert len(config["ProductionVariants"]) == 2
    # one DataCaptureConfig per config: the declaration's; SageMaker writes each variant's
    # records under <destination>/<endpoint>/<variant>/
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 50
    for production in config["ProductionVariants"]:
        assert production["VolumeSizeInGB"] == 100
    assert engine.service.on_alarm("churn-full-5xx", "breached") == [decl.name]
    trail = engine.run(decl.name, outcome.rollout_id)
    assert trail[-1][0] == Phase.ROLLED_BACK
    back = _config_of(engine, decl.name)
    assert back["DataCaptureConfig"] == CAPTURE_20  # the stable variant's own settings
    assert back["KmsKeyId"] == KMS_ARN


def test_a_changed_field_rolls_out_a_new_variant_with_it(engine: Engine) -> None:
    decl = full()
    engine.deploy(decl, C1)
    changed = full(edit(FULL, "routing: leastOutstandingRequests", "routing: random"))
    engine.deploy(changed, C2)
    [production] = _config_of(engine, decl.name)["ProductionVariants"]
    assert production["RoutingConfig"] == {"RoutingStrategy": "RANDOM"}
    assert production["VariantName"] != _config_variant_name(decl)


def _config_variant_name(decl: Declaration) -> str:
    from smgitops.rollout import naming

    return naming.variant_name(decl)


def test_a_serverless_endpoint_deploys_and_is_replaced_all_at_once(engine: Engine) -> None:
    decl = full(SERVERLESS)
    engine.deploy(decl, C1)
    live = engine.sagemaker.describe_endpoint(EndpointName=decl.name)
    [summary] = live["ProductionVariants"]
    assert summary["CurrentServerlessConfig"] == SERVERLESS_CONFIG
    assert "CurrentInstanceCount" not in summary
    [production] = _config_of(engine, decl.name)["ProductionVariants"]
    assert production["ServerlessConfig"] == SERVERLESS_CONFIG
    assert "InstanceType" not in production
    bigger = full(edit(SERVERLESS, "memorySizeMB: 2048", "memorySizeMB: 4096"))
    trail = engine.run(decl.name, engine.start(bigger, C2).rollout_id)
    assert trail[-1][0] == Phase.SUCCEEDED
    [summary] = engine.sagemaker.describe_endpoint(EndpointName=decl.name)["ProductionVariants"]
    assert summary["CurrentServerlessConfig"]["MemorySizeInMB"] == 4096
    assert summary["VariantName"] == _config_variant_name(bigger)


INSTANCES = edit(
    SERVERLESS,
    "  serverless: {memorySizeMB: 2048, maxConcurrency: 20, provisionedConcurrency: 2}\n",
    "  instanceType: ml.m5.large\n",
)


def _configs(engine: Engine) -> set[str]:
    listed = engine.sagemaker.list_endpoint_configs()["EndpointConfigs"]
    return {c["EndpointConfigName"] for c in listed}


def test_an_instance_endpoint_is_not_turned_serverless_and_nothing_is_created(
    engine: Engine,
) -> None:
    engine.deploy(full(INSTANCES), C1)
    configs = _configs(engine)
    trail = engine.run("churn-serverless", engine.start(full(SERVERLESS), C2).rollout_id)
    assert trail[-1][0] == Phase.FAILED
    status = engine.service.store.get("churn-serverless")
    assert status is not None
    assert "cannot turn an instance-based endpoint into a serverless one" in status.reason
    assert _configs(engine) == configs


def test_a_serverless_endpoint_moves_to_instances_all_at_once_not_by_canary(
    engine: Engine,
) -> None:
    engine.deploy(full(SERVERLESS), C1)
    canary = edit(
        INSTANCES,
        "{strategy: allAtOnce, analysis: none}",
        "{strategy: canary, analysis: none, interval: 1s}",
    )
    trail = engine.run("churn-serverless", engine.start(full(canary), C2).rollout_id)
    assert trail[-1][0] == Phase.FAILED
    status = engine.service.store.get("churn-serverless")
    assert status is not None and "one production variant" in status.reason
    # the same declaration is not retried by a push: the next one changes the model
    moved = full(edit(INSTANCES, "/v42/", "/v43/"))
    trail = engine.run("churn-serverless", engine.start(moved, "3" * 40).rollout_id)
    assert trail[-1][0] == Phase.SUCCEEDED
    [summary] = engine.sagemaker.describe_endpoint(EndpointName="churn-serverless")[
        "ProductionVariants"
    ]
    assert summary["CurrentInstanceCount"] == 1
    assert "CurrentServerlessConfig" not in summary


# --- the emulator refuses what SageMaker's serverless exclusions refuse -----------------------


@pytest.fixture
def sm() -> Iterator[Any]:
    with instant_sagemaker("m1", "m2") as sm:
        yield sm


def serverless(name: str, model: str, weight: float = 1.0) -> dict[str, Any]:
    return {
        "VariantName": name,
        "ModelName": model,
        "InitialVariantWeight": weight,
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
    }


def _refused(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    return str(caught.value.response["Error"]["Message"])


# What SageMaker's serverless feature exclusions refuse beside a serverless variant `a`: the
# variants after it, the other arguments, a fragment of the refusal.
SERVERLESS_EXCLUSIONS: list[tuple[str, list[Any], dict[str, Any], str]] = [
    ("second variant", [variant("b", "m2")], {}, "multiple production variants"),
    ("shadow", [], {"ShadowProductionVariants": [serverless("b", "m2")]}, "ShadowProduction"),
    ("data capture", [], {"DataCaptureConfig": CAPTURE_20}, "DataCaptureConfig"),
]


@pytest.mark.parametrize(
    ("more", "extra", "fragment"),
    [c[1:] for c in SERVERLESS_EXCLUSIONS],
    ids=[c[0] for c in SERVERLESS_EXCLUSIONS],
)
def test_a_serverless_config_refuses_what_serverless_excludes(
    sm: Any, more: list[Any], extra: dict[str, Any], fragment: str
) -> None:
    message = _refused(
        sm.create_endpoint_config,
        EndpointConfigName="ep",
        ProductionVariants=[serverless("a", "m1"), *more],
        **extra,
    )
    assert fragment in message


def test_describe_endpoint_shows_the_capture_of_the_config_it_runs(sm: Any) -> None:
    create_config(sm, "plain", [variant("a", "m1")])
    sm.create_endpoint_config(
        EndpointConfigName="captured",
        ProductionVariants=[variant("b", "m1")],
        DataCaptureConfig={**CAPTURE_20, "KmsKeyId": "alias/capture"},
    )
    described = deploy(sm, "ep", "captured")
    assert described["DataCaptureConfig"] == {
        "EnableCapture": True,
        "CaptureStatus": "Started",
        "CurrentSamplingPercentage": 20,
        "DestinationS3Uri": "s3://ml-capture/c/",
        "KmsKeyId": "alias/capture",
    }
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="plain")
    assert "DataCaptureConfig" not in sm.describe_endpoint(EndpointName="ep")  # moto keeps it


def test_an_instance_endpoint_cannot_become_serverless_but_the_reverse_is_allowed(
    sm: Any,
) -> None:
    create_config(sm, "instances", [variant("a", "m1")])
    create_config(sm, "serverless", [serverless("b", "m2")])
    deploy(sm, "ep", "instances")
    message = _refused(sm.update_endpoint, EndpointName="ep", EndpointConfigName="serverless")
    assert "serverless" in message
    deploy(sm, "sl", "serverless")
    sm.update_endpoint(EndpointName="sl", EndpointConfigName="instances")  # allowed


# --- plan: the production fields against what is live ------------------------------------------


def _plan_diffs(engine: Engine, desired: Declaration) -> dict[str, tuple[Any, Any]]:
    from smgitops.aws.autoscaling import Autoscaling
    from smgitops.aws.sagemaker import SageMaker
    from smgitops.plan.diff import compare
    from smgitops.plan.live import LiveState

    current = LiveState(SageMaker(), Autoscaling()).current([desired.name])
    [change] = compare({desired.name: desired}, current)
    assert change.action in {"update", "unchanged"}, change
    return {d.field: (d.before, d.after) for d in change.diffs}


def test_plan_reads_every_live_field_and_shows_what_a_push_changes(engine: Engine) -> None:
    decl = full()
    engine.deploy(decl, C1)
    assert _plan_diffs(engine, decl) == {}  # every live value reads back as declared
    changed = edit(
        edit(
            edit(FULL, "routing: leastOutstandingRequests", "routing: random"),
            "sg-0a1b2c3d]",
            "sg-0a1b2c3e]",
        ),
        "  dataCapture: {destination: s3://ml-capture/c/, samplingPercentage: 20, "
        "capture: [input, output]}\n",
        "",
    )
    assert _plan_diffs(engine, full(changed)) == {
        "routing": ("leastOutstandingRequests", "random"),
        "model.vpc.securityGroups": (["sg-0a1b2c3d"], ["sg-0a1b2c3e"]),
        "dataCapture.destination": ("s3://ml-capture/c/", None),
        "dataCapture.samplingPercentage": (20, None),
        "dataCapture.capture": (["input", "output"], None),
    }


def test_plan_of_a_serverless_endpoint(engine: Engine) -> None:
    decl = full(SERVERLESS)
    engine.deploy(decl, C1)
    assert _plan_diffs(engine, decl) == {}
    bigger = full(edit(SERVERLESS, "maxConcurrency: 20", "maxConcurrency: 40"))
    assert _plan_diffs(engine, bigger) == {"serverless.maxConcurrency": (20, 40)}


# --- drift: a changed production field is noticed ---------------------------------------------


def _drift(engine: Engine, name: str) -> dict[str, tuple[Any, Any]]:
    from smgitops.aws.live import LiveEndpoints
    from smgitops.drift.compare import compare

    status = engine.service.store.get(name)
    assert status is not None
    report = compare(status, LiveEndpoints().read(name))
    assert not report.skipped, report
    return {d.field: (d.declared, d.live) for d in report.drifts}


def test_drift_notices_a_config_recreated_with_other_production_settings(engine: Engine) -> None:
    decl = full()
    engine.deploy(decl, C1)
    assert _drift(engine, decl.name) == {}
    config = _config_of(engine, decl.name)
    [production] = config["ProductionVariants"]
    engine.sagemaker.delete_endpoint_config(EndpointConfigName=config["EndpointConfigName"])
    engine.sagemaker.create_endpoint_config(
        EndpointConfigName=config["EndpointConfigName"],
        ProductionVariants=[{**production, "VolumeSizeInGB": 50}],
        DataCaptureConfig={**CAPTURE_20, "InitialSamplingPercentage": 100},
        KmsKeyId=KMS_ARN,
    )
    variant_name = production["VariantName"]
    from smgitops.aws.live import LiveEndpoints
    from smgitops.drift.compare import compare

    status = engine.service.store.get(decl.name)
    assert status is not None
    report = compare(status, LiveEndpoints().read(decl.name))
    assert "re-created outside smgitops" in report.cause
    assert not report.healable  # a rollout would find the config by its name, as it is
    assert _drift(engine, decl.name) == {
        f"variants[{variant_name}].VolumeSizeInGB": (100, 50),
        "endpointConfig.DataCaptureConfig": (
            CAPTURE_20,
            {**CAPTURE_20, "InitialSamplingPercentage": 100},
        ),
    }


def test_drift_notices_a_model_recreated_outside_its_vpc(engine: Engine) -> None:
    decl = full()
    engine.deploy(decl, C1)
    [production] = _config_of(engine, decl.name)["ProductionVariants"]
    model = engine.sagemaker.describe_model(ModelName=production["ModelName"])
    engine.sagemaker.delete_model(ModelName=production["ModelName"])
    engine.sagemaker.create_model(
        ModelName=production["ModelName"],
        PrimaryContainer=model["PrimaryContainer"],
        ExecutionRoleArn=model["ExecutionRoleArn"],
    )
    drifts = _drift(engine, decl.name)
    assert drifts == {
        f"models[{production['ModelName']}].vpc": (model["VpcConfig"], None),
    }


# --- data capture through a rollout ------------------------------------------------------------


def test_both_variants_capture_under_their_own_names_during_a_canary(engine: Engine) -> None:
    import base64
    import json

    from smgitops.aws import clients
    from smgitops.local.emulator import simulate_traffic

    s3 = clients.client("s3")
    s3.create_bucket(Bucket="ml-capture")
    decl = full()
    engine.deploy(decl, C1)
    stable = _config_variant_name(decl)
    every = full(edit(FULL, "samplingPercentage: 20", "samplingPercentage: 100"))
    outcome = engine.start(every, C2)
    engine.tick(decl.name, outcome.rollout_id)  # Initializing
    engine.tick(decl.name, outcome.rollout_id)  # step 1: 50 %
    assert engine.weights(decl.name) == {stable: 50.0, _config_variant_name(every): 50.0}
    simulate_traffic(decl.name, 40, body=b'{"x": 1}')
    listed = s3.list_objects_v2(Bucket="ml-capture", Prefix="c/churn-full/")["Contents"]
    by_variant: dict[str, list[str]] = {}
    for item in listed:
        _, _, variant, *hour, _ = item["Key"].split("/")
        assert len(hour) == 4  # yyyy/mm/dd/hh
        by_variant.setdefault(variant, []).append(item["Key"])
    assert set(by_variant) == {stable, _config_variant_name(every)}
    assert sum(len(keys) for keys in by_variant.values()) == 40  # 100 % sampled
    # `smgitops status` says where each variant's records are
    from smgitops.commands.operate import capture_prefixes

    status = engine.service.store.get(decl.name)
    assert status is not None
    assert capture_prefixes(status) == [
        f"s3://ml-capture/c/churn-full/{stable}/ (stable)",
        f"s3://ml-capture/c/churn-full/{_config_variant_name(every)}/ (candidate)",
    ]
    record = json.loads(s3.get_object(Bucket="ml-capture", Key=listed[0]["Key"])["Body"].read())
    captured = record["captureData"]
    assert base64.b64decode(captured["endpointInput"]["data"]) == b'{"x": 1}'
    assert captured["endpointOutput"]["encoding"] == "BASE64"
    assert record["eventVersion"] == "0"


def test_no_capture_without_a_destination_bucket(engine: Engine) -> None:
    from smgitops.aws import clients
    from smgitops.local.emulator import simulate_traffic

    decl = full()
    engine.deploy(decl, C1)
    report = simulate_traffic(decl.name, 20)  # the endpoint serves; nothing to write to
    assert sum(report.counts().values()) == 20
    assert clients.client("s3").list_buckets()["Buckets"] == []


def test_a_serverless_endpoint_is_in_sync_after_its_deploy(engine: Engine) -> None:
    decl = full(SERVERLESS)
    engine.deploy(decl, C1)
    assert _drift(engine, decl.name) == {}


def test_a_serverless_model_that_fails_to_deploy_leaves_the_old_one_serving(
    engine: Engine,
) -> None:
    """What protects a serverless endpoint instead of a canary: SageMaker's own update keeps
    the old variant serving when the new one does not pass its health check."""
    decl = full(SERVERLESS)
    engine.deploy(decl, C1)
    bad = full(
        edit(
            SERVERLESS,
            "    executionRoleArn:",
            '    environment: {SMGITOPS_SIM_DEPLOY_FAILURE: "1"}\n    executionRoleArn:',
        )
    )
    trail = engine.run(decl.name, engine.start(bad, C2).rollout_id)
    assert trail[-1][0] in {Phase.FAILED, Phase.ROLLED_BACK}
    status = engine.service.store.get(decl.name)
    assert status is not None and "ping health check" in status.reason
    live = engine.sagemaker.describe_endpoint(EndpointName=decl.name)
    assert live["EndpointStatus"] == "InService"
    [summary] = live["ProductionVariants"]
    assert summary["VariantName"] == _config_variant_name(decl)  # the old model serves


# --- serverless blueGreen: swap, bake alone, swap back on a failure ----------------------------

BLUE_GREEN = (
    "{strategy: blueGreen, interval: 30s, analysis: "
    "{metrics: [{metric: Invocation5XXErrors, statistic: Sum, max: 0}]}}"
)


def _serverless_blue_green(text: str = SERVERLESS) -> str:
    return edit(text, "{strategy: allAtOnce, analysis: none}", BLUE_GREEN)


def _models(engine: Engine) -> set[str]:
    return {m["ModelName"] for m in engine.sagemaker.list_models()["Models"]}


def test_serverless_blue_green_swaps_bakes_alone_and_cleans_up(engine: Engine) -> None:
    old = full(SERVERLESS)
    engine.deploy(old, C1)
    old_models = _models(engine)
    new = full(edit(_serverless_blue_green(), "/v42/", "/v43/"))
    trail = engine.run(new.name, engine.start(new, C2).rollout_id)
    assert [phase for phase, _ in trail] == [
        Phase.INITIALIZING,  # the candidate replaces the stable variant in one update
        Phase.PROGRESSING,  # it serves alone, baking with the checks
        Phase.FINALIZING,
        Phase.SUCCEEDED,
    ]
    assert all(len(weights) == 1 for _, weights in trail)  # never two variants at once
    assert trail[-1][1] == {_config_variant_name(new): 100.0}
    assert not (old_models & _models(engine))  # the old model is deleted after the bake


def test_serverless_blue_green_holds_its_bake_on_a_failed_check_below_the_limit(
    engine: Engine,
) -> None:
    """maxFailedChecks: 2: an alarm event during the candidate's bake alone is counted and the
    bake starts again from it; the stable is not removed at the bake's original end."""
    from smgitops.rollout import naming

    engine.deploy(full(SERVERLESS), C1)
    new = full(
        edit(
            edit(_serverless_blue_green(), "/v42/", "/v43/"),
            "{strategy: blueGreen,",
            "{strategy: blueGreen, maxFailedChecks: 2,",
        )
    )
    outcome = engine.start(new, C2)
    engine.tick(new.name, outcome.rollout_id)  # Initializing: swapped
    engine.tick(new.name, outcome.rollout_id)  # Progressing: the candidate bakes alone
    baking = engine.service.store.get(new.name)
    assert baking is not None and baking.step_since is not None
    candidate = _config_variant_name(new)
    alarm = naming.alarm_name(new.name, candidate, "Invocation5XXErrors", "Sum", "AWS/SageMaker")
    engine.clock.now = baking.step_since + 20
    assert engine.service.on_alarm(alarm, "Threshold Crossed") == [new.name]
    engine.clock.now = baking.step_since + 30  # the bake's original end
    held = engine.tick(new.name, outcome.rollout_id)
    assert held.phase == Phase.PROGRESSING and held.wait_seconds == 20
    status = engine.service.store.get(new.name)
    assert status is not None and status.reason.startswith(
        "failed check 1/2: holding at 100 % for another 30s: "
    )
    trail = engine.run(new.name, outcome.rollout_id)
    assert [phase for phase, _ in trail] == [Phase.FINALIZING, Phase.SUCCEEDED]


def test_serverless_blue_green_swaps_the_stable_back_on_a_failed_check(engine: Engine) -> None:
    import datetime as dt

    from smgitops.local.emulator import evaluate_alarms, simulate_traffic
    from smgitops.rollout import naming

    old = full(SERVERLESS)
    engine.deploy(old, C1)
    bad = full(
        edit(
            _serverless_blue_green(),
            "    executionRoleArn:",
            '    environment: {SMGITOPS_SIM_ERROR_RATE: "1.0"}\n    executionRoleArn:',
        )
    )
    outcome = engine.start(bad, C2)
    engine.tick(bad.name, outcome.rollout_id)  # Initializing: swapped
    engine.tick(bad.name, outcome.rollout_id)  # Progressing: the candidate bakes alone
    candidate = _config_variant_name(bad)
    assert engine.weights(bad.name) == {candidate: 100.0}
    simulate_traffic(bad.name, 50)
    evaluate_alarms(dt.datetime.now(dt.UTC))
    alarm = naming.alarm_name(bad.name, candidate, "Invocation5XXErrors", "Sum", "AWS/SageMaker")
    assert engine.service.on_alarm(alarm, "Threshold Crossed") == [bad.name]
    trail = engine.run(bad.name, outcome.rollout_id)
    assert trail[-1][0] == Phase.ROLLED_BACK
    assert trail[-1][1] == {_config_variant_name(old): 100.0}  # the old model serves again
    [summary] = engine.sagemaker.describe_endpoint(EndpointName=bad.name)["ProductionVariants"]
    assert summary["CurrentServerlessConfig"]["MemorySizeInMB"] == 2048
    status = engine.service.store.get(bad.name)
    assert status is not None and alarm in status.reason
