"""The metrics SageMaker publishes for an endpoint variant: what a check may watch.

A check on a metric SageMaker never publishes watches nothing: its alarm stays ``OK`` (with
``TreatMissingData: notBreaching``) and the canary walks to 100 %. So a metric name is checked
against this catalogue, per namespace, with the statistics that make sense for it, and an
unknown name is a validation error with the nearest known name. A metric of another namespace
(the model's own, published with ``EndpointName`` and ``VariantName`` dimensions) is accepted
only when the check names that namespace explicitly.

Source: AWS, "Amazon SageMaker AI metrics in Amazon CloudWatch"
(https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html): the endpoint
invocation metrics and multi-model endpoint metrics of ``AWS/SageMaker``, and the endpoint
instance metrics of ``/aws/sagemaker/Endpoints``, all with the dimensions ``EndpointName,
VariantName`` and published per minute. Statistics follow each metric's "Valid statistics";
percentiles are offered where the values are timings (CloudWatch extended statistics ``p50`` to
``p99.9``). Metrics published without a ``VariantName`` (asynchronous inference, inference
components) cannot be watched per variant and are not listed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Final, Literal

SAGEMAKER: Final = "AWS/SageMaker"
ENDPOINT_INSTANCES: Final = "/aws/sagemaker/Endpoints"
NAMESPACES: Final = (SAGEMAKER, ENDPOINT_INSTANCES)

Unit = Literal["None", "Microseconds", "Percent"]
STATISTICS: Final = ("Sum", "Average", "Maximum", "Minimum", "SampleCount")
"""CloudWatch's standard statistics."""
PERCENTILE: Final = re.compile(r"p(?P<value>(?:5\d|[6-9]\d)(?:\.\d)?)", re.ASCII)
"""``p50`` to ``p99.9``: the extended statistics a check may use (one decimal at most)."""
PERCENTILE_SCHEMA: Final = r"^p(5\d|[6-9]\d)(\.\d)?$"


def statistic_schema() -> dict[str, Any]:
    """JSON Schema of a check's ``statistic``: a standard statistic or a percentile."""
    return {"anyOf": [{"enum": list(STATISTICS)}, {"pattern": PERCENTILE_SCHEMA}]}


METRIC_NAME: Final = re.compile(r"[A-Za-z0-9_.\-/#:]{1,255}", re.ASCII)
"""A custom metric name: printable ASCII without spaces (CloudWatch allows more; we ask less)."""
CUSTOM_NAMESPACE: Final = re.compile(r"[A-Za-z0-9_.\-/#:]{1,255}", re.ASCII)

_COUNTS: Final = ("Sum", "Average")
_REQUESTS: Final = ("Sum", "SampleCount")
_TIMINGS: Final = ("Average", "Sum", "Minimum", "Maximum", "SampleCount")
_SETUP: Final = ("Average", "Minimum", "Maximum", "SampleCount")
_RATIO: Final = ("Average", "Sum", "SampleCount")
_UTILIZATION: Final = ("Average", "Minimum", "Maximum")
_US: Final = "Microseconds"


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """One published metric: where it lives, its unit and the statistics that make sense."""

    name: str
    namespace: str
    unit: Unit
    statistics: tuple[str, ...]
    percentiles: bool
    meaning: str

    def allows(self, statistic: str) -> bool:
        if statistic in self.statistics:
            return True
        return self.percentiles and is_percentile(statistic)

    def statistics_text(self) -> str:
        words = list(self.statistics) + (["p50…p99.9"] if self.percentiles else [])
        return ", ".join(words)


def _m(
    name: str, namespace: str, unit: Unit, statistics: tuple[str, ...], meaning: str
) -> MetricInfo:
    return MetricInfo(name, namespace, unit, statistics, unit == _US, meaning)


SM, EP = SAGEMAKER, ENDPOINT_INSTANCES
CATALOGUE: Final[dict[str, MetricInfo]] = {
    info.name: info
    for info in (
        # AWS/SageMaker: endpoint invocation metrics
        _m("Invocations", SM, "None", _REQUESTS, "requests sent to the variant"),
        _m("Invocation4XXErrors", SM, "None", _COUNTS, "4xx answers: 1 per 4xx, else 0"),
        _m("Invocation5XXErrors", SM, "None", _COUNTS, "5xx answers: 1 per 5xx, else 0"),
        _m("InvocationModelErrors", SM, "None", _COUNTS, "answers that were not a 2xx"),
        _m("InvocationsPerInstance", SM, "None", ("Sum",), "requests per instance"),
        _m("ModelLatency", SM, _US, _TIMINGS, "time the model took to answer"),
        _m("OverheadLatency", SM, _US, _TIMINGS, "time SageMaker added"),
        _m("ModelSetupTime", SM, _US, _SETUP, "serverless compute launch time"),
        # AWS/SageMaker: multi-model endpoint metrics
        _m("ModelLoadingWaitTime", SM, _US, _TIMINGS, "wait for a model load"),
        _m("ModelUnloadingTime", SM, _US, _TIMINGS, "time to unload a model"),
        _m("ModelDownloadingTime", SM, _US, _TIMINGS, "time to download a model"),
        _m("ModelLoadingTime", SM, _US, _TIMINGS, "time to load a model"),
        _m("ModelCacheHit", SM, "None", _RATIO, "requests whose model was loaded"),
        # /aws/sagemaker/Endpoints: endpoint instance metrics
        _m("CPUUtilization", EP, "Percent", _UTILIZATION, "CPU, 100 % a core"),
        _m("MemoryUtilization", EP, "Percent", _UTILIZATION, "memory used"),
        _m("DiskUtilization", EP, "Percent", _UTILIZATION, "disk used"),
        _m("GPUUtilization", EP, "Percent", _UTILIZATION, "GPU, 100 % a GPU"),
        _m("GPUMemoryUtilization", EP, "Percent", _UTILIZATION, "GPU memory used"),
        _m("LoadedModelCount", EP, "None", _TIMINGS, "models loaded (multi-model)"),
    )
}


