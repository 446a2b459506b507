"""Traffic simulator: InvokeEndpoint on the emulator, with SageMaker's per-variant metrics.

Each request goes to a production variant picked by the endpoint's current weights (or to
``TargetVariant`` when given); every shadow variant receives a copy with probability
``shadow weight / total production weight`` (capped at 1) without affecting the response.
Per request and variant it records, in moto's CloudWatch backend, namespace ``AWS/SageMaker``,
dimensions ``EndpointName`` + ``VariantName``: ``Invocations`` (1), ``Invocation5XXErrors`` and
``Invocation4XXErrors`` (1 or 0), ``ModelLatency`` and ``OverheadLatency`` (microseconds) and
``InvocationsPerInstance``. Putting them evaluates the alarms on those metrics, so an alarm
fires from simulated traffic the way it would from real traffic.

What a model does comes from its container environment (emulator knobs, ignored by SageMaker):

- ``SMGITOPS_SIM_ERROR_RATE``: probability (0..1) that a request fails with a 5xx from the model;
  the caller gets SageMaker's ``ModelError`` (HTTP 424, ``OriginalStatusCode`` 500);
- ``SMGITOPS_SIM_CLIENT_ERROR_RATE``: probability of a 4xx from the model (``ModelError`` too);
- ``SMGITOPS_SIM_LATENCY_MS``: mean model latency (gamma distributed; recorded, not slept);
- ``SMGITOPS_SIM_TAIL_PERCENT`` and ``SMGITOPS_SIM_TAIL_LATENCY_MS``: that share (0..100) of the
  requests takes the tail latency instead (same distribution, that mean): a model whose tail
  regresses while its average holds, when ``LATENCY_MS`` is lowered to keep the mean;
- ``SMGITOPS_SIM_RESPONSE`` / ``SMGITOPS_SIM_CONTENT_TYPE``: the body returned (default: JSON
  with the variant, the model and the request body);
- ``SMGITOPS_SIM_CPU_PERCENT``, ``_MEMORY_PERCENT``, ``_DISK_PERCENT``, ``_GPU_PERCENT``: the
  instance's utilisation while it serves, put as ``CPUUtilization``, ``MemoryUtilization``,
  ``DiskUtilization`` and ``GPUUtilization`` (namespace ``/aws/sagemaker/Endpoints``, same
  dimensions) for each variant that served requests; unset, that metric is not put.

Random choices come from one generator: :func:`set_seed` makes a run reproducible.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.exceptions import ServiceException
from moto.core.models import DEFAULT_ACCOUNT_ID

from smgitops import clock
from smgitops.local.emulator import capture
from smgitops.local.emulator.sagemaker import lifecycle

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger(__name__)

NAMESPACE = "AWS/SageMaker"
ERROR_RATE = "SMGITOPS_SIM_ERROR_RATE"
CLIENT_ERROR_RATE = "SMGITOPS_SIM_CLIENT_ERROR_RATE"
LATENCY_MS = "SMGITOPS_SIM_LATENCY_MS"
TAIL_PERCENT = "SMGITOPS_SIM_TAIL_PERCENT"
TAIL_LATENCY_MS = "SMGITOPS_SIM_TAIL_LATENCY_MS"
STALL_MS = "SMGITOPS_SIM_STALL_MS"  # a model that answers InvokeEndpoint this late, for real
MAX_STALL_MS = 120_000.0
RESPONSE = "SMGITOPS_SIM_RESPONSE"
CONTENT_TYPE = "SMGITOPS_SIM_CONTENT_TYPE"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
INSTANCE_METRICS = {
    "SMGITOPS_SIM_CPU_PERCENT": "CPUUtilization",
    "SMGITOPS_SIM_MEMORY_PERCENT": "MemoryUtilization",
    "SMGITOPS_SIM_DISK_PERCENT": "DiskUtilization",
    "SMGITOPS_SIM_GPU_PERCENT": "GPUUtilization",
}
DEFAULT_LATENCY_MS = 20.0

_RNG = random.Random()  # noqa: S311 - simulation, not security  # nosec B311
_RNG_LOCK = threading.Lock()


def set_seed(seed: int | None) -> None:
    """Make the simulator's choices reproducible (None: seed from the OS)."""
    with _RNG_LOCK:
        _RNG.seed(seed)


