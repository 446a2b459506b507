"""The endpoint lifecycle of the emulated SageMaker: settings, per-backend state, the
transitions ``Creating`` / ``Updating`` → ``InService`` (or ``Failed``) and the consistent views
the traffic simulator reads (emulator only).

Transitions complete lazily whenever the endpoint is looked at (and from the emulator's
background thread through :func:`settle_all`); all of it under one lock (:data:`LOCK`).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from moto.core.utils import utcnow
from moto.sagemaker import exceptions as sagemaker_errors
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.utils import arn_formatter

if TYPE_CHECKING:
    from collections.abc import Iterator

LOCK = threading.RLock()
DEPLOY_FAILURE_ENV = "SMGITOPS_SIM_DEPLOY_FAILURE"
FailureMode = Literal["rollback", "failed"]


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError:
        return default


@dataclass
class Settings:
    """How the emulated SageMaker behaves; one per process (see the setters below)."""

    update_delay: float = field(
        default_factory=lambda: _env_float("SMGITOPS_EMULATOR_UPDATE_DELAY", 0.5)
    )
    # SageMaker answers UpdateEndpointWeightsAndCapacities with Updating and applies the change
    # later ("When it receives the request, SageMaker sets the endpoint status to Updating"):
    # by default a weights change takes time here too, so code that assumes it is instant fails
    weights_delay: float = field(
        default_factory=lambda: _env_float("SMGITOPS_EMULATOR_WEIGHTS_DELAY", 0.5)
    )
    failure_mode: FailureMode = "rollback"
    # "<instance type> for endpoint usage" quotas (:mod:`.quotas`); a type not listed: unlimited
    instance_quotas: dict[str, int] = field(default_factory=dict)


SETTINGS = Settings()


def set_update_delay(seconds: float) -> None:
    """How long CreateEndpoint/UpdateEndpoint stay ``Creating``/``Updating`` (0: instant)."""
    if seconds < 0:
        raise ValueError("the update delay cannot be negative")
    SETTINGS.update_delay = float(seconds)


def get_update_delay() -> float:
    return SETTINGS.update_delay


def set_weights_delay(seconds: float) -> None:
    """How long UpdateEndpointWeightsAndCapacities shows ``Updating`` (0.5 s; 0: instant)."""
    if seconds < 0:
        raise ValueError("the weights delay cannot be negative")
    SETTINGS.weights_delay = float(seconds)


def set_update_failure_mode(mode: FailureMode) -> None:
    """``rollback`` (SageMaker's behaviour): a failed update leaves the endpoint InService on its
    previous config with a FailureReason; ``failed``: the endpoint ends ``Failed``."""
    if mode not in ("rollback", "failed"):
        raise ValueError(f"unknown failure mode {mode!r}")
    SETTINGS.failure_mode = mode


@dataclass(frozen=True)
class DeployedModel:
    """What a variant runs: the model's name, its container environment and image."""

    model_name: str
    environment: dict[str, str]
    image: str | None


@dataclass(frozen=True)
class VariantView:
    name: str
    weight: float
    instance_count: int
    model: DeployedModel | None


@dataclass(frozen=True)
class EndpointView:
    """A consistent snapshot of an endpoint for the traffic simulator."""

    name: str
    arn: str
    status: str
    config_name: str
    variants: tuple[VariantView, ...]
    shadows: tuple[VariantView, ...]
    data_capture: dict[str, Any] = field(default_factory=dict)  # the config's DataCaptureConfig


@dataclass
class Transition:
    kind: Literal["create", "update", "weights"]
    due: float  # time.monotonic()
    config_name: str = ""
    variants: list[dict[str, Any]] = field(default_factory=list)  # config variants (raw)
    shadows: list[dict[str, Any]] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)
    shadow_summaries: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _State:
    transitions: dict[str, Transition] = field(default_factory=dict)
    deployed: dict[str, dict[str, DeployedModel]] = field(default_factory=dict)


def state_of(backend: Any) -> _State:
    state: _State | None = backend.__dict__.get("_smgitops_state")
    if state is None:
        state = _State()
        backend._smgitops_state = state
    return state


