"""The account's SageMaker instance quotas and what other endpoints already hold of them, read
before a rollout creates capacity (rollout/decide/phases.py refuses a rollout whose peak
cannot fit).

* The quota: Service Quotas ``ListServiceQuotas(ServiceCode="sagemaker")``, the quota named
  "<instance type> for endpoint usage" (the name SageMaker's ResourceLimitExceeded quotes).
  One paginated read per tick, only when the rollout needs instances.
* The use: every other endpoint's instances of that type (``ListEndpoints``, then
  ``DescribeEndpoint`` for its current instance count and ``DescribeEndpointConfig`` for its
  type: DescribeEndpoint's variant summary has no instance type). Read only for a type that
  has a quota, and bounded (:data:`MAX_ENDPOINTS`); past the bound the use is unknown and
  nothing is refused up front (SageMaker's own ResourceLimitExceeded still ends the rollout
  before any traffic moves).

A quota that cannot be read for lack of permission is an error naming the permission
(:class:`QuotaUnreadableError`); a throttled read is transient (the tick is retried).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws.errors import code_of, describe_or_none, is_transient, message_of
from smgitops.errors import QuotaUnreadableError, TransientError
from smgitops.rollout.observation import InstanceQuota

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

SERVICE_CODE = "sagemaker"
MAX_QUOTA_PAGES = 20  # ListServiceQuotas pages (SageMaker has a few hundred quotas)
MAX_ENDPOINTS = 200  # other endpoints counted; past it, their use is unknown
DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"}


def quota_name(instance_type: str) -> str:
    return f"{instance_type} for endpoint usage"


def _failed(exc: Exception, operation: str, permission: str) -> Exception:
    if is_transient(exc):
        return TransientError(f"{operation}: {exc}")
    if isinstance(exc, ClientError) and code_of(exc) in DENIED:
        return QuotaUnreadableError(
            f"{operation} was denied ({message_of(exc) or code_of(exc)}): grant {permission} "
            "to the tick function's role"
        )
    return QuotaUnreadableError(f"{operation} failed: {exc}")


def _pages(
    call: Callable[..., dict[str, Any]], pages: int, permission: str, **params: Any
) -> Iterator[dict[str, Any]]:
    """Up to ``pages`` pages of a paginated List call (MaxResults 100, NextToken)."""
    token: str | None = None
    operation = permission.split(":")[1]
    for _ in range(pages):
        try:
            page = call(MaxResults=100, **params, **({"NextToken": token} if token else {}))
        except (ClientError, BotoCoreError) as exc:
            raise _failed(exc, operation, permission) from exc
        yield page
        token = page.get("NextToken")
        if not token:
            return


def instance_quotas(quotas_client: Any, types: Iterable[str]) -> dict[str, int]:
    """The quota of each of ``types`` that Service Quotas lists (a type it omits: unknown)."""
    wanted = {quota_name(t): t for t in types}
    found: dict[str, int] = {}
    listing = quotas_client.list_service_quotas
    pages = _pages(
        listing, MAX_QUOTA_PAGES, "servicequotas:ListServiceQuotas", ServiceCode=SERVICE_CODE
    )
    for page in pages:
        for quota in page.get("Quotas", []):
            kind = wanted.get(str(quota.get("QuotaName", "")))
            if kind is not None and quota.get("Value") is not None:
                found[kind] = int(quota["Value"])
        if len(found) == len(wanted):
            break
    return found


def _endpoints(sagemaker: Any) -> list[str] | None:
    """Every endpoint's name; None past :data:`MAX_ENDPOINTS` (or its pages)."""
    names: list[str] = []
    complete = False
    pages = MAX_ENDPOINTS // 100 + 1
    for page in _pages(sagemaker.list_endpoints, pages, "sagemaker:ListEndpoints"):
        names += [str(e["EndpointName"]) for e in page.get("Endpoints", [])]
        complete = not page.get("NextToken")
    return names if complete and len(names) <= MAX_ENDPOINTS else None


def _held(sagemaker: Any, name: str) -> dict[str, int]:
    """Instances per type an endpoint holds now (its current counts, autoscaled or not)."""
    try:
        endpoint = describe_or_none(sagemaker, "describe_endpoint", EndpointName=name)
        config_name = endpoint.get("EndpointConfigName") if endpoint else None
        config = (
            describe_or_none(sagemaker, "describe_endpoint_config", EndpointConfigName=config_name)
            if config_name
            else None
        )
    except TransientError:
        raise
    except Exception as exc:  # translated ActionRejectedError
        raise QuotaUnreadableError(f"the use of endpoint {name} could not be read: {exc}") from exc
    if endpoint is None or config is None:
        return {}
    types = {v["VariantName"]: v.get("InstanceType", "") for v in config["ProductionVariants"]}
    held: dict[str, int] = {}
    for variant in endpoint.get("ProductionVariants", []):
        kind = types.get(variant["VariantName"], "")
        count = variant.get("CurrentInstanceCount", variant.get("DesiredInstanceCount", 0))
        if kind:
            held[kind] = held.get(kind, 0) + int(count or 0)
    return held


def in_use_elsewhere(sagemaker: Any, types: Iterable[str], endpoint: str) -> dict[str, int] | None:
    """Instances of ``types`` that the account's other endpoints hold; None: too many to count."""
    wanted = set(types)
    names = _endpoints(sagemaker)
    if names is None:
        return None
    used = dict.fromkeys(wanted, 0)
    for name in names:
        if name == endpoint:
            continue
        for kind, count in _held(sagemaker, name).items():
            if kind in wanted:
                used[kind] += count
    return used


def read(
    quotas_client: Any, sagemaker: Any, types: Iterable[str], endpoint: str
) -> list[InstanceQuota]:
    """The quotas of ``types`` that exist, each with the other endpoints' use of it."""
    quotas = instance_quotas(quotas_client, types)
    if not quotas:
        return []
    used = in_use_elsewhere(sagemaker, quotas, endpoint)
    return [
        InstanceQuota(instance_type=kind, quota=quota, others=None if used is None else used[kind])
        for kind, quota in sorted(quotas.items())
    ]
