"""The declaration format, apiVersion ``smgitops/v1`` (see docs/declarations.md).

Attributes are snake_case with camelCase aliases; YAML files use the aliases only (the
loader validates with ``by_name=False``), Python code may use either.

Validators raise ``ValueError`` with a message that reads well after ``file:line: field:``.
Every regular expression is matched with ``fullmatch`` and ``re.ASCII``, so a trailing
newline or a non-ASCII digit never slips through; the JSON Schema carries an
ECMAScript-compatible copy of each pattern (``_schema_pattern``) so editors check the same.
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from itertools import pairwise
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import (
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    Strict,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema  # noqa: TC002 (pydantic reads it at runtime)

from smgitops.declaration import aws_shapes, images, production
from smgitops.declaration import metrics as catalogue
from smgitops.declaration.autoscaling import AutoscalingSpec  # noqa: TC001 (pydantic reads it)
from smgitops.declaration.base import DURATION, DeclarationModel, parse_duration, refuse_repeated
from smgitops.declaration.production import (
    DOWNLOAD_TIMEOUT,
    STARTUP_TIMEOUT,
    VOLUME,
    DataCaptureSpec,
    Routing,
    ServerlessSpec,
    VolumeGB,
    VpcSpec,
)
from smgitops.declaration.safeguards import (
    CompareSpec,
    GateSpec,
    ShadowSpec,
    StepFloor,
    TrafficSpec,
    ValidationSpec,
)

if TYPE_CHECKING:
    from pydantic.config import JsonDict, JsonValue

ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", re.ASCII)
S3_URL = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/\S+$", re.ASCII)
ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[\w+=,.@\-/]{1,512}$", re.ASCII)
# sagemaker VersionedArnOrName (what CreateModel's ModelPackageName accepts), as an ARN:
# a package name of 1-63 alphanumerics and hyphens, not ending with one, then /version.
MODEL_PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:\d{12}:model-package/"
    r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:/\d{1,9})?$",
    re.ASCII,
)
MAX_MODEL_PACKAGE_ARN = 176  # sagemaker VersionedArnOrName max
# Amazon ECR, in the endpoint's region: ContainerDefinition.Image is pulled from ECR unless
# ImageConfig.RepositoryAccessMode is Vpc, which smgitops never sets.
# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/repository[:tag][@sha256:digest]; the domain is
# one of the DNS suffixes of botocore's partitions (data/partitions.json: aws, aws-cn, aws-eusc,
# aws-iso, aws-iso-b, aws-iso-e, aws-iso-f).
IMAGE_URI = re.compile(
    r"^(?P<registry>\d{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9\-]+\."
    r"(?:amazonaws\.com(?:\.cn)?|amazonaws\.eu|c2s\.ic\.gov|sc2s\.sgov\.gov|cloud\.adc-e\.uk"
    r"|csp\.hci\.ic\.gov))/"
    r"[a-z0-9]+(?:[._\-/][a-z0-9]+)*(?::[\w][\w.\-]{0,127})?(?:@sha256:[a-f0-9]{64})?$",
    re.ASCII,
)
ENV_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$", re.ASCII)
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")

MAX_ENDPOINT_NAME = 63
# SageMaker allows 50 tags per resource (TagList max); smgitops adds its own three to each
# (smgitops:managed, smgitops:endpoint, smgitops:owner: rollout's managed_tags), so users have 47.
MANAGED_TAG_COUNT = 3
MAX_TAGS = aws_shapes.MAX_TAGS - MANAGED_TAG_COUNT
MAX_ENVIRONMENT = 100
MAX_INTERVAL_SECONDS = 86400
# Step Functions ends an execution at 25,000 history events, about 9 a tick
# (awsdocs/aws-step-functions-developer-guide doc_source/limits-overview.md)
TICK_BUDGET = 2_500
TICKS_PER_STEP = 12  # a weight change waited on (back-off), the bake, the judgement
TICKS_FIXED = 150  # the candidate's and the final update, gates, validation, cleanup
APPROVAL_TICKS = 1_030  # polls back off to 1/1000 of approvalTimeout: ~1000, plus the ramp
# alarms + metrics of one rollout: a hand-over writes the status, its history and the alarm
# index of both rollouts (up to 2 × 45 + 4 items) in one transaction of at most 100
MAX_WATCHED = 45

# Integers and numbers are strict: YAML ``true`` or ``"2"`` is not silently a count.
StrictInt = Annotated[int, Strict()]
StrictNumber = Annotated[float, Strict()]
Percent = Annotated[int, Strict(), Field(ge=1, le=99)]


def _schema_pattern(pattern: re.Pattern[str]) -> JsonDict:
    """The pattern for JSON Schema (ECMAScript and Python alike): no named groups."""
    return {"pattern": _NAMED_GROUP.sub("(?:", pattern.pattern)}


def _full(pattern: re.Pattern[str], value: str) -> bool:
    return pattern.fullmatch(value) is not None


class _Model(DeclarationModel):
    """Every declaration model: frozen, no unknown fields, camelCase names in YAML."""


class Strategy(StrEnum):
    """How traffic moves from the stable model to the new one."""

    CANARY = "canary"
    LINEAR = "linear"
    BLUE_GREEN = "blueGreen"
    ALL_AT_ONCE = "allAtOnce"
    AB_TEST = "abTest"
    SHADOW = "shadow"


class Metadata(_Model):
    """Who the endpoint is: its SageMaker name and the tags of everything made for it."""

    name: str = Field(
        max_length=MAX_ENDPOINT_NAME,
        description="The SageMaker endpoint name: 1-63 alphanumerics and hyphens, "
        "not starting or ending with a hyphen. Unique across the repository "
        "(case-insensitively, as SageMaker compares endpoint names).",
        examples=["churn-predictor"],
        json_schema_extra=_schema_pattern(ENDPOINT_NAME),
    )
    tags: dict[str, str] = Field(
        default_factory=dict,
        max_length=MAX_TAGS,
        description="Tags applied to every resource smgitops creates for this endpoint "
        "(at most 48: SageMaker allows 50 and smgitops adds two; keys 1-128 characters, values "
        "up to 256, both letters, digits, spaces and `_ . : / = + - @`; no `aws:` or "
        "`smgitops:` prefix).",
        examples=[{"team": "risk", "cost-center": "1234"}],
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _full(ENDPOINT_NAME, value):
            raise ValueError(
                "invalid endpoint name: 1-63 characters, alphanumerics and hyphens, "
                "not starting or ending with a hyphen"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        for key, tag in value.items():
            if not 1 <= len(key) <= 128:
                raise ValueError(f"tag key {key!r} must be 1-128 characters")
            if key.lower().startswith("aws:"):
                raise ValueError(f"tag key {key!r}: the aws: prefix is reserved by AWS")
            if key.lower().startswith("smgitops:"):
                raise ValueError(f"tag key {key!r}: the smgitops: prefix is smgitops' own")
            if len(tag) > 256:
                raise ValueError(f"tag {key!r}: values are at most 256 characters")
            for text in (key, tag):
                if not aws_shapes.tag_text_ok(text):
                    raise ValueError(
                        f"tag {key!r}: {text!r} may hold only letters, digits, spaces and "
                        "_ . : / = + - @ (SageMaker's tag pattern)"
                    )
        return value


def _instance_types(schema: JsonDict) -> None:
    """The instance types SageMaker hosts, as an enum (read when a schema is built)."""
    schema["enum"] = list(aws_shapes.instance_types())


def _framework_names(schema: JsonDict) -> None:
    """The framework names the image table knows, as an enum (read when a schema is built)."""
    schema["enum"] = list(images.table().names())


TRUSTED: Final = {"check_images": False}
"""Validation context for a declaration read back from storage (rollout status): it was
checked against the image table when it was loaded, and a later table need not know it."""


def _check_images(info: ValidationInfo) -> bool:
    return not (isinstance(info.context, dict) and info.context.get("check_images") is False)


class ChecksPolicy(StrEnum):
    """What a rollout that shifts user traffic must declare, narrowest first. The operator's
    ``SMGITOPS_CHECKS`` is the widest a repository may choose; the repository's ``checks`` in
    ``.smgitops.yaml`` (default ``acknowledged``) narrows it, never widens it."""

    REQUIRED = "required"
    """A check on every such rollout: ``analysis: none`` and allAtOnce are refused."""
    ACKNOWLEDGED = "acknowledged"
    """A check, or ``analysis: none`` written in the endpoint's file (the default)."""
    OPTIONAL = "optional"
    """No check need be acknowledged file by file: the repository setting says it once
    (``plan`` and ``status`` still say "no checks" in words)."""

    def narrowed(self, other: ChecksPolicy | str | None) -> ChecksPolicy:
        """The narrower of this policy and ``other`` (None: this one)."""
        if other is None:
            return self
        order = list(ChecksPolicy)
        return order[min(order.index(self), order.index(ChecksPolicy(other)))]


