"""The SageMaker wire methods the emulator adds to moto's ``SageMakerResponse``: the parameters
moto does not read (``UpdateEndpoint``, ``ShadowProductionVariants``) passed to the backend."""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult


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


def patch(response_cls: Any) -> None:
    """Install these methods on moto's ``SageMakerResponse``."""
    response_cls.update_endpoint = response_update_endpoint
    response_cls.create_endpoint_config = response_create_endpoint_config
