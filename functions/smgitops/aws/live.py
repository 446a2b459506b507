"""The live state of an endpoint, for drift detection: DescribeEndpoint (status, weights and
instance counts now), DescribeEndpointConfig (which model, which instance type per variant),
DescribeModel (what each model runs) and DescribeScalableTargets (+ DescribeScalingPolicies for
a registered variant: what scales it). Read only."""

from __future__ import annotations

from typing import Any

from smgitops.aws import clients
from smgitops.aws.autoscaling import Autoscaling
from smgitops.aws.errors import describe_or_none
from smgitops.declaration import production
from smgitops.drift.compare import LiveEndpoint, LiveModel, LiveVariantState


def _variant(
    name: str, live: dict[str, Any], configured: dict[str, Any] | None, config: dict[str, Any]
) -> LiveVariantState:
    """One variant: counts and weights as the endpoint has them now, model, type and the
    production settings as the config declares them (a console weights edit changes the
    former, not the latter)."""
    configured = configured or {}
    weight = live.get("DesiredWeight", live.get("CurrentWeight"))
    if weight is None:
        weight = configured.get("InitialVariantWeight", 0.0)
    count = live.get("DesiredInstanceCount", live.get("CurrentInstanceCount"))
    if count is None:
        count = configured.get("InitialInstanceCount", 0)
    return LiveVariantState(
        name=name,
        model=str(configured.get("ModelName", "")),
        instance_type=str(configured.get("InstanceType", "")),
        instance_count=int(count),
        weight=float(weight),
        settings=production.picked(configured, production.VARIANT_MEMBERS),
        config_settings=production.picked(config, production.CONFIG_MEMBERS),
    )


def _variants(
    live: list[dict[str, Any]], configured: list[dict[str, Any]], config: dict[str, Any]
) -> list[LiveVariantState]:
    by_name = {v["VariantName"]: v for v in configured}
    names = [v["VariantName"] for v in live] or list(by_name)
    live_by_name = {v["VariantName"]: v for v in live}
    return [_variant(n, live_by_name.get(n, {}), by_name.get(n), config) for n in names]


class LiveEndpoints:
    def __init__(self, client: Any = None, autoscaling: Autoscaling | None = None) -> None:
        self.client = client or clients.client("sagemaker")
        self.autoscaling = autoscaling or Autoscaling()

    def read(self, endpoint: str) -> LiveEndpoint | None:
        """The endpoint as it is now, or None when it does not exist."""
        described = self._describe("describe_endpoint", EndpointName=endpoint)
        if described is None:
            return None
        config_name = str(described.get("EndpointConfigName", ""))
        config = (
            self._describe("describe_endpoint_config", EndpointConfigName=config_name)
            if config_name
            else None
        )
        configured = (config or {}).get("ProductionVariants", [])
        shadow_configured = (config or {}).get("ShadowProductionVariants", [])
        variants = _variants(described.get("ProductionVariants", []), configured, config or {})
        shadows = _variants(
            described.get("ShadowProductionVariants", []), shadow_configured, config or {}
        )
        model_names = dict.fromkeys(v.model for v in [*variants, *shadows] if v.model)
        return LiveEndpoint(
            name=endpoint,
            status=str(described.get("EndpointStatus", "")),
            config=config_name,
            config_found=config is not None,
            failure_reason=str(described.get("FailureReason", "")),
            variants=variants,
            shadow_variants=shadows,
            models={name: self.model(name) for name in model_names},
            scaling=self.autoscaling.targets(endpoint, [v.name for v in variants], policies=True),
        )

    def model(self, name: str) -> LiveModel:
        described = self._describe("describe_model", ModelName=name)
        if described is None:
            return LiveModel(name=name, found=False)
        containers = described.get("Containers") or []
        primary = described.get("PrimaryContainer") or (containers[0] if containers else {})
        return LiveModel(
            name=name,
            image=primary.get("Image"),
            model_data_url=primary.get("ModelDataUrl"),
            model_package_arn=primary.get("ModelPackageName"),
            environment=dict(primary.get("Environment") or {}),
            execution_role_arn=str(described.get("ExecutionRoleArn", "")),
            containers=max(1, len(containers)),
            vpc=described.get("VpcConfig") or None,
        )

    def _describe(self, operation: str, **params: Any) -> dict[str, Any] | None:
        return describe_or_none(self.client, operation, **params)
