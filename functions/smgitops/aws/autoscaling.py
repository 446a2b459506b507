"""Application Auto Scaling adapter: the scalable targets of an endpoint's variants, and the
rollout's RegisterScaling / DeregisterScaling actions (idempotent).

ServiceNamespace ``sagemaker``, ResourceId ``endpoint/<endpoint>/variant/<variant>``,
ScalableDimension ``sagemaker:variant:DesiredInstanceCount`` (botocore
``application-autoscaling``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws import clients
from smgitops.aws.errors import code_of, translate
from smgitops.declaration.autoscaling import SCALABLE_DIMENSION, SERVICE_NAMESPACE, resource_id
from smgitops.errors import TransientError
from smgitops.rollout.status import ScalingPolicy, VariantScaling

if TYPE_CHECKING:
    from smgitops.rollout.actions import Action, DeregisterScaling, RegisterScaling

MAX_PAGES = 20  # DescribeScalableTargets: 50 a page; one endpoint has a handful of variants
# "Concurrent updates caused an exception, for example, if you request an update to an
# Application Auto Scaling resource that already has a pending update." (botocore): try again.
CONCURRENT = "ConcurrentUpdateException"
NOT_FOUND = "ObjectNotFoundException"


class Autoscaling:
    """Every Application Auto Scaling call smgitops makes."""

    client = clients.LazyClient("application-autoscaling")

    def __init__(self, client: Any = None) -> None:
        if client is not None:
            self.client = client

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            out: dict[str, Any] = getattr(self.client, operation)(**params)
        except ClientError as exc:
            if code_of(exc) == CONCURRENT:
                raise TransientError(f"{operation}: {exc}") from exc
            raise translate(exc, operation) from exc
        except BotoCoreError as exc:
            raise translate(exc, operation) from exc
        return out

    # --- observe ----------------------------------------------------------------------------

    def targets(
        self, endpoint: str, variants: list[str], *, policies: bool = False
    ) -> dict[str, VariantScaling]:
        """The scalable targets of ``variants`` (absent: not registered); with ``policies``,
        each one's scaling policies too (one more call per registered variant)."""
        if not variants:
            return {}
        ids = {resource_id(endpoint, v): v for v in variants}
        request: dict[str, Any] = {
            "ServiceNamespace": SERVICE_NAMESPACE,
            "ResourceIds": list(ids),
            "ScalableDimension": SCALABLE_DIMENSION,
        }
        found: dict[str, VariantScaling] = {}
        for _ in range(MAX_PAGES):
            out = self._call("describe_scalable_targets", **request)
            for target in out.get("ScalableTargets", []):
                variant = ids.get(target["ResourceId"])
                if variant is None:
                    continue
                found[variant] = VariantScaling(
                    variant=variant,
                    min_capacity=int(target["MinCapacity"]),
                    max_capacity=int(target["MaxCapacity"]),
                    suspended={k: bool(v) for k, v in (target.get("SuspendedState") or {}).items()},
                    policies=self._policies(endpoint, variant) if policies else None,
                )
            token = out.get("NextToken")
            if not token:
                return found
            request["NextToken"] = token
        raise TransientError(f"DescribeScalableTargets: more than {MAX_PAGES} pages for {endpoint}")

    def _policies(self, endpoint: str, variant: str) -> list[ScalingPolicy]:
        request: dict[str, Any] = {
            "ServiceNamespace": SERVICE_NAMESPACE,
            "ResourceId": resource_id(endpoint, variant),
            "ScalableDimension": SCALABLE_DIMENSION,
        }
        found: list[ScalingPolicy] = []
        for _ in range(MAX_PAGES):
            out = self._call("describe_scaling_policies", **request)
            for policy in out.get("ScalingPolicies", []):
                kind = str(policy.get("PolicyType", "TargetTrackingScaling"))
                key = f"{kind}PolicyConfiguration"
                found.append(
                    ScalingPolicy(
                        name=policy["PolicyName"],
                        policy_type=kind,
                        configuration=dict(policy.get(key) or {}),
                    )
                )
            token = out.get("NextToken")
            if not token:
                return found
            request["NextToken"] = token
        raise TransientError(f"DescribeScalingPolicies: more than {MAX_PAGES} pages for {variant}")

    # --- act --------------------------------------------------------------------------------

    def handles(self, action: Action) -> bool:
        return action.kind in {"RegisterScaling", "DeregisterScaling"}

    def apply(self, action: Action) -> None:
        if action.kind == "RegisterScaling":
            self._register(action)
        elif action.kind == "DeregisterScaling":
            self._deregister(action)
        else:
            raise TypeError(f"Application Auto Scaling cannot apply {action.kind}")

    def _register(self, action: RegisterScaling) -> None:
        target: dict[str, Any] = {
            "ServiceNamespace": SERVICE_NAMESPACE,
            "ResourceId": resource_id(action.endpoint, action.variant),
            "ScalableDimension": SCALABLE_DIMENSION,
        }
        params = dict(target)
        if action.min_capacity is not None:
            params["MinCapacity"] = action.min_capacity
        if action.max_capacity is not None:
            params["MaxCapacity"] = action.max_capacity
        if action.suspended is not None:
            params["SuspendedState"] = {
                name: action.suspended.get(name, False)
                for name in (
                    "DynamicScalingInSuspended",
                    "DynamicScalingOutSuspended",
                    "ScheduledScalingSuspended",
                )
            }
        self._call("register_scalable_target", **params)
        for policy in action.policies:
            self._call(
                "put_scaling_policy",
                PolicyName=policy.name,
                PolicyType=policy.policy_type,
                **{f"{policy.policy_type}PolicyConfiguration": policy.configuration},
                **target,
            )

    def _deregister(self, action: DeregisterScaling) -> None:
        """Deregister (its policies go with it); one that is gone already is fine."""
        try:
            self.client.deregister_scalable_target(
                ServiceNamespace=SERVICE_NAMESPACE,
                ResourceId=resource_id(action.endpoint, action.variant),
                ScalableDimension=SCALABLE_DIMENSION,
            )
        except ClientError as exc:
            if code_of(exc) == NOT_FOUND:
                return
            if code_of(exc) == CONCURRENT:
                raise TransientError(f"DeregisterScalableTarget: {exc}") from exc
            raise translate(exc, "DeregisterScalableTarget") from exc
        except BotoCoreError as exc:
            raise translate(exc, "DeregisterScalableTarget") from exc
