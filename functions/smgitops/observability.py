"""The one place that creates the Logger and Metrics everything imports (created lazily)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

SERVICE = "smgitops"
NAMESPACE = "smgitops"


@cache
def logger() -> Logger:
    from aws_lambda_powertools import Logger  # noqa: PLC0415 - keep cold start low

    return Logger(service=SERVICE)


@cache
def metrics() -> Metrics:
    from aws_lambda_powertools import Metrics  # noqa: PLC0415 - keep cold start low

    return Metrics(service=SERVICE, namespace=NAMESPACE)
