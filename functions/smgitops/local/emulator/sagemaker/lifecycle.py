"""moto's SageMaker backend with the endpoint lifecycle SageMaker has (emulator only).

moto 5.2.5 creates endpoints instantly, has no ``UpdateEndpoint`` (500 in server mode), drops
weight-0 variants and ``ShadowProductionVariants``, forgets instance counts on weight-only
``UpdateEndpointWeightsAndCapacities`` and overwrites existing resources on create. Patched
onto ``SageMakerModelBackend`` / ``SageMakerResponse`` by :func:`patch`:

- ``CreateEndpoint`` goes ``Creating`` → ``InService`` (or ``Failed`` with a ``FailureReason``)
  after the update delay;
- ``UpdateEndpoint``: validated synchronously like SageMaker (endpoint and config exist, the
  endpoint is ``InService``), then ``Updating`` with the *old* config and variants until the delay
  has passed, then ``InService`` with the new config's variants (``CurrentWeight`` =
  ``DesiredWeight`` = ``InitialVariantWeight``). An impossible config (a variant's model no longer
  exists, or a model whose container sets ``SMGITOPS_SIM_DEPLOY_FAILURE``) fails the update the
  way SageMaker documents it: the endpoint stays ``InService`` on its previous config with a
  ``FailureReason`` ("the status is InService but update operation fails").
  :func:`set_update_failure_mode` ``("failed")`` makes it end ``Failed`` instead;
- ``UpdateEndpointWeightsAndCapacities`` accepts weight-only or count-only entries (weight 0
  included), refuses an endpoint that is not ``InService``, and with a weights delay set shows
  ``Updating`` with the new ``DesiredWeight`` until it applies;
- ``ShadowProductionVariants`` kept on endpoint configs and shown by ``DescribeEndpoint``;
- creating an endpoint, endpoint config or model that exists is a ValidationException, as on
  SageMaker; ``CreateModel`` checks that a referenced model package exists;
- a versioned model package starts ``PendingManualApproval`` when no status is given.

Transitions complete lazily whenever the endpoint is looked at (and from the emulator's
background thread through :func:`settle_all`); all of it under one lock.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker import exceptions as sagemaker_errors
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.utils import arn_formatter

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_LOCK = threading.RLock()
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
    weights_delay: float = field(
        default_factory=lambda: _env_float("SMGITOPS_EMULATOR_WEIGHTS_DELAY", 0.0)
    )
    failure_mode: FailureMode = "rollback"


SETTINGS = Settings()


def set_update_delay(seconds: float) -> None:
    """How long CreateEndpoint/UpdateEndpoint stay ``Creating``/``Updating`` (0: instant)."""
    if seconds < 0:
        raise ValueError("the update delay cannot be negative")
    SETTINGS.update_delay = float(seconds)


def get_update_delay() -> float:
    return SETTINGS.update_delay


def set_weights_delay(seconds: float) -> None:
    """How long UpdateEndpointWeightsAndCapacities shows ``Updating`` (default 0: instant)."""
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


@dataclass
class _Transition:
    kind: Literal["create", "update", "weights"]
    due: float  # time.monotonic()
    config_name: str = ""
    variants: list[dict[str, Any]] = field(default_factory=list)  # config variants (raw)
    shadows: list[dict[str, Any]] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)
    shadow_summaries: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _State:
    transitions: dict[str, _Transition] = field(default_factory=dict)
    deployed: dict[str, dict[str, DeployedModel]] = field(default_factory=dict)


def _state(backend: Any) -> _State:
    state: _State | None = backend.__dict__.get("_smgitops_state")
    if state is None:
        state = _State()
        backend._smgitops_state = state
    return state


def _arn(backend: Any, kind: str, name: str) -> str:
    return str(arn_formatter(kind, name, backend.account_id, backend.region_name))


def _validation(message: str) -> Exception:
    return sagemaker_errors.ValidationError(message=message)


# --- models and their containers -------------------------------------------------------------


def _package(backend: Any, name: str) -> Any:
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
        package = _package(backend, str(package_name))
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


def _summaries(
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
            return f'Could not find model "{_arn(backend, "model", model_name)}".'
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


def _settle(backend: Any, endpoint: Any) -> None:
    """Complete the endpoint's transition if its time has come (caller holds the lock)."""
    state = _state(backend)
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


def _schedule(backend: Any, endpoint: Any, transition: _Transition) -> None:
    _state(backend).transitions[endpoint.endpoint_name] = transition
    _settle(backend, endpoint)