class EndpointUnavailableError(Exception):
    """The endpoint does not exist or is not serving (SageMaker's ValidationError)."""


@dataclass(frozen=True)
class Behaviour:
    """How a simulated model answers, read from its container environment."""

    error_rate: float = 0.0
    client_error_rate: float = 0.0
    latency_ms: float = DEFAULT_LATENCY_MS
    tail_rate: float = 0.0  # share of requests (0..1) that take tail_latency_ms instead
    tail_latency_ms: float = 0.0
    response: str | None = None
    content_type: str | None = None
    instance: tuple[tuple[str, float], ...] = ()  # (metric, percent) the instance reports
    stall_ms: float = 0.0

    @classmethod
    def from_environment(cls, environment: dict[str, str]) -> Behaviour:
        return cls(
            error_rate=_rate(environment, ERROR_RATE, 0.0),
            client_error_rate=_rate(environment, CLIENT_ERROR_RATE, 0.0),
            latency_ms=max(0.0, _number(environment, LATENCY_MS, DEFAULT_LATENCY_MS)),
            tail_rate=min(100.0, max(0.0, _number(environment, TAIL_PERCENT, 0.0))) / 100.0,
            tail_latency_ms=max(0.0, _number(environment, TAIL_LATENCY_MS, 0.0)),
            response=environment.get(RESPONSE),
            content_type=environment.get(CONTENT_TYPE),
            stall_ms=min(MAX_STALL_MS, max(0.0, _number(environment, STALL_MS, 0.0))),
            instance=tuple(
                (metric, max(0.0, _number(environment, knob, 0.0)))
                for knob, metric in INSTANCE_METRICS.items()
                if environment.get(knob, "") != ""
            ),
        )


def _number(environment: dict[str, str], name: str, default: float) -> float:
    raw = environment.get(name, "")
    if raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        logger.warning("emulator: %s=%r is not a number; using %s", name, raw, default)
        return default


def _rate(environment: dict[str, str], name: str, default: float) -> float:
    return min(1.0, max(0.0, _number(environment, name, default)))


@dataclass(frozen=True)
class Invocation:
    """One simulated request to one variant."""

    variant: str
    model_name: str | None
    status: int  # the model's status: 200, 4xx or 5xx
    body: bytes
    content_type: str
    model_latency_us: float
    overhead_latency_us: float
    instance_count: int
    shadow: bool = False
    instance: tuple[tuple[str, float], ...] = ()  # Behaviour.instance of the model that served
    stall_ms: float = 0.0


@dataclass
class VariantCounts:
    invocations: int = 0
    errors_5xx: int = 0
    errors_4xx: int = 0
    latency_us_total: float = 0.0
    shadow: bool = False

    @property
    def mean_latency_us(self) -> float:
        return self.latency_us_total / self.invocations if self.invocations else 0.0


@dataclass
class TrafficReport:
    """Per-variant outcome of :func:`simulate_traffic`."""

    endpoint_name: str
    variants: dict[str, VariantCounts] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Requests served per production variant."""
        return {k: v.invocations for k, v in self.variants.items() if not v.shadow}

    def shadow_counts(self) -> dict[str, int]:
        """Copies received per shadow variant."""
        return {k: v.invocations for k, v in self.variants.items() if v.shadow}

    def add(self, invocation: Invocation) -> None:
        counts = self.variants.setdefault(
            invocation.variant, VariantCounts(shadow=invocation.shadow)
        )
        counts.invocations += 1
        counts.errors_5xx += invocation.status >= 500
        counts.errors_4xx += 400 <= invocation.status < 500
        counts.latency_us_total += invocation.model_latency_us


def _pick(variants: Sequence[lifecycle.VariantView], rng: random.Random) -> lifecycle.VariantView:
    weights = [max(0.0, v.weight) for v in variants]
    if sum(weights) <= 0:
        raise EndpointUnavailableError(
            "no production variant of the endpoint has a positive weight"
        )
    return rng.choices(list(variants), weights=weights)[0]


def _latency(behaviour: Behaviour, rng: random.Random) -> float:
    """One request's model latency (ms): gamma with shape 4 around the model's mean, or around
    its tail mean for the tail's share of requests."""
    tail = behaviour.tail_rate > 0 and rng.random() < behaviour.tail_rate
    mean = behaviour.tail_latency_ms if tail else behaviour.latency_ms
    return rng.gammavariate(4.0, mean / 4.0) if mean > 0 else 0.0


