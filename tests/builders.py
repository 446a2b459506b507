"""Test builders for declarations (shared by unit, integration and e2e tests)."""

from __future__ import annotations

from typing import Any

from smgitops.declaration.models import Declaration

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def declaration_dict(
    name: str = "churn-predictor",
    *,
    version: int = 1,
    strategy: str = "canary",
    interval: str = "30s",
    environment: dict[str, str] | None = None,
    instance_count: int = 1,
    **rollout: Any,
) -> dict[str, Any]:
    """A valid declaration; with no check given, ``analysis: none`` says so on purpose."""
    if "analysis" not in rollout and "validation" not in rollout:
        rollout["analysis"] = "none"
    return {
        "apiVersion": "smgitops/v1",
        "kind": "Endpoint",
        "metadata": {"name": name, "tags": {"team": "risk"}},
        "spec": {
            "model": {
                "image": IMAGE,
                "modelDataUrl": f"s3://ml-models/churn/v{version}/model.tar.gz",
                "executionRoleArn": ROLE,
                "environment": environment or {},
            },
            "instanceType": "ml.m5.large",
            "instanceCount": instance_count,
            "rollout": {"strategy": strategy, "interval": interval, **rollout},
        },
    }


def declaration(name: str = "churn-predictor", **kwargs: Any) -> Declaration:
    return Declaration.model_validate(declaration_dict(name, **kwargs))