OPERATOR_CHECKS: Final = ChecksPolicy.OPTIONAL
"""The operator's default ``SMGITOPS_CHECKS``: a repository may choose any policy."""


def checks_context(policy: ChecksPolicy) -> dict[str, Any]:
    """The validation context that loads declarations under ``policy``."""
    return {"checks": policy}


def _checks_policy(info: ValidationInfo) -> ChecksPolicy:
    given = info.context.get("checks") if isinstance(info.context, dict) else None
    return ChecksPolicy(given) if given is not None else ChecksPolicy.ACKNOWLEDGED


class FrameworkSpec(_Model):
    """A SageMaker framework inference image by name and version, instead of ``image``.

    Resolved to the image URI of the function's region from the image table that ships with
    smgitops (generated from the SageMaker SDK by scripts/generate_image_uris.py). Validated
    against that table unless the validation context is :data:`TRUSTED`.
    """

    name: str = Field(
        max_length=64,
        description="Framework (the image table's names, the SageMaker SDK's): xgboost, sklearn, "
        "pytorch, tensorflow; for large models huggingface (the Hugging Face PyTorch inference "
        "DLC, by transformers version), huggingface-llm (Text Generation Inference, TGI), "
        "huggingface-llm-neuronx (TGI on Inferentia2/Trainium), djl-lmi (DJL large model "
        "inference) and djl-neuronx.",
        examples=["xgboost", "pytorch", "huggingface-llm", "djl-lmi"],
        json_schema_extra=_framework_names,
    )
    version: str = Field(
        max_length=64,
        description="Framework version exactly as SageMaker names its image (quote it): "
        '"1.7-1" for xgboost, "1.2-1" for sklearn, "2.1.0" for pytorch, "2.16.1" for tensorflow, '
        '"4.49.0" (transformers) for huggingface, "3.3.6" for huggingface-llm, "0.36.0" for '
        "djl-lmi.",
        examples=["1.7-1", "2.1.0", "3.3.6"],
    )
    processor: Literal["cpu", "gpu", "neuron"] = Field(
        default="cpu",
        validate_default=True,
        description="cpu, gpu (NVIDIA: ml.g*/ml.p* instances) or neuron (Inferentia2/Trainium: "
        "ml.inf2/ml.trn* instances) image. Default: the framework version's only processor "
        "when it has one (huggingface-llm and djl-lmi: gpu; the neuronx images: neuron), "
        "else cpu.",
    )

    @model_validator(mode="before")
    @classmethod
    def _only_processor(cls, data: Any, info: ValidationInfo) -> Any:
        """Without ``processor``, an image built for one accelerator only takes that one."""
        if isinstance(data, dict) and "processor" not in data and _check_images(info):
            name, version = data.get("name"), data.get("version")
            if isinstance(name, str) and isinstance(version, str):
                only = images.single_processor(name, version)
                if only is not None and only != "cpu":
                    return {**data, "processor": only}
        return data

    @field_validator("name")
    @classmethod
    def _name(cls, value: str, info: ValidationInfo) -> str:
        if _check_images(info):
            images.check_name(value)
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: str, info: ValidationInfo) -> str:
        # An unknown name is reported once, on its own line.
        if "name" in info.data and _check_images(info):
            images.check_version(info.data["name"], value)
        return value

    @field_validator("processor")
    @classmethod
    def _processor(cls, value: str, info: ValidationInfo) -> str:
        if "name" in info.data and "version" in info.data and _check_images(info):
            images.check_processor(info.data["name"], info.data["version"], value)
        return value


_SOURCES = ("image", "framework", "modelPackageArn")


def _only(source: str, *excluded: str) -> JsonDict:
    return {"required": [source], "not": {"anyOf": [{"required": [name]} for name in excluded]}}


