"""What a tick asks the world to do: plain data, executed by the adapters, idempotent by design."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from smgitops.rollout.status import ScalingPolicy


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CreateModel(_Action):
    kind: Literal["CreateModel"] = "CreateModel"
    name: str
    execution_role_arn: str
    image: str | None = None
    model_data_url: str | None = None
    model_package_arn: str | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    vpc: dict[str, Any] | None = None  # CreateModel VpcConfig
    tags: dict[str, str] = Field(default_factory=dict)


class VariantSpec(_Action):
    name: str
    model: str
    instance_type: str  # "" when serverless
    instance_count: int
    weight: float
    settings: dict[str, Any] = Field(default_factory=dict)  # VariantRef.settings


class CreateEndpointConfig(_Action):
    kind: Literal["CreateEndpointConfig"] = "CreateEndpointConfig"
    name: str
    variants: list[VariantSpec]
    # weight = % of the production traffic copied to the shadow variant
    shadow_variants: list[VariantSpec] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)  # DataCaptureConfig, KmsKeyId
    tags: dict[str, str] = Field(default_factory=dict)


class CreateEndpoint(_Action):
    kind: Literal["CreateEndpoint"] = "CreateEndpoint"
    endpoint: str
    config: str
    tags: dict[str, str] = Field(default_factory=dict)


class UpdateEndpoint(_Action):
    kind: Literal["UpdateEndpoint"] = "UpdateEndpoint"
    endpoint: str
    config: str


class SetWeights(_Action):
    """One ``UpdateEndpointWeightsAndCapacities`` call; weights in percent, capacity only where
    ``counts`` says (whatever scales the variants keeps doing so otherwise)."""

    kind: Literal["SetWeights"] = "SetWeights"
    endpoint: str
    weights: dict[str, float]
    # instance counts only where a change is meant (a drift heal puts the declared count back);
    # a rollout's weight shifts leave capacity to whatever scales the variants
    counts: dict[str, int] = Field(default_factory=dict)


class AlarmSpec(_Action):
    name: str
    endpoint: str
    variant: str
    metric: str
    statistic: str
    threshold: float
    period: int
    namespace: str = "AWS/SageMaker"


class PutAlarms(_Action):
    kind: Literal["PutAlarms"] = "PutAlarms"
    alarms: list[AlarmSpec]


class DeleteAlarms(_Action):
    kind: Literal["DeleteAlarms"] = "DeleteAlarms"
    names: list[str]


class DeleteUnused(_Action):
    """Delete smgitops-made configs and models, skipping any the endpoint still uses."""

    kind: Literal["DeleteUnused"] = "DeleteUnused"
    endpoint: str
    configs: list[str]
    models: list[str]


class RegisterScaling(_Action):
    """``RegisterScalableTarget`` for a variant (creates or updates it: fields left None are
    not changed), then ``PutScalingPolicy`` for each policy. Application Auto Scaling moves the
    variant's instance count into [min, max] itself: no capacity is ever sent to SageMaker."""

    kind: Literal["RegisterScaling"] = "RegisterScaling"
    endpoint: str
    variant: str
    min_capacity: int | None = None
    max_capacity: int | None = None
    suspended: dict[str, bool] | None = None  # SuspendedState
    policies: list[ScalingPolicy] = Field(default_factory=list)


class DeregisterScaling(_Action):
    """``DeregisterScalableTarget`` (which deletes its policies): before an update that removes
    the variant, which SageMaker refuses while the variant is a scalable target."""

    kind: Literal["DeregisterScaling"] = "DeregisterScaling"
    endpoint: str
    variant: str


Action = Annotated[
    CreateModel
    | CreateEndpointConfig
    | CreateEndpoint
    | UpdateEndpoint
    | SetWeights
    | PutAlarms
    | DeleteAlarms
    | DeleteUnused
    | RegisterScaling
    | DeregisterScaling,
    Field(discriminator="kind"),
]
