"""Declaration fields beyond alarms (issue 7), and the freeze windows of the app config.

* ``rollout.validation``      golden requests sent to the candidate before it takes traffic
* ``rollout.analysis.compare`` the candidate judged against the stable variant per step
* ``rollout.shadow``          settings of ``strategy: shadow``
* ``rollout.gates`` / ``rollout.gateTimeout``  manual gates (:class:`GateSpec`)
* ``.smgitops.yaml``          :class:`FreezeWindow` (``freeze:``), for
  :class:`smgitops.reconcile.appconfig.AppConfig`, which owns that file

Same conventions as :mod:`smgitops.declaration.models` (frozen, ``extra="forbid"``, camelCase
aliases, strict numbers, ``ValueError`` messages that read well after ``file:line: field:``).
This module imports nothing from ``models`` so that ``models`` can import it (one direction).
See docs/analysis.md for the user documentation of every field.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from smgitops.declaration import metrics as catalogue

if TYPE_CHECKING:
    from pydantic.config import JsonDict

# --- shared pieces ------------------------------------------------------------------------------

_DURATION = re.compile(r"(?P<value>\d+)(?P<unit>s|m|h)", re.ASCII)
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}
DURATION_SCHEMA: JsonDict = {"pattern": r"^\d+(s|m|h)$"}
CLOCK = re.compile(r"(?P<hour>[01]\d|2[0-3]):(?P<minute>[0-5]\d)", re.ASCII)
CLOCK_SCHEMA: JsonDict = {"pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}

Statistic = Literal["Average", "Sum", "Maximum", "Minimum", "SampleCount"]
"""CloudWatch statistics smgitops reads. Percentiles are left out on purpose (see docs)."""

Gate = Literal["beforeFirstStep", "beforePromotion"]
"""A manual gate: the rollout pauses there until ``smgitops promote`` or ``abort``."""

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

MAX_GOLDEN_PATTERNS = 20
MAX_TOLERANCE = 100.0


class ExtensionModel(BaseModel):
    """The model config of every declaration model (same as ``declaration.models._Model``)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=False,
        field_title_generator=lambda name, _info: to_camel(name),
    )


def duration_seconds(value: str | int) -> int:
    """``30s`` / ``5m`` / ``1h`` (or a number of seconds) to seconds."""
    if isinstance(value, int):
        return value
    match = _DURATION.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a duration like 30s, 5m or 1h")
    return int(match["value"]) * _DURATION_UNITS[match["unit"]]


def _check_duration(value: object, field: str, low: int, high: int, high_text: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"{field} needs a unit: {value}s, or minutes (5m), hours (1h)")
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a duration like 30s, 5m or 1h")
    seconds = duration_seconds(value)
    if not low <= seconds <= high:
        raise ValueError(f"{field} must be between {low}s and {high_text}")
    return value


def refuse_repeated(labels: list[str], what: str, hint: str = "") -> None:
    """``ValueError`` naming what is listed more than once (``what twice: a, b``)."""
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise ValueError(f"{what} twice: {', '.join(twice)}{hint}")


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


class ValidationSpec(ExtensionModel):
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
        return _check_duration(value, "timeout", 1, 60, "60s")

    @property
    def timeout_seconds(self) -> int:
        return duration_seconds(self.timeout)


# --- rollout.analysis.compare ---------------------------------------------------------------


class CompareMetric(ExtensionModel):
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
        description="CloudWatch statistic of each sample (one sample per period). "
        "Default Average, or Sum with perInvocation.",
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


class CompareSpec(ExtensionModel):
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
    max_extensions: Annotated[int, Strict(), Field(ge=0, le=100)] = Field(
        default=3,
        description="Extensions of a step with too few samples before `inconclusive` "
        "applies. Default 3.",
    )
    inconclusive: Literal["fail", "pass"] = Field(
        default="fail",
        description="What a step still inconclusive after maxExtensions does: fail (roll back) "
        "or pass (go on). Default fail.",
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


# --- rollout.shadow -------------------------------------------------------------------------


class ShadowSpec(ExtensionModel):
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
        return _check_duration(value, "duration", 1, 86400, "24h")

    def duration_seconds(self, interval_seconds: int) -> int:
        return interval_seconds if self.duration is None else duration_seconds(self.duration)


# --- rollout.gates / rollout.gateTimeout ----------------------------------------------------


class GateSpec(ExtensionModel):
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
        return _check_duration(value, "gateTimeout", 60, 7 * 86400, "168h (7 days)")

    @property
    def gate_timeout_seconds(self) -> int:
        return duration_seconds(self.gate_timeout)


# --- .smgitops.yaml -------------------------------------------------------------------------


def parse_clock(value: str) -> time:
    match = CLOCK.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a time of day HH:MM (00:00-23:59)")
    return time(int(match["hour"]), int(match["minute"]))


class FreezeWindow(ExtensionModel):
    """A recurring time when rollouts wait (validated and planned, not applied)."""

    timezone: str = Field(
        default="UTC",
        min_length=1,
        max_length=64,
        description="IANA time zone of start and end, e.g. Europe/Paris; daylight saving "
        "time is applied. Default UTC.",
        examples=["Europe/Paris", "America/New_York"],
    )
    days: list[Weekday] = Field(
        default_factory=lambda: list(WEEKDAYS),
        min_length=1,
        max_length=7,
        description="Days on which the window starts (mon..sun). Default every day.",
        examples=[["fri"], ["sat", "sun"]],
        json_schema_extra={"default": list(WEEKDAYS)},
    )
    start: str = Field(
        description="Local time the freeze starts, HH:MM (24h).",
        examples=["18:00"],
        json_schema_extra=CLOCK_SCHEMA,
    )
    end: str = Field(
        description="Local time the freeze ends, HH:MM. Not after start means the next day "
        "(an overnight window); equal to start means 24 hours.",
        examples=["08:00"],
        json_schema_extra=CLOCK_SCHEMA,
    )
    reason: str = Field(
        default="",
        max_length=256,
        description="Shown with the waiting rollouts (e.g. 'weekend freeze').",
    )

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name like Europe/Paris)"
            ) from exc
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each day may be listed once")
        return value

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock(value)
        return value

    @property
    def start_time(self) -> time:
        return parse_clock(self.start)

    @property
    def end_time(self) -> time:
        return parse_clock(self.end)

    @property
    def overnight(self) -> bool:
        return self.end_time <= self.start_time

    def describe(self) -> str:
        days = ",".join(self.days) if len(self.days) < 7 else "daily"
        label = f"{days} {self.start}-{self.end} {self.timezone}"
        return f"{self.reason} ({label})" if self.reason else label
