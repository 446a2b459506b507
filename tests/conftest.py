"""Shared fixtures: every test runs against fake credentials; nothing reaches AWS."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import pytest
from hypothesis import settings as hypothesis_settings

from smgitops.local import emulator

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"

hypothesis_settings.register_profile("ci", max_examples=150, deadline=None)
hypothesis_settings.register_profile("dev", max_examples=100, deadline=None)
hypothesis_settings.register_profile("nightly", max_examples=10_000, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# The emulator's additions to moto are process-wide once installed: install them up front so
# that every test sees the same moto, whatever ran before it in this worker.
emulator.install()

# Every test gets a fresh boto3 session (``clients.reset()`` in ``_aws_env``), and a fresh
# session parses botocore's endpoint and service JSON again: about half a second of each test
# that makes a client. One data loader per process keeps what it parsed (keyed by the data path,
# as botocore's own is); sessions, clients and moto state stay fresh for each test.
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


def load_event(name: str) -> dict[str, Any]:
    """The one way tests read a sample event: the same files `sam local invoke` uses."""
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "smgitops")
    monkeypatch.setenv("POWERTOOLS_DEV", "false")
    from smgitops.aws import clients

    clients.reset()


@pytest.fixture(autouse=True)
def _logs_to_this_test() -> None:
    """The powertools logger is built once per process and keeps the stream it was given: an
    earlier test's captured output, closed when that test ended. A later test's logs were then
    lost ("--- Logging error --- ValueError: I/O operation on closed file"), the reason of a
    failure with them. Each test's logs go to its own captured output."""
    from smgitops import observability

    if not observability._logger.cache_info().currsize:
        return  # not built yet: it takes the current streams when it is
    handler = observability.logger().registered_handler
    if isinstance(handler, logging.StreamHandler):
        to_stderr = os.environ.get("SMGITOPS_LOG_STREAM") == "stderr"
        handler.stream = sys.stderr if to_stderr else sys.stdout
