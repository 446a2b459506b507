"""``spec.autoscaling``: an Application Auto Scaling target-tracking policy per live variant.

What is declared becomes, for the variant that serves (and, through a rollout, for the candidate
too), a scalable target ``endpoint/<endpoint>/variant/<variant>`` on the dimension
``sagemaker:variant:DesiredInstanceCount`` and one target-tracking policy (docs/declarations.md,
"Autoscaling"; the rollout's handling of it: docs/architecture.md).

Ranges are those of botocore's ``application-autoscaling`` model and its documentation:

* ``RegisterScalableTarget.MinCapacity``: "For the following resources, the minimum value
  allowed is 0 ... SageMaker endpoint variants" — but a production variant starts with at
  least one instance (sagemaker ``InitialTaskCount`` min 1) and a variant at 0 publishes no
  metric to scale out on, so smgitops asks for 1 at least;
* ``MaxCapacity``: no bound in the model ("service quotas might impose lower limits"); smgitops
  keeps the 100 of ``instanceCount``;
* ``TargetTrackingScalingPolicyConfiguration.TargetValue``: a double "in the range of -2^360 to
  2^360" that "must be a valid number based on the choice of metric": positive for every metric
  below, at most 100 for a percentage of one whole (``MemoryUtilization``);
* ``ScaleInCooldown`` / ``ScaleOutCooldown``: integers of seconds, no bound in the model
  (default 300 s for SageMaker variants); smgitops accepts 0s-24h.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import Field, Strict, field_validator, model_validator

from smgitops.declaration.base import DURATION_SCHEMA, DeclarationModel, parse_duration

MAX_INSTANCES: Final = 100
MAX_COOLDOWN_S: Final = 86_400
ENDPOINT_INSTANCES: Final = "/aws/sagemaker/Endpoints"
SCALABLE_DIMENSION: Final = "sagemaker:variant:DesiredInstanceCount"
SERVICE_NAMESPACE: Final = "sagemaker"


class ScalingMetric(StrEnum):
    """What the policy keeps at ``value`` (see :data:`METRICS`)."""

    INVOCATIONS_PER_INSTANCE = "InvocationsPerInstance"
    CPU_UTILIZATION = "CPUUtilization"
    MEMORY_UTILIZATION = "MemoryUtilization"
    GPU_UTILIZATION = "GPUUtilization"
    GPU_MEMORY_UTILIZATION = "GPUMemoryUtilization"


@dataclass(frozen=True, slots=True)
class MetricSource:
    """How Application Auto Scaling reads a :class:`ScalingMetric`: a predefined metric type
    (botocore ``MetricType``) or a CloudWatch metric of the variant (customized)."""

    predefined: str = ""
    maximum: float | None = None  # the highest meaningful target value
    meaning: str = ""


METRICS: Final[dict[ScalingMetric, MetricSource]] = {
    ScalingMetric.INVOCATIONS_PER_INSTANCE: MetricSource(
        predefined="SageMakerVariantInvocationsPerInstance",
        meaning="requests per minute per instance (the predefined metric)",
    ),
    ScalingMetric.CPU_UTILIZATION: MetricSource(
        meaning="average CPU of the variant's instances, in percent of one core (400 = four "
        "cores busy): /aws/sagemaker/Endpoints CPUUtilization",
    ),
    ScalingMetric.MEMORY_UTILIZATION: MetricSource(
        maximum=100.0,
        meaning="average memory used, in percent (0-100): /aws/sagemaker/Endpoints "
        "MemoryUtilization",
    ),
    ScalingMetric.GPU_UTILIZATION: MetricSource(
        meaning="average GPU use, in percent of one GPU: /aws/sagemaker/Endpoints GPUUtilization",
    ),
    ScalingMetric.GPU_MEMORY_UTILIZATION: MetricSource(
        meaning="average GPU memory used, in percent of one GPU's memory: "
        "/aws/sagemaker/Endpoints GPUMemoryUtilization",
    ),
}


def resource_id(endpoint: str, variant: str) -> str:
    """The scalable target of a variant (botocore ``RegisterScalableTarget.ResourceId``)."""
    return f"endpoint/{endpoint}/variant/{variant}"


class ScalingTarget(DeclarationModel):
    """The metric a target-tracking policy keeps at ``value``."""

    metric: ScalingMetric = Field(
        description="InvocationsPerInstance (requests per minute per instance: Application Auto "
        "Scaling's predefined SageMakerVariantInvocationsPerInstance), or a utilization of the "
        "variant's instances from /aws/sagemaker/Endpoints: CPUUtilization, MemoryUtilization, "
        "GPUUtilization, GPUMemoryUtilization.",
        examples=["InvocationsPerInstance", "CPUUtilization"],
    )
    value: Annotated[float, Strict()] = Field(
        description="The value to keep the metric at: above it the variant scales out, below it "
        "in. Positive; MemoryUtilization at most 100.",
        examples=[200, 60],
    )

    @model_validator(mode="after")
    def _value(self) -> ScalingTarget:
        source = METRICS[self.metric]
        if not self.value > 0:
            raise ValueError(f"target value must be positive for {self.metric}")
        if source.maximum is not None and self.value > source.maximum:
            raise ValueError(
                f"target value {self.value:g} is above {source.maximum:g}, the most "
                f"{self.metric} can be ({source.meaning})"
            )
        return self


class AutoscalingSpec(DeclarationModel):
    """Application Auto Scaling for the serving variant: instances between ``minInstances`` and
    ``maxInstances``, a target-tracking policy on ``target``."""

    min_instances: Annotated[int, Strict(), Field(ge=1, le=MAX_INSTANCES)] = Field(
        description="The fewest instances a variant scales in to (1-100; at most instanceCount)."
    )
    max_instances: Annotated[int, Strict(), Field(ge=1, le=MAX_INSTANCES)] = Field(
        description="The most instances a variant scales out to (1-100; at least instanceCount). "
        "Mind the account's instance quota: a rollout may run two scaled variants at once."
    )
    target: ScalingTarget
    scale_in_cooldown: str = Field(
        default="5m",
        description="After a scale-in, how long before the next one (0s-24h). Default 5m "
        "(Application Auto Scaling's default for SageMaker variants).",
        examples=["5m"],
        json_schema_extra=DURATION_SCHEMA,
    )
    scale_out_cooldown: str = Field(
        default="5m",
        description="After a scale-out, how long before the next one (0s-24h). Default 5m.",
        examples=["1m"],
        json_schema_extra=DURATION_SCHEMA,
    )

    @field_validator("scale_in_cooldown", "scale_out_cooldown", mode="before")
    @classmethod
    def _cooldown(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"a cooldown needs a unit: {value}s, or minutes (5m)")
        if isinstance(value, str) and not 0 <= parse_duration(value) <= MAX_COOLDOWN_S:
            raise ValueError("a cooldown must be between 0s and 24h")
        return value

    @model_validator(mode="after")
    def _range(self) -> AutoscalingSpec:
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"minInstances {self.min_instances} is above maxInstances {self.max_instances}"
            )
        return self

    @property
    def scale_in_cooldown_seconds(self) -> int:
        return parse_duration(self.scale_in_cooldown)

    @property
    def scale_out_cooldown_seconds(self) -> int:
        return parse_duration(self.scale_out_cooldown)

    def clamp(self, count: int) -> int:
        """``count`` within [minInstances, maxInstances]."""
        return max(self.min_instances, min(self.max_instances, count))

    def policy_configuration(self, endpoint: str, variant: str) -> dict[str, Any]:
        """botocore ``TargetTrackingScalingPolicyConfiguration`` for ``variant``."""
        source = METRICS[self.target.metric]
        config: dict[str, Any] = {
            "TargetValue": float(self.target.value),
            "ScaleInCooldown": self.scale_in_cooldown_seconds,
            "ScaleOutCooldown": self.scale_out_cooldown_seconds,
        }
        if source.predefined:
            config["PredefinedMetricSpecification"] = {"PredefinedMetricType": source.predefined}
        else:
            config["CustomizedMetricSpecification"] = {
                "MetricName": str(self.target.metric),
                "Namespace": ENDPOINT_INSTANCES,
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
                "Statistic": "Average",
                "Unit": "Percent",
            }
        return config

    def summary(self) -> dict[str, Any]:
        """``plan``'s fields: what a live scalable target and policy are compared on."""
        return {
            "minInstances": self.min_instances,
            "maxInstances": self.max_instances,
            "target": f"{self.target.metric} {float(self.target.value):g}",
            "scaleInCooldown": self.scale_in_cooldown_seconds,
            "scaleOutCooldown": self.scale_out_cooldown_seconds,
        }


def policy_summary(configuration: dict[str, Any]) -> dict[str, Any]:
    """A live TargetTrackingScalingPolicyConfiguration in :meth:`AutoscalingSpec.summary`'s
    terms (its metric by the name a declaration gives it)."""
    predefined = (configuration.get("PredefinedMetricSpecification") or {}).get(
        "PredefinedMetricType", ""
    )
    by_type = {source.predefined: metric for metric, source in METRICS.items() if source.predefined}
    custom = (configuration.get("CustomizedMetricSpecification") or {}).get("MetricName", "?")
    metric = by_type.get(predefined, predefined) if predefined else custom
    return {
        "target": f"{metric} {float(configuration.get('TargetValue', 0.0)):g}",
        "scaleInCooldown": configuration.get("ScaleInCooldown"),
        "scaleOutCooldown": configuration.get("ScaleOutCooldown"),
    }
