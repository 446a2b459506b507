"""The one place that creates the Logger and Metrics everything imports (created lazily)."""

from __future__ import annotations

import logging
import os
import sys
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

SERVICE = "smgitops"
NAMESPACE = "smgitops"


@cache
def logger() -> Logger:
    from aws_lambda_powertools import Logger  # noqa: PLC0415 - keep cold start low

    if os.environ.get("SMGITOPS_LOG_STREAM") == "stderr":  # the local runtime: stdout is for data
        return Logger(service=SERVICE, logger_handler=logging.StreamHandler(sys.stderr))
    return Logger(service=SERVICE)


@cache
def metrics() -> Metrics:
    from aws_lambda_powertools import Metrics  # noqa: PLC0415 - keep cold start low

    return Metrics(service=SERVICE, namespace=NAMESPACE)
