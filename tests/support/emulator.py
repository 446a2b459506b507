"""Small builders shared by the emulator tests (SageMaker resources, waiting for a status)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3

from smgitops.local.emulator import emulated_aws

if TYPE_CHECKING:
    from collections.abc import Iterator

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecution"
INSTANCE = "ml.m5.large"
ABORT_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:smgitops-abort"


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session(region_name=REGION)


def client(service: str) -> Any:
    """A client for decorator mode from one shared session (moto resets boto3's default
    session on every mock, which makes boto3.client reload the service model each time)."""
    return _session().client(service)  # type: ignore[call-overload]


@contextmanager
def instant_sagemaker(*models: str) -> Iterator[Any]:
    """A SageMaker client on the emulator applying every change at once, ``models`` created."""
    with emulated_aws(update_delay=0, weights_delay=0, seed=7):
        sm = client("sagemaker")
        for model in models:
            create_model(sm, model)
        yield sm


def create_model(
    sm: Any, name: str, environment: dict[str, str] | None = None, image: str | None = None
) -> None:
    container = {
        "Image": image or f"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:{name}",
        "ModelDataUrl": f"s3://ml-models/{name}/model.tar.gz",
        "Environment": environment or {},
    }
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer=container)


def variant(name: str, model: str, weight: float = 1.0, count: int = 1) -> dict[str, Any]:
    return {
        "VariantName": name,
        "ModelName": model,
        "InitialInstanceCount": count,
        "InstanceType": INSTANCE,
        "InitialVariantWeight": weight,
    }


def create_config(
    sm: Any,
    name: str,
    variants: list[dict[str, Any]],
    shadows: list[dict[str, Any]] | None = None,
) -> None:
    kwargs: dict[str, Any] = {"EndpointConfigName": name, "ProductionVariants": variants}
    if shadows:
        kwargs["ShadowProductionVariants"] = shadows
    sm.create_endpoint_config(**kwargs)


def wait_for_status(sm: Any, endpoint: str, status: str, timeout: float = 5.0) -> dict[str, Any]:
    """Poll DescribeEndpoint until it shows ``status``; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sm.describe_endpoint(EndpointName=endpoint)
        if described["EndpointStatus"] == status:
            return described
        assert time.monotonic() < deadline, f"{endpoint} stuck in {described['EndpointStatus']}"
        time.sleep(0.02)


def weights(described: dict[str, Any]) -> dict[str, float]:
    return {v["VariantName"]: v["CurrentWeight"] for v in described["ProductionVariants"]}


def deploy(sm: Any, endpoint: str, config: str) -> dict[str, Any]:
    """CreateEndpoint and wait until it is InService."""
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    return wait_for_status(sm, endpoint, "InService")


def variant_dimensions(endpoint: str, variant_name: str) -> list[dict[str, str]]:
    return [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": variant_name},
    ]


def put_variant_alarm(
    cw: Any,
    name: str,
    endpoint: str,
    variant_name: str,
    *,
    metric: str = "Invocation5XXErrors",
    statistic: str = "Sum",
    threshold: float = 5,
    namespace: str = "AWS/SageMaker",
    **extra: Any,
) -> None:
    """A one-period, one-minute ``>`` alarm on a variant's SageMaker metric."""
    cw.put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=variant_dimensions(endpoint, variant_name),
        Statistic=statistic,
        Period=60,
        EvaluationPeriods=1,
        Threshold=threshold,
        ComparisonOperator="GreaterThanThreshold",
        **extra,
    )


def metric_total(
    cw: Any,
    endpoint: str,
    variant_name: str,
    around: datetime,
    *,
    metric: str = "Invocations",
    statistic: str = "Sum",
) -> float:
    """``statistic`` of a variant's metric over the few minutes around ``around``."""
    points = cw.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName=metric,
        Dimensions=variant_dimensions(endpoint, variant_name),
        StartTime=around - timedelta(minutes=2),
        EndTime=around + timedelta(minutes=1),
        Period=180,
        Statistics=[statistic],
    )["Datapoints"]
    return float(sum(p[statistic] for p in points))


def put_manual_alarm(cw: Any, name: str, namespace: str = "Custom") -> str:
    """An existing alarm a declaration lists under ``analysis.alarms``; tests trip it by hand
    (``SetAlarmState``) or with one ``Errors`` datapoint above 1."""
    cw.put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
        # No errors put is no error: OK, not INSUFFICIENT_DATA (a blind check fails, issue 14).
        TreatMissingData="notBreaching",
    )
    return name
