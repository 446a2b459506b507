"""Instance quotas for endpoint usage (emulator only): SageMaker refuses an update whose new
fleet does not fit, with ``ResourceLimitExceeded``.

Every UpdateEndpoint starts the new config on a whole new fleet before it stops the old one
(botocore ``UpdateEndpoint``: "Deploys the EndpointConfig ... to a new fleet of instances ...
and then deletes the old instances"), so the fleets running, the fleets being started and the
new one count together. :func:`set_instance_quota` sets one; a type without one is unlimited.

Service Quotas' ``ListServiceQuotas(ServiceCode="sagemaker")`` answers the same quotas
(:func:`patch_service_quotas`; moto implements no ListServiceQuotas), paginated by
``MaxResults``/``NextToken`` like AWS, so the tick's read before a rollout (aws/quotas.py) sees
what the emulator's SageMaker enforces. Kinder than AWS: only the quotas set are listed (AWS
lists every SageMaker quota with its value).
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sagemaker import exceptions as sagemaker_errors
from moto.servicequotas.exceptions import NoSuchResource

from smgitops.local.emulator.sagemaker.lifecycle import SETTINGS, config_shadows, state_of


class ResourceLimitExceededError(sagemaker_errors.SagemakerClientError):
    code = "ResourceLimitExceeded"


def set_instance_quota(instance_type: str, instances: int | None) -> None:
    """The account's "<instance_type> for endpoint usage" quota (None: unlimited)."""
    if instances is None:
        SETTINGS.instance_quotas.pop(instance_type, None)
    else:
        SETTINGS.instance_quotas[instance_type] = instances


def _fleet(backend: Any, config_name: str) -> dict[str, int]:
    """Instances per type a config runs (production and shadow variants)."""
    config = backend.endpoint_configs.get(config_name)
    counts: dict[str, int] = {}
    if config is None:
        return counts
    for variant in [*config.production_variants, *config_shadows(config)]:
        kind = str(variant.get("InstanceType", ""))
        counts[kind] = counts.get(kind, 0) + int(variant.get("InitialInstanceCount", 0) or 0)
    return counts


def check_quota(backend: Any, config_name: str) -> None:
    """Refuse, as SageMaker does, a new fleet of ``config_name`` that the quotas cannot hold."""
    if not SETTINGS.instance_quotas:
        return
    in_use: dict[str, int] = {}
    transitions = state_of(backend).transitions
    for name, endpoint in backend.endpoints.items():
        pending = transitions.get(name)
        configs = [endpoint.endpoint_config_name]
        if pending is not None and pending.kind == "update":
            configs.append(pending.config_name)
        for config in configs:
            for kind, count in _fleet(backend, config).items():
                in_use[kind] = in_use.get(kind, 0) + count
    for kind, delta in _fleet(backend, config_name).items():
        quota = SETTINGS.instance_quotas.get(kind)
        if quota is not None and in_use.get(kind, 0) + delta > quota:
            raise ResourceLimitExceededError(
                f"The account-level service limit '{kind} for endpoint usage' is {quota} "
                f"Instances, with current utilization of {in_use.get(kind, 0)} Instances and a "
                f"request delta of {delta} Instances. Please use Service Quotas to request an "
                "increase for this quota."
            )


PAGE = 100  # ListServiceQuotas' MaxResults when none is given (botocore MaxResults: 1..100)


def _listed(region: str, account: str) -> list[dict[str, Any]]:
    return [
        {
            "ServiceCode": "sagemaker",
            "ServiceName": "Amazon SageMaker",
            "QuotaArn": f"arn:aws:servicequotas:{region}:{account}:sagemaker/L-EMU{index:05d}",
            "QuotaCode": f"L-EMU{index:05d}",
            "QuotaName": f"{kind} for endpoint usage",
            "Value": float(value),
            "Unit": "None",
            "Adjustable": True,
            "GlobalQuota": False,
        }
        for index, (kind, value) in enumerate(sorted(SETTINGS.instance_quotas.items()))
    ]


def patch_service_quotas(response_cls: Any) -> None:
    """``ListServiceQuotas`` on moto's Service Quotas: SageMaker's instance quotas as set."""

    def list_service_quotas(self: Any) -> str:
        params = json.loads(self.body or "{}")
        if params.get("ServiceCode") != "sagemaker":
            raise NoSuchResource
        quotas = _listed(self.region, getattr(self, "current_account", DEFAULT_ACCOUNT_ID))
        start = int(params.get("NextToken") or 0)
        size = int(params.get("MaxResults") or PAGE)
        page: dict[str, Any] = {"Quotas": quotas[start : start + size]}
        if start + size < len(quotas):
            page["NextToken"] = str(start + size)
        return json.dumps(page)

    response_cls.list_service_quotas = list_service_quotas