def _all_backends() -> Iterator[Any]:
    for regions in list(sagemaker_backends.values()):
        yield from list(regions.values())


def settle_all() -> None:
    """Complete every transition whose time has come (the emulator's background thread)."""
    with _LOCK:
        for backend in _all_backends():
            state = backend.__dict__.get("_smgitops_state")
            if state is None:
                continue
            for name in list(state.transitions):
                endpoint = backend.endpoints.get(name)
                if endpoint is None:
                    state.transitions.pop(name, None)
                else:
                    _settle(backend, endpoint)


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
    with _LOCK:
        return sorted(sagemaker_backends[account_id][region].endpoints)


def view_endpoint(account_id: str, region: str, name: str) -> EndpointView | None:
    """A settled snapshot of the endpoint, or None when it does not exist."""
    backend = sagemaker_backends[account_id][region]
    with _LOCK:
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            return None
        _settle(backend, endpoint)
        deployed = _state(backend).deployed.get(name, {})
        config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
        models: dict[str, str] = {}
        if config is not None:
            for v in list(config.production_variants) + list(_config_shadows(config)):
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
        )


def _config_shadows(config: Any) -> list[dict[str, Any]]:
    return list(getattr(config, "shadow_production_variants", None) or [])


# --- backend methods ------------------------------------------------------------------------


def update_endpoint(
    self: Any,
    endpoint_name: str,
    endpoint_config_name: str,
    retain_all_variant_properties: bool = False,
    exclude_retained_variant_properties: list[dict[str, str]] | None = None,
) -> str:
    """SageMaker UpdateEndpoint: validate, go Updating, switch config after the delay."""
    with _LOCK:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            arn = _arn(self, "endpoint", endpoint_name)
            raise _validation(f"Could not find endpoint '{arn}'.")
        _settle(self, endpoint)
        config = self.endpoint_configs.get(endpoint_config_name)
        if config is None:
            arn = _arn(self, "endpoint-config", endpoint_config_name)
            raise _validation(f"Could not find endpoint configuration '{arn}'.")
        if endpoint.endpoint_status == "Failed":
            raise _validation(f'Cannot update failed endpoint "{endpoint.arn}".')
        if endpoint.endpoint_status != "InService":
            raise _validation(f'Cannot update in-progress endpoint "{endpoint.arn}".')
        variants = list(config.production_variants)
        shadows = _config_shadows(config)
        summaries = _summaries(self, variants, status="Creating")
        if retain_all_variant_properties:
            excluded = {
                e.get("VariantPropertyType") for e in exclude_retained_variant_properties or []
            }
            _retain(endpoint.production_variants, summaries, excluded)
        endpoint.endpoint_status = "Updating"
        endpoint.failure_reason = None
        endpoint.last_modified_time = utcnow()
        endpoint.pending_deployment_summary = {
            "EndpointConfigName": endpoint_config_name,
            "ProductionVariants": [_pending(s) for s in summaries],
            "StartTime": utcnow(),
        }
        transition = _Transition(
            kind="update",
            due=time.monotonic() + SETTINGS.update_delay,
            config_name=endpoint_config_name,
            variants=variants,
            shadows=shadows,
            summaries=summaries,
            shadow_summaries=_summaries(self, shadows, status="Creating"),
        )
        _schedule(self, endpoint, transition)
        return str(endpoint.arn)


def _pending(summary: dict[str, Any]) -> dict[str, Any]:
    """A PendingProductionVariantSummary from a variant summary."""
    keep = ("VariantName", "DeployedImages", "VariantStatus")
    pending = {k: v for k, v in summary.items() if k in keep}
    for key in ("CurrentWeight", "DesiredWeight", "CurrentInstanceCount", "DesiredInstanceCount"):
        if key in summary:
            pending[key] = summary[key]
    return pending


def _retain(
    current: list[dict[str, Any]], summaries: list[dict[str, Any]], excluded: set[str | None]
) -> None:
    """RetainAllVariantProperties: keep live weights and counts of variants that stay."""
    live = {str(v["VariantName"]): v for v in current}
    for summary in summaries:
        old = live.get(str(summary["VariantName"]))
        if old is None:
            continue
        if "DesiredWeight" not in excluded and "CurrentWeight" in old:
            summary["CurrentWeight"] = summary["DesiredWeight"] = old["CurrentWeight"]
        if "DesiredInstanceCount" not in excluded and "CurrentInstanceCount" in old:
            count = old["CurrentInstanceCount"]
            summary["CurrentInstanceCount"] = summary["DesiredInstanceCount"] = count


