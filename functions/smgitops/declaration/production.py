"""The production fields of an endpoint (DESIGN §6, documented per field in docs/declarations.md):
VPC, container timeouts, volume size, routing, serverless inference, data capture, KMS key.

Every limit is botocore's (:func:`smgitops.declaration.aws_shapes.limit`, copied from the
sagemaker service model), so ``smgitops validate`` refuses what ``CreateModel`` /
``CreateEndpointConfig`` would refuse later. Where the service model is looser than the service
(a subnet id is ``[-0-9a-zA-Z]+`` there), the documented format is checked on top and its source
named next to the check. Same conventions as :mod:`smgitops.declaration.models`.

:func:`model_vpc` and the builders here (through ``EndpointSpec.variant_settings()`` and
``.config_settings()`` in models.py) give each declared value in the exact shape of the botocore
request member it becomes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import Field, Strict, field_validator, model_validator

from smgitops.declaration.aws_shapes import Limit, limit
from smgitops.declaration.base import (
    DeclarationModel,
    check_duration,
    parse_duration,
    refuse_repeated,
)

if TYPE_CHECKING:
    from pydantic.config import JsonDict


_SUBNETS: Final = limit("Subnets")
_SUBNET_ID: Final = limit("SubnetId")
_GROUPS: Final = limit("VpcSecurityGroupIds")
_GROUP_ID: Final = limit("SecurityGroupId")
VOLUME: Final = limit("ProductionVariantVolumeSizeInGB")
DOWNLOAD_TIMEOUT: Final = limit("ProductionVariantModelDataDownloadTimeoutInSeconds")
STARTUP_TIMEOUT: Final = limit("ProductionVariantContainerStartupHealthCheckTimeoutInSeconds")
_MEMORY: Final = limit("ServerlessMemorySizeInMB")
_CONCURRENCY: Final = limit("ServerlessMaxConcurrency")
_PROVISIONED: Final = limit("ServerlessProvisionedConcurrency")
_SAMPLING: Final = limit("SamplingPercentage")
_DESTINATION: Final = limit("DestinationS3Uri")
_KMS: Final = limit("KmsKeyId")

# ProductionVariantServerlessConfig.MemorySizeInMB: "Valid values are in 1 GB increments: 1024
# MB, 2048 MB, 3072 MB, 4096 MB, 5120 MB, or 6144 MB" (the member's documentation; the model
# states only the range).
MEMORY_STEP_MB: Final = 1024

# EC2 resource ids: the prefix, then 8 or 17 hexadecimal characters (Amazon EC2 User Guide,
# "Resource IDs"); botocore's SubnetId / SecurityGroupId only say [-0-9a-zA-Z]+.
SUBNET_ID: Final = re.compile(r"subnet-[0-9a-f]{8}(?:[0-9a-f]{9})?", re.ASCII)
SECURITY_GROUP_ID: Final = re.compile(r"sg-[0-9a-f]{8}(?:[0-9a-f]{9})?", re.ASCII)

# KmsKeyId (CreateEndpointConfig and DataCaptureConfig): "any of the following formats: Key ID,
# Key ARN, Alias name, Alias name ARN" (the members' documentation); mrk- is a multi-Region key.
_KEY_ID = r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
_ALIAS = r"alias/[a-zA-Z0-9/_-]{1,250}"
KMS_KEY: Final = re.compile(
    rf"{_KEY_ID}|{_ALIAS}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{{12}}:(?:key/{_KEY_ID}|{_ALIAS})",
    re.ASCII,
)
# The capture destination: an S3 bucket and an optional prefix (SageMaker writes under
# <destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/).
CAPTURE_DESTINATION: Final = re.compile(
    r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](?:/\S*)?", re.ASCII
)

ROUTING: Final = {"random": "RANDOM", "leastOutstandingRequests": "LEAST_OUTSTANDING_REQUESTS"}
"""The declared routing strategies and botocore's RoutingStrategy values they become (PREFIX_AWARE
and KV_AWARE need inference components, which smgitops does not deploy)."""
CAPTURE: Final = {"input": "Input", "output": "Output"}
"""The declared capture modes and botocore's CaptureMode values."""

# Strict integers within botocore's min/max.
VolumeGB = Annotated[int, Strict(), Field(ge=VOLUME.min, le=VOLUME.max)]
MemoryMB = Annotated[int, Strict(), Field(ge=_MEMORY.min, le=_MEMORY.max)]
Concurrency = Annotated[int, Strict(), Field(ge=_CONCURRENCY.min, le=_CONCURRENCY.max)]
Provisioned = Annotated[int, Strict(), Field(ge=_PROVISIONED.min, le=_PROVISIONED.max)]
Sampling = Annotated[int, Strict(), Field(ge=_SAMPLING.min, le=_SAMPLING.max)]
Routing = Literal["random", "leastOutstandingRequests"]
CaptureKind = Literal["input", "output"]