def _serve(
    variant: lifecycle.VariantView, body: bytes, rng: random.Random, *, shadow: bool
) -> Invocation:
    model = variant.model
    behaviour = Behaviour.from_environment(model.environment if model else {})
    latency_ms = _latency(behaviour, rng)
    draw = rng.random()
    if draw < behaviour.error_rate:
        status = 500
    elif draw < behaviour.error_rate + behaviour.client_error_rate:
        status = 400
    else:
        status = 200
    if behaviour.response is not None:
        payload = behaviour.response.encode()
        content_type = behaviour.content_type or "application/json"
    else:
        echo = body.decode("utf-8", errors="replace")
        document = {"variant": variant.name, "model": model.model_name if model else None}
        document["input"] = echo
        payload = json.dumps(document).encode()
        content_type = behaviour.content_type or "application/json"
    return Invocation(
        variant=variant.name,
        model_name=model.model_name if model else None,
        status=status,
        body=payload,
        content_type=content_type,
        model_latency_us=latency_ms * 1000.0,
        overhead_latency_us=rng.uniform(1000.0, 3000.0),
        instance_count=variant.instance_count,
        shadow=shadow,
        instance=behaviour.instance,
        stall_ms=behaviour.stall_ms,
    )


def invoke(
    account_id: str,
    region: str,
    endpoint_name: str,
    body: bytes,
    *,
    target_variant: str | None = None,
    content_type: str = "application/json",
) -> tuple[Invocation, list[Invocation]]:
    """Serve one request: the production invocation and the shadow copies it produced, each
    captured (:mod:`~smgitops.local.emulator.capture`) as the config's DataCaptureConfig says."""
    view = lifecycle.view_endpoint(account_id, region, endpoint_name)
    if view is None or view.status in ("Creating", "Failed", "Deleting", "OutOfService"):
        raise EndpointUnavailableError(
            f"Endpoint {endpoint_name} of account {account_id} not found."
        )
    with _RNG_LOCK:
        if target_variant is not None:
            chosen = next((v for v in view.variants if v.name == target_variant), None)
            if chosen is None:
                raise EndpointUnavailableError(
                    f"Target variant {target_variant} is not present in endpoint {endpoint_name}."
                )
        else:
            chosen = _pick(view.variants, _RNG)
        primary = _serve(chosen, body, _RNG, shadow=False)
        shadows = []
        if target_variant is None:
            total = sum(max(0.0, v.weight) for v in view.variants) or 1.0
            for variant in view.shadows:
                if _RNG.random() < min(1.0, max(0.0, variant.weight) / total):
                    shadows.append(_serve(variant, body, _RNG, shadow=True))
        captured = [i for i in (primary, *shadows) if capture.sampled(view.data_capture, _RNG)]
    capture.write(
        account_id,
        region,
        endpoint_name,
        config=view.data_capture,
        body=body,
        content_type=content_type,
        captured=captured,
    )
    return primary, shadows


def record(
    account_id: str, region: str, endpoint_name: str, invocations: Sequence[Invocation]
) -> None:
    """Put SageMaker's invocation metrics for these invocations (evaluates matching alarms)."""
    by_variant: dict[str, list[Invocation]] = {}
    for invocation in invocations:
        by_variant.setdefault(invocation.variant, []).append(invocation)
    timestamp = datetime.fromtimestamp(clock.now(), UTC).replace(tzinfo=None)  # as moto stores
    metric_data: list[dict[str, Any]] = []
    instance_data: list[dict[str, Any]] = []
    for variant, items in by_variant.items():
        dimensions = [
            {"Name": "EndpointName", "Value": endpoint_name},
            {"Name": "VariantName", "Value": variant},
        ]
        series: list[tuple[str, list[float], str]] = [
            ("Invocations", [1.0] * len(items), "None"),
            ("Invocation5XXErrors", [float(i.status >= 500) for i in items], "None"),
            ("Invocation4XXErrors", [float(400 <= i.status < 500) for i in items], "None"),
            ("ModelLatency", [i.model_latency_us for i in items], "Microseconds"),
            ("OverheadLatency", [i.overhead_latency_us for i in items], "Microseconds"),
            ("InvocationsPerInstance", [1.0 / i.instance_count for i in items], "None"),
        ]
        metric_data += [
            {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": timestamp,
                "Unit": unit,
                "Values": values,
            }
            for name, values, unit in series
        ]
        instance_data += [
            {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": timestamp,
                "Unit": "Percent",
                "Value": percent,
            }
            for name, percent in items[-1].instance
        ]
    backend = cloudwatch_backends[account_id][region]
    if metric_data:
        backend.put_metric_data(NAMESPACE, metric_data)
    if instance_data:
        backend.put_metric_data(INSTANCE_NAMESPACE, instance_data)


