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


def _config() -> Config:
    attempts = int(os.environ.get("SMGITOPS_AWS_MAX_ATTEMPTS", "5"))
    return Config(
        retries={"mode": "standard", "max_attempts": attempts},
        connect_timeout=5,
        read_timeout=30,
    )


@cache
def session() -> boto3.session.Session:
    return boto3.session.Session()


@cache
def _client(service: str, endpoint_url: str | None, region: str | None) -> Any:
    with _LOCK:
        shared = session()
        return shared.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region
            or shared.region_name
            or os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            config=_config(),
        )


def client(service: str, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A cached client; ``AWS_ENDPOINT_URL`` (botocore) points it at an emulator."""
    return _client(service, endpoint_url, region)


def reset() -> None:
    """Forget the session and clients (tests that switch endpoints, the local runtime)."""
    with _LOCK:
        _client.cache_clear()
        session.cache_clear()