def _pattern(pattern: re.Pattern[str]) -> JsonDict:
    return {"pattern": f"^(?:{pattern.pattern})$"}


def _in_botocore(found: Limit, value: str, what: str) -> None:
    """The length and pattern botocore states for ``found`` (the service checks them too)."""
    if found.max is not None and len(value) > found.max:
        raise ValueError(f"{what} {value!r} is longer than {found.max} characters")
    if found.pattern is not None and re.fullmatch(found.pattern, value, re.ASCII) is None:
        raise ValueError(f"{what} {value!r} does not match SageMaker's pattern {found.pattern}")


def check_kms_key(value: str, field: str) -> str:
    _in_botocore(_KMS, value, field)
    if KMS_KEY.fullmatch(value) is None:
        raise ValueError(
            f"{field} is not a KMS key: a key id (1234abcd-12ab-34cd-56ef-1234567890ab), a key "
            "ARN (arn:aws:kms:<region>:<account>:key/<id>), an alias (alias/<name>) or an "
            "alias ARN"
        )
    return value


def seconds(value: str | None) -> int | None:
    """A validated duration field in seconds (None when not declared)."""
    return None if value is None else parse_duration(value)


def check_timeout(value: object, field: str, found: Limit) -> str:
    """A duration within botocore's range of ``found`` (seconds)."""
    low, high = found.min or 0, found.max or 0
    return check_duration(value, field, low, high, f"{high}s ({high // 60}m)")


def _ec2_ids(values: list[str], found: Limit, pattern: re.Pattern[str], what: str) -> list[str]:
    """EC2 ids of one kind: botocore's length and pattern, then the id format, none twice."""
    prefix = pattern.pattern.split("-", 1)[0]
    for value in values:
        _in_botocore(found, value, what)
        if pattern.fullmatch(value) is None:
            raise ValueError(f"{value!r} is not a {what} id ({prefix}- and 8 or 17 hex digits)")
    refuse_repeated(values, f"{what} listed")
    return values


class VpcSpec(DeclarationModel):
    """The VPC the model's containers run in: CreateModel ``VpcConfig``."""

    subnets: list[str] = Field(
        min_length=_SUBNETS.min,
        max_length=_SUBNETS.max,
        description=f"Subnet ids (subnet-…), {_SUBNETS.min}-{_SUBNETS.max}; SageMaker places "
        "instances in them (use subnets of two or more Availability Zones).",
        examples=[["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60718"]],
        json_schema_extra={"items": _pattern(SUBNET_ID)},
    )
    security_groups: list[str] = Field(
        min_length=_GROUPS.min,
        max_length=_GROUPS.max,
        description=f"Security group ids (sg-…), {_GROUPS.min}-{_GROUPS.max}.",
        examples=[["sg-0a1b2c3d4e5f60718"]],
        json_schema_extra={"items": _pattern(SECURITY_GROUP_ID)},
    )

    @field_validator("subnets")
    @classmethod
    def _subnets(cls, value: list[str]) -> list[str]:
        return _ec2_ids(value, _SUBNET_ID, SUBNET_ID, "subnet")

    @field_validator("security_groups")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        return _ec2_ids(value, _GROUP_ID, SECURITY_GROUP_ID, "security group")


class ServerlessSpec(DeclarationModel):
    """Serverless inference: ``ProductionVariant.ServerlessConfig`` instead of instances."""

    memory_size_mb: MemoryMB = Field(
        alias="memorySizeMB",
        title="memorySizeMB",
        description=f"Memory of each concurrent invocation, {_MEMORY.min}-{_MEMORY.max} MB in "
        f"steps of {MEMORY_STEP_MB} (MemorySizeInMB).",
        examples=[2048, 4096],
        json_schema_extra={"multipleOf": MEMORY_STEP_MB},
    )
    max_concurrency: Concurrency = Field(
        description=f"Concurrent invocations at most, {_CONCURRENCY.min}-{_CONCURRENCY.max} "
        "(MaxConcurrency; your account's quota for all serverless endpoints may be lower).",
        examples=[20],
    )
    provisioned_concurrency: Provisioned | None = Field(
        default=None,
        description="Invocations kept warm, at most maxConcurrency (ProvisionedConcurrency). "
        "Default: none (cold starts).",
        examples=[2],
    )

    @field_validator("memory_size_mb")
    @classmethod
    def _memory(cls, value: int) -> int:
        if value % MEMORY_STEP_MB:
            steps = ", ".join(
                str(v) for v in range(_MEMORY.min or 0, (_MEMORY.max or 0) + 1, MEMORY_STEP_MB)
            )
            raise ValueError(f"memorySizeMB must be one of {steps} (1 GB steps)")
        return value

    @model_validator(mode="after")
    def _provisioned(self) -> ServerlessSpec:
        provisioned = self.provisioned_concurrency
        if provisioned is not None and provisioned > self.max_concurrency:
            raise ValueError(
                f"provisionedConcurrency {provisioned} is more than maxConcurrency "
                f"{self.max_concurrency}"
            )
        return self


