"""What a rollout checks besides its alarms and metric thresholds, as declared:

* ``rollout.validation``      golden requests sent to the candidate before it takes traffic
* ``rollout.analysis.compare`` the candidate judged against the stable variant per step
* ``rollout.shadow``          settings of ``strategy: shadow``
* ``rollout.gates`` / ``rollout.gateTimeout``  manual gates (:class:`GateSpec`)

Same conventions as :mod:`smgitops.declaration.models` (:mod:`smgitops.declaration.base`).
This module imports nothing from ``models`` so that ``models`` can import it (one direction).
See docs/analysis.md for the user documentation of every field.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import Field, Strict, ValidationInfo, field_validator, model_validator

from smgitops.declaration import metrics as catalogue
from smgitops.declaration.base import (
    DURATION_SCHEMA,
    DeclarationModel,
    check_duration,
    parse_duration,
    refuse_repeated,
)

Statistic = str
"""A CloudWatch statistic smgitops reads: a standard one or a percentile p50…p99.9
(:func:`smgitops.declaration.metrics.is_statistic`)."""

Gate = Literal["beforeFirstStep", "beforePromotion"]
"""A manual gate: the rollout pauses there until ``smgitops promote`` or ``abort``."""

MAX_GOLDEN_PATTERNS = 20
MAX_TOLERANCE = 100.0


def _stored(info: ValidationInfo) -> bool:
    """Read back from storage (``models.TRUSTED``): rules added later must not strand it."""
    return isinstance(info.context, dict) and info.context.get("check_images") is False


def _relative_path(value: str, what: str) -> str:
    if not value or value.startswith("/") or "\\" in value:
        raise ValueError(f"{what} {value!r} must be a path relative to the repository root")
    if ".." in PurePosixPath(value).parts:
        raise ValueError(f"{what} {value!r} must stay inside the repository (no '..')")
    return value


# --- rollout.validation ---------------------------------------------------------------------


class ValidationSpec(DeclarationModel):
    """Golden requests sent to the candidate variant only, before any traffic shifts.

    Each matched file is one request with its expectation (format in docs/analysis.md):
    ``{"body": ..., "contentType"?: ..., "accept"?: ..., "expect": {...}}``. The score is
    passed / total; below ``minScore`` the rollout fails before a user request reaches the
    candidate.
    """

    requests: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        min_length=1,
        max_length=MAX_GOLDEN_PATTERNS,
        description="Glob patterns of golden request files (JSON), relative to the repository "
        "root: `*` and `?` stay within a folder, `**` spans folders. Read at the pushed commit. "
        "At most 20 patterns; a pattern that matches no file is an error.",
        examples=[["tests/churn/*.json"]],
    )
    min_score: Annotated[float, Strict(), Field(ge=0.0, le=1.0)] = Field(
        default=1.0,
        description="Fraction of golden requests that must pass (0-1). Default 1.0: all of them.",
    )
    content_type: str = Field(
        default="application/json",
        min_length=1,
        max_length=1024,
        description="Content type of the requests that do not set their own. "
        "Default application/json.",
        examples=["application/json", "text/csv"],
    )
    timeout: str = Field(
        default="30s",
        description="Time allowed to each request (1s-60s; SageMaker stops a model after 60s). "
        "A request that times out fails. Default 30s.",
        json_schema_extra=DURATION_SCHEMA,
    )

    @field_validator("requests")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            _relative_path(pattern, "request pattern")
        if len(set(value)) != len(value):
            raise ValueError("request patterns must be unique")
        return value

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: object) -> object:
        return check_duration(value, "timeout", 1, 60, "60s")

    @property
    def timeout_seconds(self) -> int:
        return parse_duration(self.timeout)


# --- rollout.analysis.compare ---------------------------------------------------------------


class CompareMetric(DeclarationModel):
    """One metric on which the candidate is judged against the stable variant."""

    metric: str = Field(
        min_length=1,
        max_length=255,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="SageMaker variant metric (AWS/SageMaker: ModelLatency, OverheadLatency, "
        "Invocation5XXErrors, Invocation4XXErrors, ...) or endpoint-instance metric "
        "(/aws/sagemaker/Endpoints: CPUUtilization, MemoryUtilization, ...).",
        examples=["ModelLatency", "Invocation5XXErrors"],
    )
    direction: Literal["higherIsWorse", "lowerIsWorse"] = Field(
        default="higherIsWorse",
        description="Which way is a regression: higherIsWorse (latency, errors) or "
        "lowerIsWorse (e.g. a conversion metric). Default higherIsWorse.",
    )
    per_invocation: bool = Field(
        default=False,
        description="Divide each period's Sum by that period's Invocations (errors per "
        "invocation) so that a variant with more traffic is not judged worse for it. "
        "Requires statistic Sum (the default when true). Default false.",
    )
    statistic: Statistic | None = Field(
        default=None,
        max_length=16,
        description="CloudWatch statistic of each sample (one sample per period): Average, "
        "Sum, Maximum, Minimum, SampleCount, or a percentile p50...p99.9 on timings (each "
        "period's p99 of each variant, compared). Default Average, or Sum with perInvocation.",
        examples=["Average", "p99"],
        json_schema_extra=catalogue.statistic_schema(),
    )
    tolerance: Annotated[float, Strict(), Field(ge=0.0, le=MAX_TOLERANCE)] = Field(
        default=0.1,
        description="Relative difference of means allowed before a significant difference "
        "fails the step: 0.1 = the candidate may be 10 % worse. Default 0.1.",
        examples=[0.1, 0.0],
    )
    alpha: Annotated[float, Strict(), Field(gt=0.0, le=0.5)] = Field(
        default=0.05,
        description="Significance level of the one-sided Mann-Whitney U test (0-0.5]. "
        "Default 0.05.",
    )

    @field_validator("metric")
    @classmethod
    def _published(cls, value: str, info: ValidationInfo) -> str:
        """A metric SageMaker does not publish gives no samples: refused, not inconclusive."""
        if not _stored(info):
            catalogue.check_metric(value, None)
        return value

    @field_validator("statistic")
    @classmethod
    def _statistic(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not _stored(info):
            catalogue.check_statistic("", "", value)  # the form; the metric is checked below
        return value

    @model_validator(mode="after")
    def _meaningful(self, info: ValidationInfo) -> CompareMetric:
        if not _stored(info) and self.metric in catalogue.CATALOGUE:
            catalogue.check_statistic(self.metric, catalogue.namespace_of(self.metric), self.stat)
        return self

    @model_validator(mode="after")
    def _per_invocation(self) -> CompareMetric:
        if self.per_invocation and self.statistic not in (None, "Sum"):
            raise ValueError(
                "perInvocation divides each period's Sum by its Invocations: "
                f"statistic must be Sum (got {self.statistic})"
            )
        if self.per_invocation and self.metric == "Invocations":
            raise ValueError("Invocations per invocation is always 1: drop perInvocation")
        return self

    @property
    def stat(self) -> Statistic:
        """The statistic actually requested from CloudWatch."""
        if self.statistic is not None:
            return self.statistic
        return "Sum" if self.per_invocation else "Average"

    @property
    def label(self) -> str:
        """``ModelLatency Average`` / ``Invocation5XXErrors per invocation``."""
        return (
            f"{self.metric} per invocation" if self.per_invocation else f"{self.metric} {self.stat}"
        )


class StepFloor(DeclarationModel):
    """Too little traffic to judge a step extends it, up to ``maxExtensions``, then the
    ``inconclusive`` policy decides: one mechanism for ``compare`` (both variants need
    ``minSamples``) and ``traffic`` (the candidate needs ``minInvocations``)."""

    max_extensions: Annotated[int, Strict(), Field(ge=0, le=100)] = Field(
        default=3,
        description="Extensions of a step with too little traffic (one interval each) before "
        "`inconclusive` applies. Default 3.",
    )
    inconclusive: Literal["fail", "pass"] = Field(
        default="fail",
        description="What a step still short of traffic after maxExtensions does: fail (roll "
        "back) or pass (go on, unobserved). Default fail.",
    )

    def too_few(self, candidate: float, stable: float) -> bool:
        """The step's invocations are too few to judge it."""
        raise NotImplementedError

    def shortfall(self, candidate: float, stable: float) -> str:
        """Why the traffic is too little, in words."""
        raise NotImplementedError