class ModelSpec(_Model):
    """The model to serve: ``image`` or ``framework`` (+ ``modelDataUrl``), or
    ``modelPackageArn``."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                _only("image", "framework", "modelPackageArn"),
                _only("framework", "image", "modelPackageArn"),
                _only("modelPackageArn", "image", "framework", "modelDataUrl"),
            ]
        }
    )

    image: str | None = Field(
        default=None,
        max_length=255,
        description="Inference container image URI in Amazon ECR (SageMaker pulls from ECR "
        "only): <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag][@sha256:...]. "
        "Or give `framework` instead.",
        examples=["683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"],
        json_schema_extra=_schema_pattern(IMAGE_URI),
    )
    framework: FrameworkSpec | None = Field(
        default=None,
        description="A SageMaker framework image by name and version, instead of `image`: "
        'e.g. {name: xgboost, version: "1.7-1"}; resolved for the region the endpoint runs in.',
    )
    model_data_url: str | None = Field(
        default=None,
        max_length=1024,
        description="s3://bucket/key of the model artifact (model.tar.gz). Optional with "
        "`image` or `framework` when the container carries its model.",
        examples=["s3://ml-models/churn/v42/model.tar.gz"],
        json_schema_extra=_schema_pattern(S3_URL),
    )
    execution_role_arn: str = Field(
        max_length=2048,
        description="IAM role SageMaker assumes to pull the image and the model data.",
        examples=["arn:aws:iam::123456789012:role/SageMakerExecution"],
        json_schema_extra=_schema_pattern(ROLE_ARN),
    )
    environment: dict[str, str] = Field(
        default_factory=dict,
        max_length=MAX_ENVIRONMENT,
        description="Environment variables of the container (names: letters, digits and "
        "underscores; values are strings, so quote numbers; at most 1024 bytes each and 32 KB "
        "all together, as SageMaker allows). Part of the content hash. "
        "Never put secrets here: the file lives in Git.",
        examples=[{"SAGEMAKER_PROGRAM": "inference.py", "WORKERS": "2"}],
    )
    model_package_arn: str | None = Field(
        default=None,
        max_length=MAX_MODEL_PACKAGE_ARN,
        description="A registered model version (SageMaker Model Registry), instead of "
        "image + modelDataUrl.",
        examples=["arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/42"],
        json_schema_extra=_schema_pattern(MODEL_PACKAGE_ARN),
    )

    vpc: VpcSpec | None = Field(
        default=None,
        description="Run the model's containers in your VPC: {subnets: [subnet-…], "
        "securityGroups: [sg-…]} (CreateModel VpcConfig). Not with serverless.",
    )
    startup_health_check_timeout: str | None = Field(
        default=None,
        description="How long the container may take to pass its first /ping, "
        f"{STARTUP_TIMEOUT.min}s-{STARTUP_TIMEOUT.max}s (ProductionVariant "
        "ContainerStartupHealthCheckTimeoutInSeconds). Large models need more. Default: "
        "SageMaker's.",
        examples=["10m"],
        json_schema_extra=_schema_pattern(DURATION),
    )
    model_data_download_timeout: str | None = Field(
        default=None,
        description="How long downloading and extracting modelDataUrl may take, "
        f"{DOWNLOAD_TIMEOUT.min}s-{DOWNLOAD_TIMEOUT.max}s (ProductionVariant "
        "ModelDataDownloadTimeoutInSeconds). Default: SageMaker's.",
        examples=["20m"],
        json_schema_extra=_schema_pattern(DURATION),
    )

    @field_validator("startup_health_check_timeout", mode="before")
    @classmethod
    def _startup_timeout(cls, value: object) -> object:
        if value is None:
            return value
        return production.check_timeout(value, "startupHealthCheckTimeout", STARTUP_TIMEOUT)

    @field_validator("model_data_download_timeout", mode="before")
    @classmethod
    def _download_timeout(cls, value: object) -> object:
        if value is None:
            return value
        return production.check_timeout(value, "modelDataDownloadTimeout", DOWNLOAD_TIMEOUT)

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        if value is not None and not _full(IMAGE_URI, value):
            raise ValueError(
                "image is not an Amazon ECR image URI like "
                "<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag> (SageMaker pulls from "
                "ECR only)"
            )
        return value

    @field_validator("model_data_url")
    @classmethod
    def _model_data_url(cls, value: str | None) -> str | None:
        if value is not None and not _full(S3_URL, value):
            raise ValueError("modelDataUrl must be an s3://bucket/key URL")
        return value

    @field_validator("execution_role_arn")
    @classmethod
    def _role(cls, value: str) -> str:
        if not _full(ROLE_ARN, value):
            raise ValueError(
                "executionRoleArn is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
            )
        return value

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: dict[str, str]) -> dict[str, str]:
        for key, setting in value.items():
            if len(key.encode()) > 1024 or not _full(ENV_NAME, key):
                raise ValueError(
                    f"environment variable name {key!r} must be letters, digits and "
                    "underscores, not starting with a digit"
                )
            if len(setting.encode()) > 1024:
                raise ValueError(f"environment variable {key}: values are at most 1024 bytes")
        size = aws_shapes.environment_bytes(value)
        if size > aws_shapes.ENVIRONMENT_BYTES:
            raise ValueError(
                f"environment is {size} bytes; SageMaker allows 32 KB of names and values together"
            )
        return value

    @field_validator("model_package_arn")
    @classmethod
    def _package(cls, value: str | None) -> str | None:
        if value is not None and not _full(MODEL_PACKAGE_ARN, value):
            raise ValueError(
                "modelPackageArn is not a SageMaker model package version ARN like "
                "arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version> (group: "
                "1-63 letters, digits and hyphens)"
            )
        return value

    @model_validator(mode="after")
    def _server_knows_its_model(self, info: ValidationInfo) -> ModelSpec:
        if self.framework is not None and _check_images(info):
            has_data = self.model_data_url is not None
            images.check_environment(self.framework.name, self.environment, has_data)
        return self

    @model_validator(mode="after")
    def _source(self) -> ModelSpec:
        given = [
            name
            for name, value in zip(
                _SOURCES, (self.image, self.framework, self.model_package_arn), strict=True
            )
            if value is not None
        ]
        if not given:
            raise ValueError(
                "give image (or framework) with modelDataUrl, or modelPackageArn: "
                "the model needs one source"
            )
        if len(given) > 1:
            extra = "not both" if len(given) == 2 else "not all three"
            raise ValueError(
                f"give one of image, framework or modelPackageArn, {extra}: {' and '.join(given)}"
            )
        if self.model_package_arn is not None and self.model_data_url is not None:
            raise ValueError(
                "give either modelPackageArn or image/framework + modelDataUrl, not both"
            )
        return self


def _trusted(info: ValidationInfo) -> bool:
    """Read back from storage: checked when it was loaded; later rules must not strand it."""
    return not _check_images(info)


def _metric_check_schema(schema: JsonDict) -> None:
    """Without ``namespace`` the metric is one SageMaker publishes (an enum per namespace)."""

    def metric_enum(values: list[str]) -> JsonDict:
        return {"properties": {"metric": {"enum": list(values)}}}

    def namespace_is(value: str) -> JsonDict:
        return {"required": ["namespace"], "properties": {"namespace": {"const": value}}}

    conditions: list[JsonValue] = [
        {"if": {"not": {"required": ["namespace"]}}, "then": metric_enum(catalogue.names())}
    ]
    conditions += [
        {"if": namespace_is(ns), "then": metric_enum(catalogue.names(ns))}
        for ns in catalogue.NAMESPACES
    ]
    schema["allOf"] = conditions


class MetricCheck(_Model):
    """A per-variant CloudWatch alarm smgitops creates on the new model while it rolls out."""

    model_config = ConfigDict(json_schema_extra=_metric_check_schema)

    namespace: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="CloudWatch namespace. Default: the SageMaker namespace of `metric`. Set it "
        "to watch a metric your model publishes itself (with EndpointName and VariantName "
        "dimensions); a name SageMaker does not publish is refused without it.",
        examples=["churn/quality"],
    )
    metric: str = Field(
        min_length=1,
        max_length=255,
        description="A metric SageMaker publishes per variant (names are case-sensitive): "
        "AWS/SageMaker Invocation5XXErrors, Invocation4XXErrors, InvocationModelErrors, "
        "ModelLatency, OverheadLatency, ...; /aws/sagemaker/Endpoints CPUUtilization, "
        "MemoryUtilization, ... (see docs/declarations.md). A metric of your own only with "
        "`namespace`.",
        examples=["Invocation5XXErrors", "ModelLatency"],
    )
    statistic: str = Field(
        default="Average",
        validate_default=True,
        description="CloudWatch statistic the generated alarm evaluates: Sum, Average, "
        "Maximum, Minimum, SampleCount, or a percentile p50...p99.9 (timings only). "
        "Default Average.",
        examples=["Sum", "p99"],
        json_schema_extra=catalogue.statistic_schema(),
    )
    max: StrictNumber = Field(
        description="The check fails when the statistic is above this value "
        "(latencies are in microseconds, as SageMaker reports them).",
        examples=[5, 250000],
    )
    period: Annotated[int, Strict(), Field(ge=1, le=86400)] = Field(
        default=60,
        description="Alarm period in seconds: a multiple of 60 (SageMaker publishes per "
        "minute), up to 86400. Default 60.",
        json_schema_extra={"minimum": 60, "multipleOf": 60},
    )

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not _trusted(info):
            catalogue.check_namespace(value)
        return value

    @field_validator("period")
    @classmethod
    def _period(cls, value: int, info: ValidationInfo) -> int:
        if value % 60 and not _trusted(info):
            raise ValueError(
                "period must be a multiple of 60 seconds: SageMaker publishes its metrics per "
                "minute, so a shorter or uneven period mostly sees no data"
            )
        return value

    @field_validator("metric")
    @classmethod
    def _published(cls, value: str, info: ValidationInfo) -> str:
        # namespace is validated first; if it was refused, it is reported on its own.
        if "namespace" in info.data and not _trusted(info):
            catalogue.check_metric(value, info.data["namespace"])
        return value

    @field_validator("statistic")
    @classmethod
    def _statistic(cls, value: str, info: ValidationInfo) -> str:
        if _trusted(info):
            return value
        if "metric" in info.data and "namespace" in info.data:
            namespace = info.data["namespace"] or catalogue.namespace_of(info.data["metric"])
            catalogue.check_statistic(info.data["metric"], namespace, value)
        elif not catalogue.is_statistic(value):
            catalogue.check_statistic("", "", value)
        return value

    @property
    def resolved_namespace(self) -> str:
        """The namespace the alarm watches: the declared one, or SageMaker's for the metric."""
        return self.namespace or catalogue.namespace_of(self.metric)

    @property
    def label(self) -> str:
        """``ModelLatency p99``, with the namespace when it is declared: one alarm each."""
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.metric} {self.statistic}{where}"