def _both() -> list[CaptureKind]:
    return ["input", "output"]


class DataCaptureSpec(DeclarationModel):
    """What SageMaker records of each request and response: ``DataCaptureConfig``."""

    destination: str = Field(
        max_length=_DESTINATION.max,
        description="s3://bucket[/prefix] SageMaker writes to, under "
        "<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/ (DestinationS3Uri): every variant "
        "of a rollout is captured under its own name. See docs/declarations.md.",
        examples=["s3://ml-capture/churn/"],
        json_schema_extra=_pattern(CAPTURE_DESTINATION),
    )
    sampling_percentage: Sampling = Field(
        description=f"% of requests captured, {_SAMPLING.min}-{_SAMPLING.max} "
        "(InitialSamplingPercentage).",
        examples=[20],
    )
    capture: list[CaptureKind] = Field(
        default_factory=_both,
        min_length=1,
        description="input, output or both (CaptureOptions). Default both.",
        json_schema_extra={"default": ["input", "output"], "uniqueItems": True},
    )
    kms_key_id: str | None = Field(
        default=None,
        description="KMS key SageMaker encrypts the captured data with in S3 "
        "(DataCaptureConfig KmsKeyId): key id, key ARN, alias or alias ARN.",
        examples=["alias/ml-capture"],
    )

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: str) -> str:
        if CAPTURE_DESTINATION.fullmatch(value) is None:
            raise ValueError("destination must be an s3://bucket or s3://bucket/prefix URL")
        return value

    @field_validator("capture")
    @classmethod
    def _capture(cls, value: list[str]) -> list[str]:
        refuse_repeated(value, "capture mode listed")
        return value

    @field_validator("kms_key_id")
    @classmethod
    def _kms(cls, value: str | None) -> str | None:
        return None if value is None else check_kms_key(value, "kmsKeyId")


def model_vpc(vpc: VpcSpec | None) -> dict[str, Any] | None:
    """CreateModel ``VpcConfig``."""
    if vpc is None:
        return None
    return {"SecurityGroupIds": list(vpc.security_groups), "Subnets": list(vpc.subnets)}


def serverless_config(serverless: ServerlessSpec) -> dict[str, int]:
    """``ProductionVariantServerlessConfig``."""
    config = {
        "MemorySizeInMB": serverless.memory_size_mb,
        "MaxConcurrency": serverless.max_concurrency,
    }
    if serverless.provisioned_concurrency is not None:
        config["ProvisionedConcurrency"] = serverless.provisioned_concurrency
    return config


def data_capture_config(capture: DataCaptureSpec) -> dict[str, Any]:
    """``DataCaptureConfig``."""
    config: dict[str, Any] = {
        "EnableCapture": True,
        "InitialSamplingPercentage": capture.sampling_percentage,
        "DestinationS3Uri": capture.destination,
        "CaptureOptions": [{"CaptureMode": CAPTURE[kind]} for kind in capture.capture],
    }
    if capture.kms_key_id is not None:
        config["KmsKeyId"] = capture.kms_key_id
    return config


def routing_config(routing: str) -> dict[str, str]:
    """``ProductionVariantRoutingConfig``."""
    return {"RoutingStrategy": ROUTING[routing]}


VARIANT_MEMBERS: Final = (
    "ServerlessConfig",
    "VolumeSizeInGB",
    "ModelDataDownloadTimeoutInSeconds",
    "ContainerStartupHealthCheckTimeoutInSeconds",
    "RoutingConfig",
)
"""The ProductionVariant members a declaration sets besides name, model, instances, weight."""
CONFIG_MEMBERS: Final = ("DataCaptureConfig", "KmsKeyId")
"""The CreateEndpointConfig members a declaration sets besides the variants."""


def picked(described: dict[str, Any], members: tuple[str, ...]) -> dict[str, Any]:
    """The ``members`` set in a Describe* answer (what ``VariantRef`` keeps); an empty value
    (moto answers ``DataCaptureConfig: {}`` for a config without one) is not set."""
    return {key: described[key] for key in members if described.get(key) not in (None, {}, "")}
