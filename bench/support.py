"""What several benchmarks build the same way (bench never imports tests)."""

from __future__ import annotations

from typing import Any

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def endpoint_document(
    name: str,
    version: int,
    rollout: dict[str, Any],
    *,
    instance_count: int = 1,
    team: str = "bench",
) -> dict[str, Any]:
    """A declaration of ``name`` whose model data changes with ``version``."""
    return {
        "apiVersion": "smgitops/v1",
        "kind": "Endpoint",
        "metadata": {"name": name, "tags": {"team": team}},
        "spec": {
            "model": {
                "image": IMAGE,
                "modelDataUrl": f"s3://bench/{name}/v{version}/model.tar.gz",
                "executionRoleArn": ROLE,
            },
            "instanceType": "ml.m5.large",
            "instanceCount": instance_count,
            "rollout": rollout,
        },
    }


def put_manual_alarm(cloudwatch: Any, name: str) -> str:
    """An existing alarm a declaration lists under ``analysis.alarms``, tripped by hand."""
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="Bench",
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
