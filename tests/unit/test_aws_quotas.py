"""aws/quotas.py: how a failed quota read is reported (the outcome is tested in
tests/integration/test_instance_quota.py)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from smgitops.aws import quotas
from smgitops.errors import QuotaUnreadableError, TransientError


class _Failing:
    def __init__(self, code: str) -> None:
        self.error = ClientError({"Error": {"Code": code, "Message": code}}, "ListServiceQuotas")

    def list_service_quotas(self, **_: Any) -> dict[str, Any]:
        raise self.error


def test_a_throttled_read_is_transient_so_the_tick_is_retried() -> None:
    with pytest.raises(TransientError):
        quotas.instance_quotas(_Failing("TooManyRequestsException"), ["ml.m5.large"])


def test_a_denied_read_names_the_permission() -> None:
    with pytest.raises(QuotaUnreadableError, match="servicequotas:ListServiceQuotas"):
        quotas.instance_quotas(_Failing("AccessDeniedException"), ["ml.m5.large"])