NO_ANALYSIS: Final = "none"
"""``analysis: none``: the author knows this rollout shifts traffic with no check."""


class AnalysisSpec(_Model):
    """The checks that decide between the next step and a rollback."""

    alarms: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list,
        description="Existing CloudWatch alarms; any in ALARM is a failed check. Each must "
        "exist: a missing one refuses the rollout.",
        examples=[["churn-5xx-rate"]],
    )
    metrics: list[MetricCheck] = Field(
        default_factory=list,
        description="Per-variant alarms smgitops creates on the candidate, owns and deletes.",
    )
    compare: CompareSpec | None = Field(
        default=None,
        description="Judge the candidate against the stable variant (Mann-Whitney U and an "
        "effect-size tolerance) at the end of each step. See docs/analysis.md.",
    )
    traffic: TrafficSpec | None = Field(
        default=None,
        description="The traffic a step needs before its alarms and metrics can pass it: "
        "minInvocations of the candidate (default 10), extended up to maxExtensions "
        "intervals, then inconclusive (default fail: roll back). Applies by default whenever "
        "alarms or metrics are declared; with compare, compare's minSamples governs instead.",
    )
    insufficient_data_grace: str | None = Field(
        default=None,
        description="How long a watched alarm may stay INSUFFICIENT_DATA (it sees no data) "
        "before that counts as a failed check (1s-24h). Default: the rollout's interval.",
        examples=["5m"],
        json_schema_extra=_schema_pattern(DURATION),
    )
    acknowledged_none: SkipJsonSchema[bool] = Field(default=False, exclude=True)
    """Set only by ``analysis: none`` (see :meth:`RolloutSpec._analysis`), never by a key."""

    @model_validator(mode="before")
    @classmethod
    def _no_hidden_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and {"acknowledgedNone", "acknowledged_none"} & data.keys():
            raise ValueError(f"to declare no check, write analysis: {NO_ANALYSIS}")
        return data

    @field_validator("insufficient_data_grace")
    @classmethod
    def _grace(cls, value: str | None) -> str | None:
        if value is not None and not 1 <= parse_duration(value) <= MAX_INTERVAL_SECONDS:
            raise ValueError("insufficientDataGrace must be between 1s and 24h")
        return value

    def grace_seconds(self, interval_seconds: int) -> int:
        """Seconds of INSUFFICIENT_DATA tolerated before an alarm is a failed check."""
        grace = self.insufficient_data_grace
        return interval_seconds if grace is None else parse_duration(grace)

    @field_validator("alarms")
    @classmethod
    def _unique_alarms(cls, value: list[str]) -> list[str]:
        refuse_repeated(value, "alarm listed")
        return value

    @field_validator("metrics")
    @classmethod
    def _unique_checks(cls, value: list[MetricCheck]) -> list[MetricCheck]:
        hint = " (one alarm per metric and statistic; keep the lower max)"
        refuse_repeated([check.label for check in value], "check listed", hint)
        return value

    @model_validator(mode="after")
    def _watched(self) -> AnalysisSpec:
        count = len(set(self.alarms)) + len(self.metrics)
        if count > MAX_WATCHED:
            raise ValueError(
                f"{count} alarms and metrics; at most {MAX_WATCHED} together (the status write "
                "that hands one rollout over to the next indexes both sets in one DynamoDB "
                "transaction, at most 100 actions)"
            )
        return self

    @model_validator(mode="after")
    def _one_floor(self) -> AnalysisSpec:
        if self.traffic is not None and self.compare is not None:
            raise ValueError(
                "traffic and compare both set the traffic a step needs: with compare, set "
                "minSamples (each variant), maxExtensions and inconclusive there"
            )
        if self.traffic is not None and not (self.alarms or self.metrics):
            raise ValueError(
                "traffic sets the traffic a step needs before its alarms and metrics can pass "
                "it: declare analysis.alarms or analysis.metrics, or drop traffic"
            )
        return self

    @property
    def any_check(self) -> bool:
        """Declares at least one check."""
        return bool(self.alarms or self.metrics or self.compare)

    @property
    def floor(self) -> StepFloor | None:
        """What a step's traffic must reach before its checks can pass it (None: no check
        observes a step): compare's minSamples, else the alarms' and metrics' traffic."""
        if self.compare is not None:
            return self.compare
        if self.alarms or self.metrics:
            return self.traffic or TrafficSpec()
        return None


