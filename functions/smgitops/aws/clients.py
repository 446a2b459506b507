"""boto3 clients with botocore's retry modes (never a hand-written retry loop)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# "standard" retries throttling and 5xx with exponential backoff and jitter.


def _config() -> Config:
    attempts = int(os.environ.get("SMGITOPS_AWS_MAX_ATTEMPTS", "5"))
    return Config(
        retries={"mode": "standard", "max_attempts": attempts},
        connect_timeout=5,
        read_timeout=30,
    )


@cache
def client(service: str, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A cached client; ``AWS_ENDPOINT_URL`` (botocore) points it at an emulator."""
    session = boto3.session.Session()
    return session.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region
        or session.region_name
        or os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=_config(),
    )


def reset() -> None:
    """Forget cached clients (tests that switch endpoints, the local runtime)."""
    client.cache_clear()
