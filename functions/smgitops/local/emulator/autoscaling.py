"""Application Auto Scaling for SageMaker variants: moto's backend with the checks and effects
moto lacks (emulator only; sources in docs/emulator.md).

moto 5.2.5 stores scalable targets and policies but never touches the resource: a registered
min/max does not move the variant's instance count, deregistering leaves the target's
policies behind, a policy can be put on a target that does not exist, and SageMaker knows
nothing of the targets. Patched here:

- ``RegisterScalableTarget``: a new target needs MinCapacity and MaxCapacity, min ≤ max; when
  the endpoint is ``InService`` the variant's instance count is moved into [min, max], the way
  Application Auto Scaling does it (UpdateEndpointWeightsAndCapacities: ``Updating`` for the
  weights delay) (botocore:
  "If the specified resource is not active in the target service, this operation does not
  change the resource's current capacity. Otherwise, it changes the resource's current capacity
  to a value that is inside of this range.");
- ``DeregisterScalableTarget`` deletes the target's scaling policies and scheduled actions
  ("Deregistering a scalable target deletes the scaling policies and the scheduled actions that
  are associated with it."), and an unknown target is ``ObjectNotFoundException``;
- ``PutScalingPolicy`` on a target that is not registered is ``ObjectNotFoundException`` ("You
  cannot create a scaling policy until you have registered the resource as a scalable target");
- SageMaker ``UpdateEndpoint`` refuses a config that removes a variant that is a scalable target,
  or changes its instance type (SageMaker developer guide, "Update endpoints that use automatic
  scaling"); ``DeleteEndpoint`` deregisters the endpoint's targets ("Application Auto Scaling
  deregisters those models as scalable targets without notifying you");
- :func:`scale_variant`: what a scaling policy does when its metric crosses the target — the
  variant's instance count changed within [min, max], never while the endpoint is updating
  ("automatic scaling is blocked while the update operation is in progress") and never in while
  its scale-in is suspended. Tests use it to say "the stable variant has scaled to 5".
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from moto.applicationautoscaling import models as aas
from moto.applicationautoscaling.exceptions import AWSValidationException
from moto.core.exceptions import JsonRESTError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow
from moto.sagemaker.models import sagemaker_backends

from smgitops.declaration.autoscaling import SCALABLE_DIMENSION, SERVICE_NAMESPACE, resource_id
from smgitops.local.emulator.sagemaker.lifecycle import (
    LOCK,
    SETTINGS,
    Transition,
    schedule,
    settle,
    validation_error,
)

if TYPE_CHECKING:
    from collections.abc import Callable


class ObjectNotFoundError(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ObjectNotFoundException", message)


def _targets_of(backend: Any) -> dict[str, Any]:
    """The SageMaker variant targets of an Application Auto Scaling backend, by resource id."""
    return dict(backend.targets.get(SCALABLE_DIMENSION, {}))


def _aas_of(sagemaker: Any) -> Any:
    return aas.applicationautoscaling_backends[sagemaker.account_id][sagemaker.region_name]


def _variant_of(r_id: str) -> tuple[str, str] | None:
    parts = r_id.split("/")
    if len(parts) == 4 and parts[0] == "endpoint" and parts[2] == "variant":
        return parts[1], parts[3]
    return None


def _live_variant(sagemaker: Any, endpoint_name: str, variant: str) -> dict[str, Any] | None:
    """The variant's summary on an InService endpoint (None: absent, or not active)."""
    endpoint = sagemaker.endpoints.get(endpoint_name)
    if endpoint is None:
        return None
    settle(sagemaker, endpoint)
    if endpoint.endpoint_status != "InService":
        return None
    found: dict[str, Any] | None = next(
        (s for s in endpoint.production_variants if s.get("VariantName") == variant), None
    )
    return found


