"""SageMaker adapter: observe an endpoint, execute rollout actions idempotently."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws import clients, quotas
from smgitops.aws.errors import code_of, describe_or_none, message_of, translate
from smgitops.declaration import production
from smgitops.errors import ActionRejectedError, EndpointBusyError, NotFoundError, TransientError
from smgitops.observability import logger
from smgitops.rollout.observation import (
    FAILURES,
    IN_SERVICE,
    EndpointView,
    InstanceQuota,
    LiveVariant,
)
from smgitops.rollout.ownership import OWNER_TAG
from smgitops.rollout.status import VariantRef

if TYPE_CHECKING:
    from collections.abc import Callable

    from smgitops.rollout.actions import (
        Action,
        CreateEndpoint,
        CreateEndpointConfig,
        CreateModel,
        DeleteUnused,
        SetWeights,
        UpdateEndpoint,
        VariantSpec,
    )

ABORT_FIRST_WAIT_S = 0.5  # then doubled, up to ABORT_MAX_WAIT_S, while the endpoint is busy
ABORT_MAX_WAIT_S = 5.0
MAX_TAG_PAGES = 10  # ListTags pages of 100: SageMaker allows 50 tags per resource


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _variant(variant: VariantSpec) -> dict[str, Any]:
    """A ``ProductionVariant``: instances, or ``ServerlessConfig`` in its settings."""
    out: dict[str, Any] = {"VariantName": variant.name, "ModelName": variant.model}
    if "ServerlessConfig" not in variant.settings:
        out |= {
            "InstanceType": variant.instance_type,
            "InitialInstanceCount": variant.instance_count,
        }
    return out | {"InitialVariantWeight": variant.weight, **variant.settings}


def variant_ref(described: dict[str, Any], config: dict[str, Any]) -> VariantRef:
    """A ``ProductionVariant`` of a DescribeEndpointConfig answer ``config``, as smgitops
    deployed it: its settings and the config's."""
    serverless = "ServerlessConfig" in described
    return VariantRef(
        name=described["VariantName"],
        model=described["ModelName"],
        instance_type=described.get("InstanceType", ""),
        instance_count=0 if serverless else int(described.get("InitialInstanceCount", 1)),
        settings=production.picked(described, production.VARIANT_MEMBERS),
        config_settings=production.picked(config, production.CONFIG_MEMBERS),
    )


def _exists(error: ClientError) -> bool:
    text = message_of(error).lower()
    return "already exist" in text or code_of(error) in {"ResourceInUse", "ResourceInUseException"}


def _missing(error: ClientError) -> bool:
    text = message_of(error).lower()
    return "could not find" in text or "not found" in text or "does not exist" in text