def simulate_traffic(
    endpoint_name: str,
    requests: int,
    *,
    body: bytes = b"{}",
    target_variant: str | None = None,
    region: str = "us-east-1",
    account_id: str = DEFAULT_ACCOUNT_ID,
) -> TrafficReport:
    """Send ``requests`` simulated requests in-process; metrics are put once, at the end."""
    if requests < 0:
        raise ValueError("requests cannot be negative")
    report = TrafficReport(endpoint_name)
    served: list[Invocation] = []
    for _ in range(requests):
        primary, shadows = invoke(
            account_id, region, endpoint_name, body, target_variant=target_variant
        )
        for invocation in (primary, *shadows):
            report.add(invocation)
            served.append(invocation)
    record(account_id, region, endpoint_name, served)
    return report


class ModelError(ServiceException):
    """SageMaker Runtime's ModelError (HTTP 424): the model answered 4xx or 5xx."""

    code = "ModelError"


class RuntimeValidationError(ServiceException):
    """SageMaker Runtime's ValidationError (HTTP 400)."""

    code = "ValidationError"


def _model_error(
    invocation: Invocation, endpoint_name: str, account_id: str, region: str
) -> ModelError:
    kind = "server" if invocation.status >= 500 else "client"
    original = "Internal Server Error" if invocation.status >= 500 else "Bad Request"
    message = (
        f"Received {kind} error ({invocation.status}) from primary with message "
        f'"{original}". See https://{region}.console.aws.amazon.com/cloudwatch/home?region='
        f"{region}#logEventViewer:group=/aws/sagemaker/Endpoints/{endpoint_name} in account "
        f"{account_id} for more information."
    )
    error = ModelError(message)
    error.OriginalStatusCode = invocation.status  # type: ignore[attr-defined]
    error.OriginalMessage = original  # type: ignore[attr-defined]
    error.LogStreamArn = (  # type: ignore[attr-defined]
        f"arn:aws:logs:{region}:{account_id}:log-group:/aws/sagemaker/Endpoints/{endpoint_name}"
    )
    return error


def response_invoke_endpoint(self: Any) -> tuple[int, dict[str, str], bytes | str]:
    """SageMakerRuntimeResponse.invoke_endpoint routed through the simulator."""
    endpoint_name = unquote(str(self.path).split("?")[0].split("/")[2])
    raw = self.body if self.body is not None else b""
    body = raw.encode() if isinstance(raw, str) else bytes(raw)
    target = self.headers.get("X-Amzn-SageMaker-Target-Variant")
    try:
        primary, shadows = invoke(
            self.current_account,
            self.region,
            endpoint_name,
            body,
            target_variant=target,
            content_type=self.headers.get("Content-Type") or "application/octet-stream",
        )
    except EndpointUnavailableError as exc:
        raise RuntimeValidationError(str(exc)) from exc
    if primary.stall_ms:  # a hung model: the caller's read timeout is what ends the wait
        time.sleep(primary.stall_ms / 1000.0)
    record(self.current_account, self.region, endpoint_name, [primary, *shadows])
    if primary.status >= 400:
        raise _model_error(primary, endpoint_name, self.current_account, self.region)
    headers = {
        "Content-Type": primary.content_type,
        "x-Amzn-Invoked-Production-Variant": primary.variant,
    }
    return 200, headers, primary.body


def patch(response_cls: Any) -> None:
    response_cls.invoke_endpoint = response_invoke_endpoint