DEFAULT_MIN_INVOCATIONS = 10


class TrafficSpec(StepFloor):
    """A step whose checks are alarms passes only once the candidate has served traffic:
    an alarm on a variant nobody calls sees no data, and a generated alarm treats missing
    data as not breaching (docs/analysis.md, "When a step gets no traffic")."""

    min_invocations: Annotated[int, Strict(), Field(ge=1, le=1_000_000)] = Field(
        default=DEFAULT_MIN_INVOCATIONS,
        description="Invocations the candidate must have served during a step (CloudWatch "
        "Invocations of its variant) before its checks can pass it; fewer and the step is "
        f"extended by one interval. Default {DEFAULT_MIN_INVOCATIONS}.",
    )

    def requirement(self) -> str:
        """``plan`` and ``status``: what each step needs, in words."""
        then = "rolls back" if self.inconclusive == "fail" else "goes on unobserved"
        return (
            f"each step needs {self.min_invocations} candidate invocations (else extended up to "
            f"{self.max_extensions} times, then {then})"
        )

    def too_few(self, candidate: float, stable: float) -> bool:
        del stable  # the stable variant's traffic says nothing about the candidate's checks
        return candidate < self.min_invocations

    def shortfall(self, candidate: float, stable: float) -> str:
        return (
            f"too few invocations of the candidate ({candidate:g}, {stable:g} on stable; "
            f"minInvocations {self.min_invocations})"
        )