def arn_of(backend: Any, kind: str, name: str) -> str:
    return str(arn_formatter(kind, name, backend.account_id, backend.region_name))


def validation_error(message: str) -> Exception:
    return sagemaker_errors.ValidationError(message=message)


# --- models and their containers -------------------------------------------------------------


def package_of(backend: Any, name: str) -> Any:
    mapped = backend.model_package_name_mapping.get(name, name)
    return backend.model_packages.get(mapped)


def container_of(backend: Any, model_name: str) -> dict[str, Any] | None:
    """The model's first container, merged with its model package's container if it has one."""
    model = backend._models.get(model_name)
    if model is None:
        return None
    containers = list(model.containers or []) or [model.primary_container or {}]
    first: dict[str, Any] = dict(containers[0] or {})
    package_name = first.get("ModelPackageName")
    if package_name:
        package = package_of(backend, str(package_name))
        spec = (package.inference_specification or {}) if package is not None else {}
        base: dict[str, Any] = dict((spec.get("Containers") or [{}])[0])
        environment = {**base.get("Environment", {}), **first.get("Environment", {})}
        merged = {**base, **{k: v for k, v in first.items() if k != "ModelPackageName"}}
        merged["Environment"] = environment
        return merged
    return first


def _deployed(backend: Any, model_name: str) -> DeployedModel | None:
    container = container_of(backend, model_name)
    if container is None:
        return None
    environment = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
    image = container.get("Image")
    return DeployedModel(model_name, environment, str(image) if image else None)


def _resolved(image: str) -> str:
    repository = image.split("@", maxsplit=1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def variant_summaries(
    backend: Any, variants: list[dict[str, Any]], status: str | None = None
) -> list[dict[str, Any]]:
    """ProductionVariantSummary entries for config variants (weight 0 kept, default 1.0)."""
    out = []
    now = utcnow()
    for variant in variants:
        summary: dict[str, Any] = {"VariantName": variant["VariantName"]}
        deployed = _deployed(backend, str(variant.get("ModelName", "")))
        if deployed is not None and deployed.image:
            summary["DeployedImages"] = [
                {
                    "SpecifiedImage": deployed.image,
                    "ResolvedImage": _resolved(deployed.image),
                    "ResolutionTime": now,
                }
            ]
        weight = float(variant.get("InitialVariantWeight", 1.0))
        summary["CurrentWeight"] = weight
        summary["DesiredWeight"] = weight
        if variant.get("ServerlessConfig"):
            summary["CurrentServerlessConfig"] = variant["ServerlessConfig"]
            summary["DesiredServerlessConfig"] = variant["ServerlessConfig"]
        else:
            count = int(variant.get("InitialInstanceCount", 1))
            summary["CurrentInstanceCount"] = count
            summary["DesiredInstanceCount"] = count
        if status:
            summary["VariantStatus"] = [{"Status": status, "StartTime": now}]
        out.append(summary)
    return out


def _deploy_failure(backend: Any, variants: list[dict[str, Any]]) -> str | None:
    """Why SageMaker would fail to deploy these variants, or None."""
    for variant in variants:
        model_name = str(variant.get("ModelName", ""))
        deployed = _deployed(backend, model_name)
        if deployed is None:
            return f'Could not find model "{arn_of(backend, "model", model_name)}".'
        failure = deployed.environment.get(DEPLOY_FAILURE_ENV, "")
        if failure:
            if failure.lower() in ("1", "true", "yes"):
                return (
                    f"The primary container for production variant {variant['VariantName']} "
                    "did not pass the ping health check. Please check CloudWatch logs for this "
                    "endpoint."
                )
            return failure
    return None


# --- transitions ---------------------------------------------------------------------------


def _strip_status(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in s.items() if k != "VariantStatus"} for s in summaries]