def update_endpoint_weights_and_capacities(
    self: Any, endpoint_name: str, desired_weights_and_capacities: list[dict[str, Any]]
) -> str:
    """Weight-only or count-only updates, weight 0 included; the endpoint must be InService."""
    errors = sagemaker_errors
    with _LOCK:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            arn = _arn(self, "endpoint", endpoint_name)
            raise errors.AWSValidationException(f'Could not find endpoint "{arn}".')
        _settle(self, endpoint)
        if endpoint.endpoint_status != "InService":
            raise errors.AWSValidationException(
                f'Cannot update in-progress endpoint "{endpoint.arn}".'
            )
        live = {str(v["VariantName"]): v for v in endpoint.production_variants}
        seen: set[str] = set()
        for entry in desired_weights_and_capacities:
            name = str(entry.get("VariantName"))
            if name in seen:
                raise errors.AWSValidationException(
                    f'The variant name "{name}" was non-unique within the request.'
                )
            seen.add(name)
            if name not in live:
                raise errors.AWSValidationException(
                    f'The variant name(s) "{name}" is/are not present within endpoint '
                    f'configuration "{endpoint.endpoint_config_name}".'
                )
            if entry.get("DesiredWeight") is None and entry.get("DesiredInstanceCount") is None:
                raise errors.AWSValidationException(
                    f"Either DesiredWeight or DesiredInstanceCount must be specified for the "
                    f'variant "{name}".'
                )
        for entry in desired_weights_and_capacities:
            variant = live[str(entry["VariantName"])]
            if entry.get("DesiredWeight") is not None:
                variant["DesiredWeight"] = float(entry["DesiredWeight"])
            if entry.get("DesiredInstanceCount") is not None:
                variant["DesiredInstanceCount"] = int(entry["DesiredInstanceCount"])
        endpoint.endpoint_status = "Updating"
        endpoint.last_modified_time = utcnow()
        _schedule(
            self,
            endpoint,
            _Transition(kind="weights", due=time.monotonic() + SETTINGS.weights_delay),
        )
        return str(endpoint.arn)