class CompareSpec(StepFloor):
    """Canary-vs-stable judgement at the end of each step (Kayenta's approach)."""

    metrics: list[CompareMetric] = Field(
        min_length=1,
        max_length=20,
        description="Metrics compared between the candidate and the stable variant.",
    )
    min_samples: Annotated[int, Strict(), Field(ge=1, le=1_000_000)] = Field(
        default=50,
        description="Invocations each variant must have served during the step before it is "
        "judged; fewer and the step is extended by one interval. Default 50.",
    )
    period: Annotated[int, Strict(), Field(ge=60, le=3600)] = Field(
        default=60,
        description="Seconds per sample (a multiple of 60: SageMaker publishes per minute). "
        "A step of 5m gives 4 or 5 whole periods per metric and variant; at the default alpha "
        "a step needs 4 to be judged (fewer extends it). Default 60.",
    )

    @field_validator("period")
    @classmethod
    def _period(cls, value: int) -> int:
        if value % 60:
            raise ValueError("period must be a multiple of 60 seconds")
        return value

    @field_validator("metrics")
    @classmethod
    def _unique(cls, value: list[CompareMetric]) -> list[CompareMetric]:
        refuse_repeated([m.label for m in value], "metric compared")
        return value

    def too_few(self, candidate: float, stable: float) -> bool:
        return min(candidate, stable) < self.min_samples

    def shortfall(self, candidate: float, stable: float) -> str:
        return (
            f"too few invocations ({candidate:g} candidate, {stable:g} stable; "
            f"minSamples {self.min_samples})"
        )


# --- rollout.shadow -------------------------------------------------------------------------


class ShadowSpec(DeclarationModel):
    """``strategy: shadow``: the candidate receives a copy of live traffic, answers no one."""

    sampling_percent: Annotated[int, Strict(), Field(ge=1, le=100)] = Field(
        default=100,
        description="% of requests copied to the shadow variant (1-100). Default 100.",
    )
    then: Literal["canary", "stop"] = Field(
        default="stop",
        description="After a shadow run that passed: stop (report only; the stable model "
        "stays) or canary (continue as a canary with the declared steps). Default stop.",
    )
    duration: str | None = Field(
        default=None,
        description="How long the shadow runs before it is judged (1s-24h). "
        "Default: the rollout's interval.",
        json_schema_extra=DURATION_SCHEMA,
    )

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        if value is None:
            return value
        return check_duration(value, "duration", 1, 86400, "24h")

    def duration_seconds(self, interval_seconds: int) -> int:
        return interval_seconds if self.duration is None else parse_duration(self.duration)


# --- rollout.gates / rollout.gateTimeout ----------------------------------------------------


class GateSpec(DeclarationModel):
    """``rollout.gates`` and ``rollout.gateTimeout``, as a base ``RolloutSpec`` inherits
    (``class RolloutSpec(GateSpec)``): the fields stay flat under ``rollout``."""

    gates: list[Gate] = Field(
        default_factory=list,
        max_length=2,
        description="Manual gates: beforeFirstStep (after validation, before any traffic) "
        "and/or beforePromotion (before 100 %). The rollout waits for `smgitops promote` "
        "or `abort`; past gateTimeout it rolls back. Default none.",
        examples=[["beforePromotion"]],
    )
    gate_timeout: str = Field(
        default="24h",
        description="How long a gate waits for a decision before rolling back (1m-168h). "
        "Default 24h.",
        json_schema_extra=DURATION_SCHEMA,
    )

    @field_validator("gates")
    @classmethod
    def _gates(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each gate may be listed once")
        return value

    @field_validator("gate_timeout", mode="before")
    @classmethod
    def _gate_timeout(cls, value: object) -> object:
        return check_duration(value, "gateTimeout", 60, 7 * 86400, "168h (7 days)")

    @property
    def gate_timeout_seconds(self) -> int:
        return parse_duration(self.gate_timeout)