class SageMaker:
    """Every SageMaker call smgitops makes."""

    client = clients.LazyClient("sagemaker")
    quotas_client = clients.LazyClient("service-quotas")

    def __init__(self, client: Any = None) -> None:
        if client is not None:
            self.client = client

    @property
    def region(self) -> str:
        return str(self.client.meta.region_name)

    # --- observe ----------------------------------------------------------------------------

    def describe_endpoint(self, name: str) -> EndpointView | None:
        out = self._describe(name)
        if out is None:
            return None
        variants = [
            LiveVariant(
                name=v["VariantName"],
                current_weight=float(v.get("CurrentWeight", 0.0)),
                desired_weight=float(v.get("DesiredWeight", v.get("CurrentWeight", 0.0))),
                current_instance_count=int(v.get("CurrentInstanceCount", 0)),
                desired_instance_count=int(v.get("DesiredInstanceCount", 0)),
            )
            for v in out.get("ProductionVariants", [])
        ]
        return EndpointView(
            name=name,
            status=out["EndpointStatus"],
            config=out.get("EndpointConfigName", ""),
            variants=variants,
            shadow_variants=[v["VariantName"] for v in out.get("ShadowProductionVariants", [])],
            failure_reason=out.get("FailureReason", ""),
        )

    def endpoint_tags(self, name: str) -> dict[str, str] | None:
        """The endpoint's tags; None when there is no such endpoint (the ownership check of an
        endpoint no status manages)."""
        live = self._describe(name)
        if live is None:
            return None
        return {t["Key"]: t["Value"] for t in self._list_tags(live["EndpointArn"])}

    def _describe(self, name: str) -> dict[str, Any] | None:
        """DescribeEndpoint's answer; None when there is no such endpoint."""
        return describe_or_none(self.client, "describe_endpoint", EndpointName=name)

    def _list_tags(self, arn: str) -> list[dict[str, str]]:
        tags: list[dict[str, str]] = []
        params: dict[str, Any] = {"ResourceArn": arn, "MaxResults": 100}
        for _ in range(MAX_TAG_PAGES):
            try:
                out = self.client.list_tags(**params)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, "ListTags") from exc
            tags += out.get("Tags", [])
            if not out.get("NextToken"):
                return tags
            params["NextToken"] = out["NextToken"]
        return tags

    def tag_owner(self, endpoint: str, tags: dict[str, str]) -> list[str]:
        """Operator commands (adopt, transfer), with the operator's credentials: ``tags`` on
        the endpoint, and its owner tag on the live config and the models it serves. The
        functions' roles cannot do this (tags only on create, template.yaml). Returns the
        resources tagged; NotFoundError when there is no such endpoint."""
        live = self._describe(endpoint)
        if live is None:
            raise NotFoundError(f"no endpoint {endpoint}")
        self._call("add_tags", ResourceArn=live["EndpointArn"], Tags=_tags(tags))
        tagged = [str(live["EndpointArn"])]
        owner = {k: v for k, v in tags.items() if k == OWNER_TAG}
        config = live.get("EndpointConfigName", "")
        if not owner or not config:
            return tagged
        described = self._read("describe_endpoint_config", EndpointConfigName=config)
        if described is None:  # deleted outside smgitops: nothing more to tag
            return tagged
        resources: list[str] = [described["EndpointConfigArn"]]
        for variant in described.get("ProductionVariants", []):
            model = self._read("describe_model", ModelName=variant["ModelName"])
            if model is not None:
                resources.append(model["ModelArn"])
        for resource in dict.fromkeys(resources):
            self._call("add_tags", ResourceArn=resource, Tags=_tags(owner))
            tagged.append(resource)
        return tagged

    def _read(self, operation: str, **params: Any) -> dict[str, Any] | None:
        """A Describe call's answer; None when the resource does not exist."""
        return describe_or_none(self.client, operation, **params)

    def config_variants(self, config: str) -> list[VariantRef]:
        """The config's production variants; NotFoundError when it was deleted (SageMaker lets
        an in-use config be deleted)."""
        try:
            out = self.client.describe_endpoint_config(EndpointConfigName=config)
        except ClientError as exc:
            if _missing(exc):
                raise NotFoundError(f"endpoint config {config} does not exist") from exc
            raise translate(exc, "DescribeEndpointConfig") from exc
        except BotoCoreError as exc:
            raise translate(exc, "DescribeEndpointConfig") from exc
        return [variant_ref(v, out) for v in out.get("ProductionVariants", [])]

    def package_approval(self, arn: str) -> tuple[str | None, int | None]:
        """A registered model version's ModelApprovalStatus and version number."""
        try:
            out = self.client.describe_model_package(ModelPackageName=arn)
        except ClientError as exc:
            if _missing(exc):
                return ("NotFound", None)
            raise translate(exc, "DescribeModelPackage") from exc
        except BotoCoreError as exc:
            raise translate(exc, "DescribeModelPackage") from exc
        version = out.get("ModelPackageVersion")
        return (out.get("ModelApprovalStatus"), int(version) if version is not None else None)

    def instance_quotas(self, types: list[str], endpoint: str) -> list[InstanceQuota]:
        """The "<type> for endpoint usage" quotas of ``types`` and the account's other
        endpoints' use of each (aws/quotas.py); QuotaUnreadableError names a missing
        permission."""
        return quotas.read(self.quotas_client, self.client, types, endpoint)

    # --- act --------------------------------------------------------------------------------

    def apply(self, action: Action) -> None:
        handler = getattr(self, f"_{action.kind}", None)
        if handler is None:
            raise TypeError(f"SageMaker cannot apply {action.kind}")
        handler(action)

    def handles(self, action: Action) -> bool:
        return hasattr(self, f"_{action.kind}")

    def _call(
        self,
        operation: str,
        *,
        tolerate_exists: bool = False,
        updates: str | None = None,
        **params: Any,
    ) -> None:
        """One call. ``updates``: the endpoint it updates, which may be mid-update (busy)."""
        try:
            getattr(self.client, operation)(**params)
        except ClientError as exc:
            if tolerate_exists and _exists(exc):
                return
            if updates is not None and self._busy(updates, exc):
                raise EndpointBusyError(f"{operation}: {message_of(exc)}") from exc
            raise translate(exc, operation) from exc
        except BotoCoreError as exc:
            raise translate(exc, operation) from exc

    def _busy(self, endpoint: str, error: ClientError) -> bool:
        """A refused update of an endpoint neither InService nor failed is a busy endpoint.

        AWS documents no error code for "update in progress" (it is a ValidationException
        whose text may change), so the endpoint is described again instead of parsing the text.
        """
        if code_of(error) != "ValidationException":
            return False
        try:
            live = self.describe_endpoint(endpoint)
        except (TransientError, ActionRejectedError):
            return False
        return live is not None and live.status != IN_SERVICE and live.status not in FAILURES

    def _CreateModel(self, action: CreateModel) -> None:
        container: dict[str, Any]
        if action.model_package_arn:
            container = {"ModelPackageName": action.model_package_arn}
        else:
            container = {"Image": action.image}
            if action.model_data_url:
                container["ModelDataUrl"] = action.model_data_url
        if action.environment:
            container["Environment"] = action.environment
        params: dict[str, Any] = {
            "ModelName": action.name,
            "PrimaryContainer": container,
            "ExecutionRoleArn": action.execution_role_arn,
            "Tags": _tags(action.tags),
        }
        if action.vpc:
            params["VpcConfig"] = action.vpc
        self._call("create_model", tolerate_exists=True, **params)

    def _CreateEndpointConfig(self, action: CreateEndpointConfig) -> None:
        params: dict[str, Any] = {
            "EndpointConfigName": action.name,
            "ProductionVariants": [_variant(v) for v in action.variants],
            "Tags": _tags(action.tags),
            **action.settings,
        }
        if action.shadow_variants:
            params["ShadowProductionVariants"] = [_variant(v) for v in action.shadow_variants]
        self._call("create_endpoint_config", tolerate_exists=True, **params)

    def _CreateEndpoint(self, action: CreateEndpoint) -> None:
        self._call(
            "create_endpoint",
            tolerate_exists=True,
            EndpointName=action.endpoint,
            EndpointConfigName=action.config,
            Tags=_tags(action.tags),
        )

    def _UpdateEndpoint(self, action: UpdateEndpoint) -> None:
        """A variant that stays keeps the instance count it runs with (an autoscaler's or an
        operator's); only the weights come from the new config. Without
        ``RetainAllVariantProperties`` SageMaker resets every variant to the config's counts."""
        self._call(
            "update_endpoint",
            updates=action.endpoint,
            EndpointName=action.endpoint,
            EndpointConfigName=action.config,
            RetainAllVariantProperties=True,
            ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DesiredWeight"}],
        )

    def _SetWeights(self, action: SetWeights) -> None:
        """Weights, and a capacity only where the action means one (never in a rollout shift)."""
        self._call(
            "update_endpoint_weights_and_capacities",
            updates=action.endpoint,
            EndpointName=action.endpoint,
            DesiredWeightsAndCapacities=[
                {"VariantName": name, "DesiredWeight": weight}
                | ({"DesiredInstanceCount": action.counts[name]} if name in action.counts else {})
                for name, weight in sorted(action.weights.items())
            ],
        )

    def set_weights_now(
        self,
        action: SetWeights,
        time_left: Callable[[], float],
        sleep: Callable[[float], None] = time.sleep,
    ) -> bool:
        """The abort path: the weights call, tried again while SageMaker is still applying the
        previous change (``Updating`` after every weights change), for as long as
        ``time_left()`` allows; False when the time ran out first."""
        wait = ABORT_FIRST_WAIT_S
        while True:
            try:
                self._SetWeights(action)
            except EndpointBusyError:
                if time_left() < wait:
                    return False
                sleep(wait)
                wait = min(ABORT_MAX_WAIT_S, wait * 2)
                continue
            return True

    def _DeleteUnused(self, action: DeleteUnused) -> None:
        """Delete configs and models the endpoint does not use (never one in use)."""
        live = self.describe_endpoint(action.endpoint)
        in_use_configs = {live.config} if live else set()
        try:
            in_use_models = (
                {v.model for v in self.config_variants(live.config)}
                if live and live.config
                else set()
            )
        except NotFoundError:  # the live config is gone: which models it uses is unknown
            in_use_models = set(action.models)
        for config in action.configs:
            if config in in_use_configs:
                logger().info("kept endpoint config in use", extra={"config": config})
                continue
            self._delete("delete_endpoint_config", EndpointConfigName=config)
        for model in action.models:
            if model in in_use_models:
                logger().info("kept model in use", extra={"model": model})
                continue
            self._delete("delete_model", ModelName=model)

    def delete_endpoint(self, name: str) -> None:
        """Prune: delete the endpoint (its configs and models are left for inspection)."""
        self._delete("delete_endpoint", EndpointName=name)

    def _delete(self, operation: str, **params: Any) -> None:
        try:
            getattr(self.client, operation)(**params)
        except ClientError as exc:
            if _missing(exc):
                return
            raise translate(exc, operation) from exc
        except BotoCoreError as exc:
            raise translate(exc, operation) from exc
