"""The one place that creates the Logger and Metrics everything imports (created lazily)."""

from __future__ import annotations

import logging
import os
import sys
import threading
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

SERVICE = "smgitops"
NAMESPACE = "smgitops"


_LOCK = threading.Lock()


@cache
def _logger() -> Logger:
    from aws_lambda_powertools import Logger  # noqa: PLC0415 - keep cold start low

    if os.environ.get("SMGITOPS_LOG_STREAM") == "stderr":  # the local runtime: stdout is for data
        return Logger(service=SERVICE, logger_handler=logging.StreamHandler(sys.stderr))
    return Logger(service=SERVICE)


def logger() -> Logger:
    """Built once per process, under a lock: a second powertools Logger for the same service
    would find it configured and keep a handler without its formatter."""
    with _LOCK:
        return _logger()


def log_to_stderr() -> None:
    """Send the logs to stderr from now on (stdout carries a command's answer)."""
    os.environ["SMGITOPS_LOG_STREAM"] = "stderr"
    handler = logger().registered_handler
    if isinstance(handler, logging.StreamHandler):
        if getattr(handler.stream, "closed", False):  # setStream would flush a closed stream
            handler.stream = sys.stderr
        else:
            handler.setStream(sys.stderr)


@cache
def metrics() -> Metrics:
    from aws_lambda_powertools import Metrics  # noqa: PLC0415 - keep cold start low

    return Metrics(service=SERVICE, namespace=NAMESPACE)


_METRIC_LOCK = threading.Lock()


def count(name: str, value: float, *, endpoint: str) -> None:
    """One EMF count for one endpoint, printed now (dimension ``Endpoint``).

    Under a lock, and cleared afterwards even when ``POWERTOOLS_METRICS_DISABLED`` makes the
    flush a no-op: the local runtime calls the handlers from several threads, and a dimension
    left behind would be attributed to the next endpoint's metric.
    """
    from aws_lambda_powertools.metrics import MetricUnit  # noqa: PLC0415

    with _METRIC_LOCK:
        emf = metrics()
        emf.add_dimension(name="Endpoint", value=endpoint)
        emf.add_metric(name=name, unit=MetricUnit.Count, value=value)
        emf.flush_metrics()
        emf.clear_metrics()
