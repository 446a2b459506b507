"""The SageMaker backend methods the emulator adds to or wraps on moto's
``SageMakerModelBackend`` (emulator only): ``UpdateEndpoint``, weight and capacity updates, and
creates that validate as SageMaker does."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from moto.core.utils import utcnow
from moto.sagemaker import exceptions as sagemaker_errors
from moto.sagemaker.models import FakeEndpointConfig

from smgitops.local.emulator.sagemaker.lifecycle import (
    LOCK,
    SETTINGS,
    Transition,
    arn_of,
    config_shadows,
    package_of,
    schedule,
    settle,
    state_of,
    validation_error,
    variant_summaries,
)
from smgitops.local.emulator.sagemaker.quotas import check_quota

if TYPE_CHECKING:
    from collections.abc import Callable


def _refuse_conversion_to_serverless(endpoint: Any, config: Any) -> None:
    """ "You cannot convert your instance-based, real-time endpoint to a serverless endpoint. If
    you try to update your real-time endpoint to serverless, you receive a ValidationError"
    (serverless-endpoints.html, "Feature exclusions"). Serverless to instances is allowed."""
    if not any(v.get("ServerlessConfig") for v in config.production_variants):
        return
    # what the endpoint runs (its summaries), even if its config was deleted since
    if any("CurrentServerlessConfig" not in v for v in endpoint.production_variants or []):
        raise validation_error(
            f'Cannot update endpoint "{endpoint.arn}" from an instance-based configuration to '
            "a serverless one."
        )


def update_endpoint(
    self: Any,
    endpoint_name: str,
    endpoint_config_name: str,
    retain_all_variant_properties: bool = False,
    exclude_retained_variant_properties: list[dict[str, str]] | None = None,
) -> str:
    """SageMaker UpdateEndpoint: validate, go Updating, switch config after the delay."""
    with LOCK:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            arn = arn_of(self, "endpoint", endpoint_name)
            raise validation_error(f"Could not find endpoint '{arn}'.")
        settle(self, endpoint)
        config = self.endpoint_configs.get(endpoint_config_name)
        if config is None:
            arn = arn_of(self, "endpoint-config", endpoint_config_name)
            raise validation_error(f"Could not find endpoint configuration '{arn}'.")
        if endpoint.endpoint_status == "Failed":
            raise validation_error(f'Cannot update failed endpoint "{endpoint.arn}".')
        if endpoint.endpoint_status != "InService":
            raise validation_error(f'Cannot update in-progress endpoint "{endpoint.arn}".')
        check_quota(self, endpoint_config_name)
        _refuse_conversion_to_serverless(endpoint, config)
        variants = list(config.production_variants)
        shadows = config_shadows(config)
        summaries = variant_summaries(self, variants, status="Creating")
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
        transition = Transition(
            kind="update",
            due=time.monotonic() + SETTINGS.update_delay,
            config_name=endpoint_config_name,
            variants=variants,
            shadows=shadows,
            summaries=summaries,
            shadow_summaries=variant_summaries(self, shadows, status="Creating"),
        )
        schedule(self, endpoint, transition)
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
    with LOCK:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            arn = arn_of(self, "endpoint", endpoint_name)
            raise errors.AWSValidationException(f'Could not find endpoint "{arn}".')
        settle(self, endpoint)
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
        schedule(
            self,
            endpoint,
            Transition(kind="weights", due=time.monotonic() + SETTINGS.weights_delay),
        )
        return str(endpoint.arn)


def _wrap_create_endpoint(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_endpoint(
        self: Any, endpoint_name: str, endpoint_config_name: str, tags: list[dict[str, str]]
    ) -> Any:
        with LOCK:
            if endpoint_name in self.endpoints:
                arn = arn_of(self, "endpoint", endpoint_name)
                raise validation_error(f'Cannot create already existing endpoint "{arn}".')
            config = self.endpoint_configs.get(endpoint_config_name)
            if config is None:
                arn = arn_of(self, "endpoint-config", endpoint_config_name)
                raise validation_error(f"Could not find endpoint configuration '{arn}'.")
            check_quota(self, endpoint_config_name)
            endpoint = original(self, endpoint_name, endpoint_config_name, tags)
            variants = list(config.production_variants)
            shadows = config_shadows(config)
            summaries = variant_summaries(self, variants, status="Creating")
            shadow_summaries = variant_summaries(self, shadows, status="Creating")
            endpoint.production_variants = summaries
            endpoint.shadow_production_variants = shadow_summaries or None
            endpoint.pending_deployment_summary = None
            endpoint.endpoint_status = "Creating"
            transition = Transition(
                kind="create",
                due=time.monotonic() + SETTINGS.update_delay,
                config_name=endpoint_config_name,
                variants=variants,
                shadows=shadows,
                summaries=summaries,
                shadow_summaries=shadow_summaries,
            )
            schedule(self, endpoint, transition)
            return endpoint

    return create_endpoint


def _wrap_settling(original: Callable[..., Any]) -> Callable[..., Any]:
    """DescribeEndpoint / ListEndpoints: complete due transitions first."""

    def settled(self: Any, *args: Any, **kwargs: Any) -> Any:
        with LOCK:
            for endpoint in list(self.endpoints.values()):
                settle(self, endpoint)
            return original(self, *args, **kwargs)

    return settled


def capture_summary(capture: dict[str, Any]) -> dict[str, Any] | None:
    """DescribeEndpoint's ``DataCaptureConfigSummary`` of a config's ``DataCaptureConfig``."""
    if not capture:
        return None
    enabled = bool(capture.get("EnableCapture", True))
    summary: dict[str, Any] = {
        "EnableCapture": enabled,
        "CaptureStatus": "Started" if enabled else "Stopped",
        "CurrentSamplingPercentage": int(capture.get("InitialSamplingPercentage", 0)),
        "DestinationS3Uri": str(capture.get("DestinationS3Uri", "")),
    }
    if capture.get("KmsKeyId"):
        summary["KmsKeyId"] = capture["KmsKeyId"]
    return summary


def _wrap_describe_endpoint(original: Callable[..., Any]) -> Callable[..., Any]:
    """DescribeEndpoint's DataCaptureConfig: the summary of the config the endpoint runs now
    (moto keeps the create-time config's, in the request's shape, through every update)."""

    def describe_endpoint(self: Any, endpoint_name: str) -> Any:
        with LOCK:
            response = dict(original(self, endpoint_name))
            endpoint = self.endpoints[endpoint_name]
            config = self.endpoint_configs.get(endpoint.endpoint_config_name)
            if config is not None:
                summary = capture_summary(config.data_capture_config or {})
                response.pop("DataCaptureConfig", None)
                if summary is not None:
                    response["DataCaptureConfig"] = summary
            return response

    return describe_endpoint


def _wrap_delete_endpoint(original: Callable[..., None]) -> Callable[..., None]:
    def delete_endpoint(self: Any, endpoint_name: str) -> None:
        with LOCK:
            original(self, endpoint_name)
            state = state_of(self)
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
        with LOCK:
            if endpoint_config_name in self.endpoint_configs:
                arn = arn_of(self, "endpoint-config", endpoint_config_name)
                raise validation_error(
                    f'Cannot create already existing endpoint configuration "{arn}".'
                )
            shadows = list(shadow_production_variants or [])
            _refuse_serverless_exclusions(production_variants, shadows, data_capture_config)
            if shadows and (len(shadows) > 1 or len(production_variants) > 1):
                raise validation_error(
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


def _refuse_serverless_exclusions(
    variants: list[dict[str, Any]],
    shadows: list[dict[str, Any]],
    data_capture: dict[str, Any] | None,
) -> None:
    """What SageMaker's serverless feature exclusions list for an endpoint config: multiple
    production variants, shadow variants (shadow-test exclusions), data capture."""
    if not any(v.get("ServerlessConfig") for v in [*variants, *shadows]):
        return
    if len(variants) > 1:
        raise validation_error(
            "Serverless Inference does not support multiple production variants: an endpoint "
            "config with a ServerlessConfig variant must have exactly one ProductionVariant."
        )
    if shadows:
        raise validation_error("Serverless Inference does not support ShadowProductionVariants.")
    if data_capture:
        raise validation_error("Serverless Inference does not support DataCaptureConfig.")


def _wrap_create_model(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_model(self: Any, model_name: str, *args: Any, **kwargs: Any) -> Any:
        with LOCK:
            if model_name in self._models:
                arn = arn_of(self, "model", model_name)
                raise validation_error(f'Cannot create already existing model "{arn}".')
            containers = list(kwargs.get("containers") or [])
            primary = kwargs.get("primary_container")
            for container in [*containers, primary or {}]:
                package_name = (container or {}).get("ModelPackageName")
                if package_name and package_of(self, str(package_name)) is None:
                    raise validation_error(f"Model package {package_name} not found")
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


def _validate_instance_type(self: Any, instance_type: str) -> None:
    """moto's list of instance types is years older than botocore's enum (no ml.g5, ml.inf2...):
    the request was already checked against botocore's ``ProductionVariantInstanceType``
    (:mod:`smgitops.local.emulator.conformance`), so any value that reaches here exists."""


def patch(backend_cls: Any) -> None:
    """Install these methods on moto's ``SageMakerModelBackend``."""
    FakeEndpointConfig.validate_instance_type = _validate_instance_type  # type: ignore[method-assign]
    backend_cls.update_endpoint = update_endpoint
    backend_cls.update_endpoint_weights_and_capacities = update_endpoint_weights_and_capacities
    backend_cls.create_endpoint = _wrap_create_endpoint(backend_cls.create_endpoint)
    backend_cls.describe_endpoint = _wrap_describe_endpoint(
        _wrap_settling(backend_cls.describe_endpoint)
    )
    backend_cls.list_endpoints = _wrap_settling(backend_cls.list_endpoints)
    backend_cls.delete_endpoint = _wrap_delete_endpoint(backend_cls.delete_endpoint)
    backend_cls.create_endpoint_config = _wrap_create_endpoint_config(
        backend_cls.create_endpoint_config
    )
    backend_cls.create_model = _wrap_create_model(backend_cls.create_model)
    backend_cls.create_model_package = _wrap_create_model_package(backend_cls.create_model_package)