# ``analysis: none`` as a model, built once: model_construct inspects the signature of every
# default factory on each call, which cost a tick more than validating the rest of a declaration.
_ACKNOWLEDGED_NONE: Final = AnalysisSpec.model_construct(acknowledged_none=True)


def _analysis_schema(schema: JsonDict) -> None:
    """``analysis`` is the mapping of checks, or the word ``none``."""
    schema["anyOf"] = [
        {"$ref": schema.pop("$ref")},
        {
            "const": NO_ANALYSIS,
            "description": "No check at all, said on purpose: required for a strategy that "
            "shifts user traffic and declares no check.",
        },
    ]


class RolloutSpec(GateSpec, _Model):
    """How and how fast traffic moves to the new model, and what rolls it back.

    Each strategy reads only its own settings (``steps`` canary, ``stepWeight`` linear,
    ``split`` abTest); the others are ignored.
    """

    strategy: Strategy = Field(
        default=Strategy.CANARY,
        description="canary: fixed steps; linear: +stepWeight % per interval; blueGreen: "
        "new fleet, all traffic at once after one bake; allAtOnce: switch without bake; "
        "abTest: hold split % until promoted; shadow: copy traffic to the new model, "
        "serve from the old. Default canary.",
    )
    steps: list[Percent] = Field(
        default_factory=lambda: [10, 50],
        min_length=1,
        description="canary: % of traffic on the new model per step, strictly increasing "
        "within 1-99; 100 follows. Default [10, 50].",
        examples=[[10, 25, 50]],
        json_schema_extra={"default": [10, 50]},
    )
    step_weight: Annotated[int, Strict(), Field(ge=1, le=100)] = Field(
        default=10, description="linear: % added per interval up to 100. Default 10."
    )
    split: Percent = Field(
        default=20, description="abTest: % held on the challenger until promoted. Default 20."
    )
    interval: str = Field(
        default="5m",
        description="Bake time per step: a whole number of seconds, minutes or hours "
        "(30s, 5m, 1h), between 1s and 24h. Default 5m.",
        examples=["30s", "5m", "1h"],
        json_schema_extra=_schema_pattern(DURATION),
    )
    max_failed_checks: Annotated[int, Strict(), Field(ge=1, le=100)] = Field(
        default=1,
        description="Failed checks in one rollout that trigger the rollback; below it a failed "
        "check holds the step's weight for another interval (never more traffic). Default 1.",
    )
    analysis: AnalysisSpec = Field(
        default_factory=AnalysisSpec,
        description="The checks that decide between the next step and a rollback, or `none` "
        "to say on purpose that there are none.",
        json_schema_extra=_analysis_schema,
    )
    validation: ValidationSpec | None = Field(
        default=None,
        description="Golden requests sent to the candidate alone before any traffic shifts; "
        "below minScore the rollout fails before a single user request reaches it.",
    )
    shadow: ShadowSpec = Field(
        default_factory=ShadowSpec,
        description="shadow: the candidate as a shadow variant receiving a copy of traffic.",
    )
    approval_timeout: str = Field(
        default="24h",
        description="modelPackageArn only: how long a PendingManualApproval package may keep "
        "the rollout waiting before it fails. Default 24h.",
        examples=["24h", "30m"],
    )

    @field_validator("interval", mode="before")
    @classmethod
    def _interval_type(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"interval needs a unit: {value}s, or minutes (5m), hours (1h)")
        return value

    @field_validator("approval_timeout")
    @classmethod
    def _approval_timeout(cls, value: str) -> str:
        if not 1 <= parse_duration(value) <= 30 * 86400:
            raise ValueError("approvalTimeout must be between 1s and 720h")
        return value

    @property
    def approval_timeout_seconds(self) -> int:
        return parse_duration(self.approval_timeout)

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        seconds = parse_duration(value)
        if not 1 <= seconds <= MAX_INTERVAL_SECONDS:
            raise ValueError("interval must be between 1s and 24h")
        return value

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: list[int]) -> list[int]:
        for before, after in pairwise(value):
            if after <= before:
                raise ValueError(f"steps must be strictly increasing ({after} follows {before})")
        return value

    @property
    def interval_seconds(self) -> int:
        return parse_duration(self.interval)

    @field_validator("analysis", mode="before")
    @classmethod
    def _analysis(cls, value: object) -> object:
        if value == NO_ANALYSIS:
            return _ACKNOWLEDGED_NONE
        if isinstance(value, str):
            raise ValueError(f"analysis is a mapping of checks, or the word {NO_ANALYSIS}")
        return value

    @field_serializer("analysis", mode="wrap")
    def _dump_analysis(self, value: AnalysisSpec, handler: SerializerFunctionWrapHandler) -> object:
        return NO_ANALYSIS if value.acknowledged_none else handler(value)

    @property
    def shifts_user_traffic(self) -> bool:
        """Users are served by the new model at some point (all but a shadow that stops)."""
        return self.strategy != Strategy.SHADOW or self.shadow.then == "canary"

    @property
    def checks(self) -> list[str]:
        """The checks that can stop this rollout, in words (empty: none can)."""
        if self.strategy == Strategy.ALL_AT_ONCE:
            return []
        found = [f"alarm {name}" for name in self.analysis.alarms]
        found += [
            f"{m.metric} {m.statistic} > {m.max:g} per {m.period}s" for m in self.analysis.metrics
        ]
        traffic = self.analysis.floor
        if isinstance(traffic, TrafficSpec) and self.strategy != Strategy.BLUE_GREEN:
            found.append(traffic.requirement())
        if self.analysis.compare is not None:
            labels = ", ".join(m.label for m in self.analysis.compare.metrics)
            found.append(f"comparison with stable on {labels}")
        if self.validation is not None:
            found.append(f"golden requests (minScore {self.validation.min_score:g})")
        return found

    def checks_text(self) -> str:
        """``plan`` and ``status``: the checks in words, or that there are none."""
        found = self.checks
        if found:
            return "; ".join(found)
        if not self.shifts_user_traffic:
            return "no checks (the shadow serves no user)"
        said = f" (analysis: {NO_ANALYSIS})" if self.analysis.acknowledged_none else ""
        return f"no checks: nothing can stop a bad model{said}"

    def step_count(self) -> int:
        """Traffic steps the strategy walks (rollout/strategies.py has their weights)."""
        if self.strategy == Strategy.CANARY:
            return len(self.steps)
        if self.strategy == Strategy.LINEAR:
            return len(range(self.step_weight, 100, self.step_weight))
        if self.strategy == Strategy.SHADOW and self.shadow.then == "canary":
            return 1 + len(self.steps)
        return 1

    def worst_case_ticks(self, *, approval: bool) -> int:
        """Ticks one execution may need: approval polls (``approval``: a model package; they
        back off to 1/1000 of the timeout), per step the weight change waited on, the bake and
        every extension, a bake held by each failed check below ``maxFailedChecks`` (counted
        per rollout), and the updates."""
        floor = self.analysis.floor
        extensions = floor.max_extensions if floor is not None else 0
        polls = APPROVAL_TICKS if approval else 0
        held = self.max_failed_checks - 1
        return polls + self.step_count() * (TICKS_PER_STEP + extensions) + held + TICKS_FIXED