def names(namespace: str | None = None) -> list[str]:
    """The catalogue's metric names, of one namespace or of both."""
    return [n for n, info in CATALOGUE.items() if namespace in (None, info.namespace)]


def is_percentile(statistic: str) -> bool:
    return PERCENTILE.fullmatch(statistic) is not None


def is_statistic(statistic: str) -> bool:
    """A standard statistic or a percentile p50…p99.9."""
    return statistic in STATISTICS or is_percentile(statistic)


def namespace_of(metric: str) -> str:
    """The namespace SageMaker publishes ``metric`` in (``AWS/SageMaker`` if unknown)."""
    info = CATALOGUE.get(metric)
    return info.namespace if info is not None else SAGEMAKER


def _suggestion(metric: str, candidates: list[str]) -> str:
    folded = {name.lower(): name for name in candidates}
    guess = folded.get(metric.lower())
    if guess is None:
        close = difflib.get_close_matches(metric, candidates, n=1, cutoff=0.6)
        guess = close[0] if close else None
    return f"; did you mean {guess!r}?" if guess else ""


def check_metric(metric: str, namespace: str | None) -> str:
    """The namespace of a checked metric, or ``ValueError`` saying why it watches nothing.

    ``namespace`` is what the check declares: ``None`` means a SageMaker metric of either
    namespace; a SageMaker namespace must hold the metric; any other namespace is custom and
    takes any well-formed name.
    """
    if namespace is None or namespace in NAMESPACES:
        info = CATALOGUE.get(metric)
        if info is not None and namespace in (None, info.namespace):
            return info.namespace
        if info is not None:
            raise ValueError(
                f"{metric} is published in {info.namespace}, not {namespace}: "
                "drop namespace or set it right"
            )
        where = f" in {namespace}" if namespace else ""
        raise ValueError(
            f"unknown metric {metric!r}: SageMaker publishes no such metric{where}, so the "
            f"check would never see data{_suggestion(metric, names(namespace))} "
            "(for a metric of your own, set namespace)"
        )
    if METRIC_NAME.fullmatch(metric) is None:
        raise ValueError(f"metric {metric!r} is not a CloudWatch metric name (no spaces)")
    return namespace


def check_namespace(namespace: str) -> None:
    """``ValueError`` unless a SageMaker namespace or a well-formed custom one."""
    if namespace in NAMESPACES:
        return
    if namespace.startswith("AWS/"):
        raise ValueError(
            f"namespace {namespace!r}: AWS/ namespaces belong to AWS services; SageMaker "
            f"endpoint metrics are in {' and '.join(NAMESPACES)}"
        )
    if CUSTOM_NAMESPACE.fullmatch(namespace) is None:
        raise ValueError(f"namespace {namespace!r} is not a CloudWatch namespace (no spaces)")


_ANY_PERCENTILE: Final = re.compile(r"p(?P<value>\d+(?:\.\d*)?)", re.ASCII | re.IGNORECASE)
_OTHER_EXTENDED: Final = re.compile(r"(tm|wm|tc|ts)\d|iqm|(pr|tm|wm|tc|ts)\(", re.IGNORECASE)


def _statistic_hint(statistic: str) -> str:
    """Why a statistic CloudWatch may know is not one a check takes, or the right spelling."""
    folded = {name.lower(): name for name in STATISTICS}
    if statistic.lower() in folded:
        return f"; statistics are case-sensitive: {folded[statistic.lower()]}"
    percentile = _ANY_PERCENTILE.fullmatch(statistic)
    if percentile is not None:
        if statistic[0] == "P" and is_percentile(statistic.lower()):
            return f"; statistics are case-sensitive: {statistic.lower()}"
        if float(percentile["value"]) == 100:
            return "; p100 is the Maximum: write Maximum"
        return (
            " (CloudWatch takes p0 to p100 with two decimals; a check takes p50 to p99.9 with "
            "one: below p50 says nothing of the tail, and beyond p99.9 a one-minute period "
            "needs over 1,000 requests per variant or the percentile is just the maximum)"
        )
    if _OTHER_EXTENDED.match(statistic):
        return (
            " (trimmed and winsorized means, trimmed counts and sums, IQM and percentile ranks "
            "are CloudWatch extended statistics a check does not offer)"
        )
    return ""


def check_statistic(metric: str, namespace: str, statistic: str) -> None:
    """``ValueError`` when the statistic says nothing useful about the metric."""
    if not is_statistic(statistic):
        raise ValueError(
            f"statistic {statistic!r} is not one of {', '.join(STATISTICS)} or a percentile "
            f"p50…p99.9{_statistic_hint(statistic)}"
        )
    info = CATALOGUE.get(metric)
    if info is None or info.namespace != namespace or info.allows(statistic):
        return
    raise ValueError(
        f"statistic {statistic} says nothing useful about {metric} ({info.meaning}); "
        f"use {info.statistics_text()}"
    )


def markdown_rows() -> list[str]:
    """The catalogue as rows of the table in docs/declarations.md (a test keeps them equal)."""
    return [
        f"| `{i.name}` | `{i.namespace}` | {i.unit} | {i.statistics_text()} | {i.meaning} |"
        for i in CATALOGUE.values()
    ]