def _set_count(sagemaker: Any, endpoint_name: str, summary: dict[str, Any], count: int) -> None:
    """What Application Auto Scaling does to change a variant's capacity: SageMaker's
    UpdateEndpointWeightsAndCapacities with a DesiredInstanceCount (its service-linked role's
    policy, AWSApplicationAutoscalingSageMakerEndpointPolicy, grants exactly that), so the
    endpoint is ``Updating`` until the new count applies, and refuses another update meanwhile."""
    if int(summary.get("DesiredInstanceCount", count)) == count:
        return
    endpoint = sagemaker.endpoints[endpoint_name]
    summary["DesiredInstanceCount"] = count
    endpoint.endpoint_status = "Updating"
    endpoint.last_modified_time = utcnow()
    due = time.monotonic() + SETTINGS.weights_delay
    schedule(sagemaker, endpoint, Transition(kind="weights", due=due))


def _wrap_register(original: Callable[..., Any]) -> Callable[..., Any]:
    def register_scalable_target(
        self: Any,
        namespace: str,
        r_id: str,
        dimension: str,
        *,
        min_capacity: int | None,
        max_capacity: int | None,
        role_arn: str,
        suspended_state: Any,
    ) -> Any:
        with LOCK:
            existing = self.targets.get(dimension, {}).get(r_id)
            if existing is None and (min_capacity is None or max_capacity is None):
                raise AWSValidationException(
                    "MinCapacity and MaxCapacity are required to register a new scalable target"
                )
            low = min_capacity if min_capacity is not None else existing.min_capacity
            high = max_capacity if max_capacity is not None else existing.max_capacity
            if low > high:
                raise AWSValidationException(
                    f"Minimum capacity {low} cannot be greater than maximum capacity {high}"
                )
            target = original(
                self,
                namespace,
                r_id,
                dimension,
                min_capacity=min_capacity,
                max_capacity=max_capacity,
                role_arn=role_arn,
                suspended_state=None,
            )
            if suspended_state is not None:
                target.suspended_state = {**(target.suspended_state or {}), **suspended_state}
            where = _variant_of(r_id)
            if namespace == SERVICE_NAMESPACE and dimension == SCALABLE_DIMENSION and where:
                sagemaker = sagemaker_backends[self.account_id][self.region_name]
                summary = _live_variant(sagemaker, *where)
                if summary is not None:
                    count = int(summary.get("DesiredInstanceCount", 1))
                    _set_count(sagemaker, where[0], summary, max(low, min(high, count)))
            return target

    return register_scalable_target


def _deregister(self: Any, namespace: str, r_id: str, dimension: str) -> None:
    with LOCK:
        if r_id not in self.targets.get(dimension, {}):
            raise ObjectNotFoundError(
                f"No scalable target found for service namespace: {namespace}, resource ID: "
                f"{r_id}, scalable dimension: {dimension}"
            )
        del self.targets[dimension][r_id]
        for key, policy in list(self.policies.items()):
            if policy.resource_id == r_id and policy.scalable_dimension == dimension:
                policy.delete_alarms(self.account_id, self.region_name)
                del self.policies[key]
        self.scheduled_actions = [
            a
            for a in self.scheduled_actions
            if not (a.resource_id == r_id and a.scalable_dimension == dimension)
        ]