VARIANT_TIMEOUTS: Final = ("startupHealthCheckTimeout", "modelDataDownloadTimeout")
"""Declared under ``model`` but settings of the production variant, not of CreateModel."""
SERVERLESS_STRATEGIES: Final = frozenset({Strategy.ALL_AT_ONCE, Strategy.BLUE_GREEN})
"""What a serverless endpoint can roll out with: SageMaker refuses a second production variant
and shadow variants on a serverless endpoint (docs/declarations.md, "Serverless"), so
blueGreen there swaps the variant in one update, bakes it alone and swaps back on a failure."""


def _serverless_rollout(rollout: RolloutSpec) -> None:
    """What a serverless endpoint cannot do: watch instance metrics, host two variants."""
    instance_metrics = [
        m.label
        for m in [*rollout.analysis.metrics]
        if m.resolved_namespace == catalogue.ENDPOINT_INSTANCES
    ]
    if instance_metrics:
        raise ValueError(
            f"analysis.metrics: {', '.join(instance_metrics)}: a serverless endpoint publishes "
            f"no instance metrics ({catalogue.ENDPOINT_INSTANCES}), so this check could never "
            "see data; watch AWS/SageMaker metrics (ModelLatency, Invocation5XXErrors, ...)"
        )
    if rollout.strategy not in SERVERLESS_STRATEGIES:
        raise ValueError(
            f"strategy {rollout.strategy}: SageMaker allows one production variant and no "
            "shadow variant on a serverless endpoint (its serverless feature exclusions), so "
            "traffic cannot be split between two models: use blueGreen (the new model replaces "
            "the old one, bakes with the checks, and is swapped back on a failure) or allAtOnce"
        )
    alongside = [
        name
        for name, declared in (
            ("analysis.compare", rollout.analysis.compare is not None),
            ("validation", rollout.validation is not None),
            ("gates: [beforeFirstStep]", "beforeFirstStep" in rollout.gates),
        )
        if declared
    ]
    if alongside:
        raise ValueError(
            f"{', '.join(alongside)}: on a serverless endpoint the new model serves all traffic "
            "as soon as it is live (one production variant), so there is no stable variant to "
            "compare with and no moment before traffic; use analysis.alarms/metrics"
        )


# EndpointSpec's instances-only fields, each refused beside serverless with the reason why.
_NO_INSTANCES = (
    "a serverless endpoint has no instances, so no {} to set: drop it, or declare instanceType "
    "instead of serverless"
)
_NOT_SERVERLESS: Final[dict[str, str]] = {
    "instance_count": "a serverless endpoint has no instances: its capacity is "
    "serverless.maxConcurrency",
    "autoscaling": "autoscaling scales instances, and a serverless endpoint has none (SageMaker "
    "scales its concurrency up to maxConcurrency by itself)",
    "volume_size_gb": _NO_INSTANCES.format("storage volume"),
    "routing": _NO_INSTANCES.format("routing"),
    "data_capture": "SageMaker does not capture data on a serverless endpoint (its serverless "
    "feature exclusions): drop dataCapture, or declare instanceType instead",
}