def settle(backend: Any, endpoint: Any) -> None:
    """Complete the endpoint's transition if its time has come (caller holds the lock)."""
    state = state_of(backend)
    transition = state.transitions.get(endpoint.endpoint_name)
    if transition is None or time.monotonic() < transition.due:
        return
    del state.transitions[endpoint.endpoint_name]
    endpoint.last_modified_time = utcnow()
    if transition.kind == "weights":
        for variant in endpoint.production_variants:
            variant["CurrentWeight"] = variant.get("DesiredWeight", variant.get("CurrentWeight"))
            if "DesiredInstanceCount" in variant:
                variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"]
        endpoint.endpoint_status = "InService"
        return
    endpoint.pending_deployment_summary = None
    failure = _deploy_failure(backend, transition.variants + transition.shadows)
    if failure:
        endpoint.failure_reason = failure
        rollback = transition.kind == "update" and SETTINGS.failure_mode == "rollback"
        endpoint.endpoint_status = "InService" if rollback else "Failed"
        return
    endpoint.endpoint_config_name = transition.config_name
    endpoint.production_variants = _strip_status(transition.summaries)
    endpoint.shadow_production_variants = _strip_status(transition.shadow_summaries) or None
    endpoint.failure_reason = None
    endpoint.endpoint_status = "InService"
    models = {
        str(v["VariantName"]): _deployed(backend, str(v.get("ModelName", "")))
        for v in transition.variants + transition.shadows
    }
    state.deployed[endpoint.endpoint_name] = {k: v for k, v in models.items() if v is not None}


def schedule(backend: Any, endpoint: Any, transition: Transition) -> None:
    state_of(backend).transitions[endpoint.endpoint_name] = transition
    settle(backend, endpoint)


def _all_backends() -> Iterator[Any]:
    for regions in list(sagemaker_backends.values()):
        yield from list(regions.values())


def settle_all() -> None:
    """Complete every transition whose time has come (the emulator's background thread)."""
    with LOCK:
        for backend in _all_backends():
            state = backend.__dict__.get("_smgitops_state")
            if state is None:
                continue
            for name in list(state.transitions):
                endpoint = backend.endpoints.get(name)
                if endpoint is None:
                    state.transitions.pop(name, None)
                else:
                    settle(backend, endpoint)


def _variant_view(
    backend: Any,
    summary: dict[str, Any],
    deployed: dict[str, DeployedModel],
    models: dict[str, str],
) -> VariantView:
    name = str(summary["VariantName"])
    model = deployed.get(name)
    if model is None and name in models:
        model = _deployed(backend, models[name])
    return VariantView(
        name=name,
        weight=float(summary.get("CurrentWeight", 1.0)),
        instance_count=int(summary.get("CurrentInstanceCount") or 1),
        model=model,
    )


def endpoint_names(account_id: str, region: str) -> list[str]:
    """Every endpoint of the account and region, whatever its status."""
    with LOCK:
        return sorted(sagemaker_backends[account_id][region].endpoints)


def view_endpoint(account_id: str, region: str, name: str) -> EndpointView | None:
    """A settled snapshot of the endpoint, or None when it does not exist."""
    backend = sagemaker_backends[account_id][region]
    with LOCK:
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            return None
        settle(backend, endpoint)
        deployed = state_of(backend).deployed.get(name, {})
        config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
        models: dict[str, str] = {}
        if config is not None:
            for v in list(config.production_variants) + list(config_shadows(config)):
                models[str(v["VariantName"])] = str(v.get("ModelName", ""))
        variants = tuple(
            _variant_view(backend, s, deployed, models) for s in endpoint.production_variants
        )
        shadows = tuple(
            _variant_view(backend, s, deployed, models)
            for s in (getattr(endpoint, "shadow_production_variants", None) or [])
        )
        return EndpointView(
            name=name,
            arn=str(endpoint.arn),
            status=str(endpoint.endpoint_status),
            config_name=str(endpoint.endpoint_config_name),
            variants=variants,
            shadows=shadows,
            data_capture=dict(getattr(config, "data_capture_config", None) or {}),
        )


def config_shadows(config: Any) -> list[dict[str, Any]]:
    return list(getattr(config, "shadow_production_variants", None) or [])