def _wrap_create_endpoint(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_endpoint(
        self: Any, endpoint_name: str, endpoint_config_name: str, tags: list[dict[str, str]]
    ) -> Any:
        with _LOCK:
            if endpoint_name in self.endpoints:
                arn = _arn(self, "endpoint", endpoint_name)
                raise _validation(f'Cannot create already existing endpoint "{arn}".')
            config = self.endpoint_configs.get(endpoint_config_name)
            if config is None:
                arn = _arn(self, "endpoint-config", endpoint_config_name)
                raise _validation(f"Could not find endpoint configuration '{arn}'.")
            endpoint = original(self, endpoint_name, endpoint_config_name, tags)
            variants = list(config.production_variants)
            shadows = _config_shadows(config)
            summaries = _summaries(self, variants, status="Creating")
            shadow_summaries = _summaries(self, shadows, status="Creating")
            endpoint.production_variants = summaries
            endpoint.shadow_production_variants = shadow_summaries or None
            endpoint.pending_deployment_summary = None
            endpoint.endpoint_status = "Creating"
            transition = _Transition(
                kind="create",
                due=time.monotonic() + SETTINGS.update_delay,
                config_name=endpoint_config_name,
                variants=variants,
                shadows=shadows,
                summaries=summaries,
                shadow_summaries=shadow_summaries,
            )
            _schedule(self, endpoint, transition)
            return endpoint

    return create_endpoint


def _wrap_settling(original: Callable[..., Any]) -> Callable[..., Any]:
    """DescribeEndpoint / ListEndpoints: complete due transitions first."""

    def settled(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            for endpoint in list(self.endpoints.values()):
                _settle(self, endpoint)
            return original(self, *args, **kwargs)

    return settled


def _wrap_delete_endpoint(original: Callable[..., None]) -> Callable[..., None]:
    def delete_endpoint(self: Any, endpoint_name: str) -> None:
        with _LOCK:
            original(self, endpoint_name)
            state = _state(self)
            state.transitions.pop(endpoint_name, None)
            state.deployed.pop(endpoint_name, None)

    return delete_endpoint


def _wrap_create_endpoint_config(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_endpoint_config(
        self: Any,
        *,
        endpoint_config_name: str,
        production_variants: list[dict[str, Any]],
        data_capture_config: dict[str, Any],
        async_inference_config: dict[str, Any],
        tags: list[dict[str, str]],
        kms_key_id: str,
        shadow_production_variants: list[dict[str, Any]] | None = None,
    ) -> Any:
        with _LOCK:
            if endpoint_config_name in self.endpoint_configs:
                arn = _arn(self, "endpoint-config", endpoint_config_name)
                raise _validation(f'Cannot create already existing endpoint configuration "{arn}".')
            shadows = list(shadow_production_variants or [])
            if shadows and (len(shadows) > 1 or len(production_variants) > 1):
                raise _validation(
                    "When ShadowProductionVariants is specified, exactly one variant is allowed "
                    "in ProductionVariants and in ShadowProductionVariants."
                )
            self.validate_production_variants(shadows)
            config = original(
                self,
                endpoint_config_name=endpoint_config_name,
                production_variants=production_variants,
                data_capture_config=data_capture_config,
                async_inference_config=async_inference_config,
                tags=tags,
                kms_key_id=kms_key_id,
            )
            try:
                config.validate_production_variants(shadows)
            except Exception:
                del self.endpoint_configs[endpoint_config_name]
                raise
            config.shadow_production_variants = shadows or None
            return config

    return create_endpoint_config


def _wrap_create_model(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_model(self: Any, model_name: str, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            if model_name in self._models:
                arn = _arn(self, "model", model_name)
                raise _validation(f'Cannot create already existing model "{arn}".')
            containers = list(kwargs.get("containers") or [])
            primary = kwargs.get("primary_container")
            for container in [*containers, primary or {}]:
                package_name = (container or {}).get("ModelPackageName")
                if package_name and _package(self, str(package_name)) is None:
                    raise _validation(f"Model package {package_name} not found")
            return original(self, model_name, *args, **kwargs)

    return create_model


def _wrap_create_model_package(original: Callable[..., str]) -> Callable[..., str]:
    def create_model_package(self: Any, *args: Any, **kwargs: Any) -> str:
        arn = original(self, *args, **kwargs)
        package = self.model_packages.get(arn)
        if (
            package is not None
            and package.model_package_version
            and not package.model_approval_status
        ):
            package.model_approval_status = "PendingManualApproval"
        return arn

    return create_model_package


# --- response methods -----------------------------------------------------------------------


def response_update_endpoint(self: Any) -> Any:
    arn = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        retain_all_variant_properties=bool(self._get_param("RetainAllVariantProperties", False)),
        exclude_retained_variant_properties=self._get_param("ExcludeRetainedVariantProperties"),
    )
    return ActionResult({"EndpointArn": arn})


def response_create_endpoint_config(self: Any) -> Any:
    config = self.sagemaker_backend.create_endpoint_config(
        endpoint_config_name=self._get_param("EndpointConfigName"),
        async_inference_config=self._get_param("AsyncInferenceConfig"),
        production_variants=self._get_param("ProductionVariants"),
        data_capture_config=self._get_param("DataCaptureConfig"),
        tags=self._get_param("Tags"),
        kms_key_id=self._get_param("KmsKeyId"),
        shadow_production_variants=self._get_param("ShadowProductionVariants"),
    )
    return ActionResult({"EndpointConfigArn": config.endpoint_config_arn})


def patch(backend_cls: Any, response_cls: Any) -> None:
    """Install the behaviour above on moto's classes (the caller makes it idempotent)."""
    backend_cls.update_endpoint = update_endpoint
    backend_cls.update_endpoint_weights_and_capacities = update_endpoint_weights_and_capacities
    backend_cls.create_endpoint = _wrap_create_endpoint(backend_cls.create_endpoint)
    backend_cls.describe_endpoint = _wrap_settling(backend_cls.describe_endpoint)
    backend_cls.list_endpoints = _wrap_settling(backend_cls.list_endpoints)
    backend_cls.delete_endpoint = _wrap_delete_endpoint(backend_cls.delete_endpoint)
    backend_cls.create_endpoint_config = _wrap_create_endpoint_config(
        backend_cls.create_endpoint_config
    )
    backend_cls.create_model = _wrap_create_model(backend_cls.create_model)
    backend_cls.create_model_package = _wrap_create_model_package(backend_cls.create_model_package)
    response_cls.update_endpoint = response_update_endpoint
    response_cls.create_endpoint_config = response_create_endpoint_config