class EndpointSpec(_Model):
    """What to serve, on what, and how to roll it out."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["instanceType"], "not": {"required": ["serverless"]}},
                {"required": ["serverless"], "not": {"required": ["instanceType"]}},
            ]
        }
    )

    model: ModelSpec
    # Before instanceType/instanceCount and the fields it excludes, so that their validators
    # see it and point at the line of the field that conflicts.
    serverless: ServerlessSpec | None = Field(
        default=None,
        description="Serverless inference instead of instanceType/instanceCount: {memorySizeMB, "
        "maxConcurrency, provisionedConcurrency} (ProductionVariant ServerlessConfig). "
        "SageMaker allows one production variant and no VPC, data capture or shadow on a "
        "serverless endpoint, so it rolls out blueGreen (swap, bake alone, swap back on a "
        "failure) or allAtOnce, and instance metrics cannot be checked "
        "(it publishes none).",
    )
    instance_type: str | None = Field(
        default=None,
        max_length=64,
        description="ml.* instance type of every variant: one SageMaker hosts "
        "(botocore's ProductionVariantInstanceType). Required unless `serverless`.",
        examples=["ml.m5.large", "ml.g5.xlarge"],
        json_schema_extra=_instance_types,
    )
    instance_count: Annotated[int, Strict(), Field(ge=1, le=100)] = Field(
        default=1,
        description="Instances per variant (1-100). Default 1. Not with serverless. With "
        "`autoscaling`: the count a new variant starts with, within minInstances..maxInstances.",
    )
    autoscaling: AutoscalingSpec | None = Field(
        default=None,
        description="Application Auto Scaling for the serving variant (a scalable target and a "
        "target-tracking policy), kept through every rollout. Not with serverless. See "
        "docs/declarations.md.",
    )
    volume_size_gb: VolumeGB | None = Field(
        default=None,
        alias="volumeSizeGB",
        title="volumeSizeGB",
        description=f"Storage volume of each instance, {VOLUME.min}-{VOLUME.max} GB "
        "(ProductionVariant VolumeSizeInGB) for EBS-backed instance types: types with local "
        "NVMe storage (ml.g5, ml.g4dn, ml.p4d...) use it instead. Default: SageMaker's.",
        examples=[100],
    )
    routing: Routing | None = Field(
        default=None,
        description="How the endpoint picks an instance for a request: random or "
        "leastOutstandingRequests (ProductionVariant RoutingConfig). Default: SageMaker's "
        "(random).",
    )
    data_capture: DataCaptureSpec | None = Field(
        default=None,
        description="Record requests and responses to S3 for Model Monitor and audits "
        "(EndpointConfig DataCaptureConfig): {destination, samplingPercentage, capture}. "
        "Both variants of a rollout capture, each under its own variant name.",
    )
    kms_key_id: str | None = Field(
        default=None,
        description="KMS key that encrypts the instances' storage volumes (EndpointConfig "
        "KmsKeyId): key id, key ARN, alias/<name> or alias ARN.",
        examples=["arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
    )
    rollout: RolloutSpec = Field(default_factory=RolloutSpec, validate_default=True)

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A serverless spec has no instance count: its dump (stored with a rollout and read
        back) must not declare the default one."""
        out: dict[str, Any] = handler(self)
        if self.serverless is not None:
            out.pop("instanceCount", None)
            out.pop("instance_count", None)
        return out

    @field_validator("serverless")
    @classmethod
    def _serverless(
        cls, value: ServerlessSpec | None, info: ValidationInfo
    ) -> ServerlessSpec | None:
        model = info.data.get("model")
        if value is not None and model is not None and model.vpc is not None:
            raise ValueError(
                "a serverless endpoint cannot run in a VPC (SageMaker's serverless feature "
                "exclusions): drop model.vpc, or declare instanceType instead"
            )
        return value

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if info.data.get("serverless") is not None:
            raise ValueError("declare instanceType or serverless, not both")
        if value not in aws_shapes.instance_types():
            raise ValueError(
                f"instanceType {value!r} is not an instance type SageMaker hosts "
                "(like ml.m5.large or ml.g5.xlarge)"
            )
        return value

    @field_validator("instance_type")
    @classmethod
    def _accelerator(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A framework image built for GPUs or Neuron needs that instance, and its shard
        count must fit the instance."""
        model = info.data.get("model")
        if value is None or model is None or model.framework is None or _trusted(info):
            return value
        framework = model.framework
        name, processor = framework.name, framework.processor
        images.check_instance(name, framework.version, processor, value)
        images.check_parallelism(name, processor, model.environment, value)
        return value

    @field_validator("serverless")
    @classmethod
    def _serverless_cpu(
        cls, value: ServerlessSpec | None, info: ValidationInfo
    ) -> ServerlessSpec | None:
        model = info.data.get("model")
        framework = model.framework if model is not None else None
        if value is not None and framework is not None and framework.processor != "cpu":
            raise ValueError(
                f"serverless inference has no GPU or Neuron device, and {framework.name} "
                f"{framework.version} is a {framework.processor} image: declare instanceType"
            )
        return value

    @field_validator(*_NOT_SERVERLESS)
    @classmethod
    def _instances_only(cls, value: object, info: ValidationInfo) -> object:
        # runs only when declared (no validate_default): instanceCount's default is no conflict
        if value is not None and info.data.get("serverless") is not None:
            raise ValueError(_NOT_SERVERLESS[str(info.field_name)])
        return value

    @field_validator("kms_key_id")
    @classmethod
    def _kms(cls, value: str | None) -> str | None:
        return None if value is None else production.check_kms_key(value, "kmsKeyId")

    @field_validator("rollout")
    @classmethod
    def _checked(cls, value: RolloutSpec, info: ValidationInfo) -> RolloutSpec:
        if _trusted(info):
            return value
        if info.data.get("serverless") is not None:
            _serverless_rollout(value)
        inert = value.strategy == Strategy.ALL_AT_ONCE and (
            value.analysis.any_check or value.validation is not None
        )
        if inert:
            raise ValueError(
                "allAtOnce switches all traffic in one update and consults no check, so "
                "analysis and validation would do nothing: use blueGreen to bake with "
                f"checks, or drop them and write analysis: {NO_ANALYSIS}"
            )
        if not value.shifts_user_traffic or value.checks:
            return value
        policy = _checks_policy(info)
        if policy == ChecksPolicy.REQUIRED:
            instead = (
                "use blueGreen, which bakes with checks"
                if value.strategy == Strategy.ALL_AT_ONCE
                else "declare analysis.alarms, analysis.metrics, analysis.compare or validation"
            )
            raise ValueError(
                f"{value.strategy} shifts user traffic with no check, and this repository "
                f"requires one (checks: required; analysis: {NO_ANALYSIS} is not enough): "
                f"{instead}"
            )
        if policy == ChecksPolicy.ACKNOWLEDGED and not value.analysis.acknowledged_none:
            raise ValueError(
                f"{value.strategy} shifts user traffic but declares no check (analysis.alarms, "
                "analysis.metrics, analysis.compare or validation), so nothing could stop a "
                f"bad model: declare one, or write analysis: {NO_ANALYSIS} to accept that"
            )
        return value

    @model_validator(mode="after")
    def _capacity(self) -> EndpointSpec:
        if self.instance_type is None and self.serverless is None:
            raise ValueError(
                "declare instanceType (with instanceCount) or serverless: the endpoint needs "
                "capacity"
            )
        return self

    @field_validator("autoscaling")
    @classmethod
    def _scaled_count(
        cls, value: AutoscalingSpec | None, info: ValidationInfo
    ) -> AutoscalingSpec | None:
        count = info.data.get("instance_count")
        if value is None or count is None:
            return value
        if not value.min_instances <= count <= value.max_instances:
            raise ValueError(
                f"instanceCount {count} is outside {value.min_instances}..{value.max_instances}"
                " (minInstances..maxInstances): a new variant starts with instanceCount"
            )
        return value

    @model_validator(mode="after")
    def _history(self) -> EndpointSpec:
        rollout = self.rollout
        ticks = rollout.worst_case_ticks(approval=self.model.model_package_arn is not None)
        if ticks > TICK_BUDGET:
            raise ValueError(
                f"rollout may need {ticks} ticks ({rollout.step_count()} steps × "
                f"({TICKS_PER_STEP} + maxExtensions), plus approval polls and "
                "maxFailedChecks - 1 held steps): one Step Functions "
                f"execution holds 25,000 events, about {TICK_BUDGET} ticks. Use fewer steps "
                "(steps, stepWeight) or fewer maxExtensions (analysis.compare or analysis.traffic)"
            )
        return self

    def variant_settings(self) -> dict[str, Any]:
        """The declared fields of ``production.VARIANT_MEMBERS``, as ``ProductionVariant``
        takes them."""
        out: dict[str, Any] = {}
        if self.serverless is not None:
            out["ServerlessConfig"] = production.serverless_config(self.serverless)
        if self.volume_size_gb is not None:
            out["VolumeSizeInGB"] = self.volume_size_gb
        download = production.seconds(self.model.model_data_download_timeout)
        if download is not None:
            out["ModelDataDownloadTimeoutInSeconds"] = download
        startup = production.seconds(self.model.startup_health_check_timeout)
        if startup is not None:
            out["ContainerStartupHealthCheckTimeoutInSeconds"] = startup
        if self.routing is not None:
            out["RoutingConfig"] = production.routing_config(self.routing)
        return out

    def config_settings(self) -> dict[str, Any]:
        """The declared fields of ``production.CONFIG_MEMBERS``, as ``CreateEndpointConfig``
        takes them."""
        out: dict[str, Any] = {}
        if self.data_capture is not None:
            out["DataCaptureConfig"] = production.data_capture_config(self.data_capture)
        if self.kms_key_id is not None:
            out["KmsKeyId"] = self.kms_key_id
        return out


class Declaration(_Model):
    """One SageMaker endpoint, declared in Git (apiVersion smgitops/v1, kind Endpoint)."""

    model_config = ConfigDict(
        title="smgitops endpoint declaration (smgitops/v1)",
        json_schema_extra={
            "examples": [
                {
                    "apiVersion": "smgitops/v1",
                    "kind": "Endpoint",
                    "metadata": {"name": "churn-predictor", "tags": {"team": "risk"}},
                    "spec": {
                        "model": {
                            "image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/"
                            "sagemaker-xgboost:1.7-1",
                            "modelDataUrl": "s3://ml-models/churn/v42/model.tar.gz",
                            "executionRoleArn": "arn:aws:iam::123456789012:role/SageMakerExecution",
                        },
                        "instanceType": "ml.m5.large",
                        "instanceCount": 2,
                        "rollout": {"strategy": "canary", "steps": [10, 25, 50], "interval": "5m"},
                    },
                }
            ]
        },
    )

    api_version: Literal["smgitops/v1"] = Field(
        alias="apiVersion", description="Always smgitops/v1."
    )
    kind: Literal["Endpoint"] = Field(description="Always Endpoint.")
    metadata: Metadata
    spec: EndpointSpec

    @property
    def name(self) -> str:
        return self.metadata.name

    def deployable(self) -> dict[str, Any]:
        """The part whose change means a new model must be rolled out (a production field
        is in it only when declared, so older declarations keep their hash)."""
        spec = self.spec
        model = spec.model.model_dump(mode="json", by_alias=True, exclude_none=True)
        for key in VARIANT_TIMEOUTS:  # 10m and 600s are the same timeout
            if key in model:
                model[key] = parse_duration(model[key])
        out: dict[str, Any] = {"model": model}
        if spec.serverless is None:
            out |= {"instanceType": spec.instance_type, "instanceCount": spec.instance_count}
        out |= spec.model_dump(
            mode="json",
            by_alias=True,
            exclude_none=True,
            include={"serverless", "volume_size_gb", "routing", "data_capture", "kms_key_id"},
        )
        if spec.autoscaling is not None:  # 5m and 300s are the same cooldown
            scaling = spec.autoscaling.model_dump(mode="json", by_alias=True)
            for key in ("scaleInCooldown", "scaleOutCooldown"):
                scaling[key] = parse_duration(scaling[key])
            out["autoscaling"] = scaling
        return out

    def content_hash(self) -> str:
        """sha256 of the deployable part, stable across key order and whitespace."""
        canonical = json.dumps(self.deployable(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
