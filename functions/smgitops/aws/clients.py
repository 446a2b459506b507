"""boto3 clients with botocore's retry modes (never a hand-written retry loop).

One boto3 session per process (creating sessions dominates a cold start); clients are cached
per service and endpoint, and created under a lock because sessions are not thread-safe.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_LOCK = threading.Lock()


def _config(read_timeout: float | None = None, total_attempts: int | None = None) -> Config:
    # botocore: ``max_attempts`` counts retries after the first, ``total_max_attempts`` all
    retries: dict[str, Any] = {"mode": "standard"}
    if total_attempts is None:
        retries["max_attempts"] = int(os.environ.get("SMGITOPS_AWS_MAX_ATTEMPTS", "5"))
    else:
        retries["total_max_attempts"] = total_attempts
    return Config(
        retries=retries,
        connect_timeout=5 if read_timeout is None else min(5.0, read_timeout),
        read_timeout=30 if read_timeout is None else read_timeout,
    )


@cache
def session() -> boto3.session.Session:
    return boto3.session.Session()


@cache
def _client(
    service: str,
    endpoint_url: str | None,
    region: str | None,
    read_timeout: float | None = None,
    total_attempts: int | None = None,
) -> Any:
    with _LOCK:
        shared = session()
        return shared.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region
            or shared.region_name
            or os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            config=_config(read_timeout, total_attempts),
        )


def client(service: str, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A cached client; ``AWS_ENDPOINT_URL`` (botocore) points it at an emulator."""
    return _client(service, endpoint_url, region)


def timed_client(service: str, read_timeout: float) -> Any:
    """A cached client that waits ``read_timeout`` seconds for an answer and tries once (a
    request that is not idempotent, with its own deadline: a golden request)."""
    return _client(service, None, None, float(read_timeout), 1)


def reset() -> None:
    """Forget the session and clients (tests that switch endpoints, the local runtime)."""
    with _LOCK:
        _client.cache_clear()
        session.cache_clear()


class LazyClient:
    """An adapter's ``client`` attribute, created on first use (then cached on the adapter):
    a function that builds an adapter it may not call this time (the reconcile function's
    SageMaker, whose service model alone costs about one ``import boto3`` to load) does not
    pay for its client at cold start. Assigning the attribute sets the client."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.slot = f"_{service}_client"

    def __get__(self, adapter: object, owner: type | None = None) -> Any:
        if adapter is None:
            return self
        found = adapter.__dict__.get(self.slot)
        if found is None:
            found = adapter.__dict__[self.slot] = client(self.service)
        return found

    def __set__(self, adapter: object, value: Any) -> None:
        adapter.__dict__[self.slot] = value