def _wrap_put_policy(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_scaling_policy(
        self: Any,
        *,
        policy_name: str,
        service_namespace: str,
        resource_id: str,
        scalable_dimension: str,
        policy_body: dict[str, Any],
        policy_type: str | None,
    ) -> Any:
        with LOCK:
            if resource_id not in self.targets.get(scalable_dimension, {}):
                raise ObjectNotFoundError(
                    f"No scalable target registered for service namespace: {service_namespace}, "
                    f"resource ID: {resource_id}, scalable dimension: {scalable_dimension}"
                )
            return original(
                self,
                policy_name=policy_name,
                service_namespace=service_namespace,
                resource_id=resource_id,
                scalable_dimension=scalable_dimension,
                policy_body=policy_body,
                policy_type=policy_type,
            )

    return put_scaling_policy


def _wrap_update_endpoint(original: Callable[..., str]) -> Callable[..., str]:
    def update_endpoint(
        self: Any, endpoint_name: str, endpoint_config_name: str, *args: Any, **kwargs: Any
    ) -> str:
        with LOCK:
            endpoint = self.endpoints.get(endpoint_name)
            config = self.endpoint_configs.get(endpoint_config_name)
            if endpoint is not None and config is not None:
                settle(self, endpoint)
                _refuse_scaled_changes(self, endpoint, config)
            return original(self, endpoint_name, endpoint_config_name, *args, **kwargs)

    return update_endpoint


def _refuse_scaled_changes(sagemaker: Any, endpoint: Any, config: Any) -> None:
    targets = _targets_of(_aas_of(sagemaker))
    wanted = {str(v["VariantName"]): v for v in config.production_variants}
    live_types = _instance_types(sagemaker, endpoint.endpoint_config_name)
    for summary in endpoint.production_variants:
        name = str(summary["VariantName"])
        if resource_id(endpoint.endpoint_name, name) not in targets:
            continue
        new = wanted.get(name)
        if new is None:
            raise validation_error(
                f"The variant {name} of endpoint {endpoint.endpoint_name} is a scalable target "
                "of Application Auto Scaling: deregister it (DeregisterScalableTarget) before "
                "an update that removes it."
            )
        if name in live_types and new.get("InstanceType") != live_types[name]:
            raise validation_error(
                f"The variant {name} of endpoint {endpoint.endpoint_name} is a scalable target "
                "of Application Auto Scaling: deregister it before changing its instance type."
            )


def _instance_types(sagemaker: Any, config_name: str) -> dict[str, str]:
    config = sagemaker.endpoint_configs.get(config_name)
    if config is None:
        return {}
    return {str(v["VariantName"]): str(v.get("InstanceType")) for v in config.production_variants}


def _wrap_delete_endpoint(original: Callable[..., None]) -> Callable[..., None]:
    def delete_endpoint(self: Any, endpoint_name: str) -> None:
        with LOCK:
            original(self, endpoint_name)
            backend = _aas_of(self)
            prefix = f"endpoint/{endpoint_name}/variant/"
            for r_id in _targets_of(backend):
                if r_id.startswith(prefix):
                    _deregister(backend, SERVICE_NAMESPACE, r_id, SCALABLE_DIMENSION)

    return delete_endpoint


def scale_variant(
    endpoint: str,
    variant: str,
    count: int,
    *,
    region: str = "us-east-1",
    account_id: str = DEFAULT_ACCOUNT_ID,
) -> int:
    """Scale ``variant`` to ``count`` instances as its scaling policy would: within its target's
    [min, max], not in while scale-in is suspended. Returns the count it now has; ``ValueError``
    when the variant is not a scalable target or the endpoint is not ``InService``."""
    with LOCK:
        backend = aas.applicationautoscaling_backends[account_id][region]
        target = _targets_of(backend).get(resource_id(endpoint, variant))
        if target is None:
            raise ValueError(f"{endpoint}/{variant} is not a scalable target: nothing scales it")
        sagemaker = sagemaker_backends[account_id][region]
        summary = _live_variant(sagemaker, endpoint, variant)
        if summary is None:
            raise ValueError(f"{endpoint}/{variant} is not on an InService endpoint")
        now = int(summary.get("DesiredInstanceCount", 1))
        wanted = max(target.min_capacity, min(target.max_capacity, count))
        suspended = target.suspended_state or {}
        if wanted < now and suspended.get("DynamicScalingInSuspended"):
            wanted = now
        if wanted > now and suspended.get("DynamicScalingOutSuspended"):
            wanted = now
        _set_count(sagemaker, endpoint, summary, wanted)
        return int(wanted)


def patch(backend_cls: Any, sagemaker_cls: Any) -> None:
    """Install the behaviour above on moto's classes (the caller makes it idempotent)."""
    backend_cls.register_scalable_target = _wrap_register(backend_cls.register_scalable_target)
    backend_cls.deregister_scalable_target = _deregister
    backend_cls.put_scaling_policy = _wrap_put_policy(backend_cls.put_scaling_policy)
    sagemaker_cls.update_endpoint = _wrap_update_endpoint(sagemaker_cls.update_endpoint)
    sagemaker_cls.delete_endpoint = _wrap_delete_endpoint(sagemaker_cls.delete_endpoint)
