"""End-to-end: `smgitops local up` as a subprocess, driven the way a user drives it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from smgitops import clock
from smgitops.aws.store import StatusStore
from smgitops.commands.common import DEFAULT_TABLE, status_json
from smgitops.drift.service import latest_finding
from smgitops.errors import SmgitopsError
from smgitops.local.scenario import Delivery, GitRemote, send_webhook
from tests.support.ingest import FakeGitHub, fake_github

SMGITOPS = [sys.executable, "-m", "smgitops.cli"]


@dataclass
class LocalUp:
    process: subprocess.Popen[str]
    webhook: str
    aws: str
    secret: str
    log: Path
    dashboard: str = ""  # the dashboard's URL from the ready line
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def client(self, service: str) -> Any:
        """A boto3 client on the emulator, one per service (a client costs a few hundred
        milliseconds of CPU to build; boto3 sessions are not thread-safe, hence the lock)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = boto3.session.Session().client(
                    service,
                    endpoint_url=self.aws,
                    region_name="us-east-1",
                    aws_access_key_id="local",
                    aws_secret_access_key="local",
                )
            return self._clients[service]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
        return subprocess.run(
            [*SMGITOPS, *args, "--aws", self.aws],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )

    def status(self, endpoint: str) -> dict[str, Any] | None:
        """The row ``smgitops status ENDPOINT --output json`` prints (None: no rollout recorded,
        or the emulator did not answer), read and shaped by the command's own functions in this
        process: a poll every 0.3 s cannot afford a CLI process (a second of CPU each). The
        command itself is tested in tests/integration/test_status_command.py, and here wherever
        a test runs ``cli("status", ...)``."""
        store = StatusStore(DEFAULT_TABLE, self.client("dynamodb"))
        try:
            found = store.get(endpoint)
            drift = latest_finding(store.history(endpoint, limit=50)) if found else "-"
        except SmgitopsError:
            return None
        return None if found is None else status_json(found, drift, clock.now())

    def weights(self, endpoint: str) -> dict[str, float]:
        sagemaker = self.client("sagemaker")
        try:
            out = sagemaker.describe_endpoint(EndpointName=endpoint)
        except sagemaker.exceptions.ClientError:
            return {}
        variants = out["ProductionVariants"]
        total = sum(v["DesiredWeight"] for v in variants) or 1.0
        return {v["VariantName"]: round(100 * v["DesiredWeight"] / total, 1) for v in variants}

    def wait_for(
        self,
        endpoint: str,
        commit: str,
        phases: set[str],
        timeout: float = 90,
        *,
        each: Callable[[dict[str, Any] | None], None] | None = None,
    ) -> dict[str, Any]:
        """Poll ``status`` until the rollout of ``commit`` reaches one of ``phases``
        (``each`` sees every status polled on the way)."""
        deadline = time.monotonic() + timeout
        status: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            status = self.status(endpoint)
            if each is not None:
                each(status)
            if status and status["commit"] == commit and status["phase"] in phases:
                return status
            time.sleep(0.3)
        raise AssertionError(f"{endpoint}@{commit[:12]} never reached {phases}: {status}")


@dataclass
class Repo:
    remote: GitRemote
    up: LocalUp

    def push(self, files: dict[str, str | None], message: str) -> tuple[str, Delivery]:
        sha = self.remote.commit(files, message)
        before, after = self.remote.push()
        delivery = send_webhook(
            self.up.webhook, self.up.secret, self.remote.push_payload(before, after)
        )
        return sha, delivery

    def declare(self, document: dict[str, Any], message: str) -> tuple[str, Delivery]:
        name = document["metadata"]["name"]
        return self.push({f"endpoints/{name}.yaml": yaml.safe_dump(document)}, message)


@contextmanager
def running_local_up(
    log: Path, *options: str, env_extra: dict[str, str] | None = None
) -> Iterator[LocalUp]:
    """``smgitops local up *options`` as a subprocess, stopped with SIGTERM at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    env["POWERTOOLS_LOG_LEVEL"] = "INFO"
    env.update(env_extra or {})
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*SMGITOPS, "local", "up", *options],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
        assert process.stdout is not None
        line = process.stdout.readline()  # the one ready line
        if not line:
            process.wait(timeout=10)
            raise AssertionError(f"local up did not start: {log.read_text()[-2000:]}")
        ready = json.loads(line)
        up = LocalUp(
            process,
            ready["webhook"],
            ready["aws"],
            ready["secret"],
            log,
            ready.get("dashboard", ""),
        )
        try:
            yield up
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                # local up ends itself STOP_GRACE (20 s) after the signal, with every thread's
                # stack in its log when it had to: what held it up is in the message below
                code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                tail = log.read_text()[-4000:]
                raise AssertionError(f"local up ignored SIGTERM: {tail}") from None
            if code != 0:
                raise AssertionError(f"local up stopped with {code}: {log.read_text()[-6000:]}")


GITHUB_TOKEN = "ghp_e2e-fake-token"  # the fake GitHub below receives it  # nosec B105


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    """GitHub's commit-status API, played by a loopback server that records what it is sent."""
    yield from fake_github()


@pytest.fixture(scope="module")
def local_up(tmp_path_factory: pytest.TempPathFactory, github: FakeGitHub) -> Iterator[LocalUp]:
    log = tmp_path_factory.mktemp("local-up") / "stderr.log"
    options = ("--update-delay", "0.5", "--drift-interval", "2", "--github-api-url", github.url)
    token = {"SMGITOPS_GITHUB_TOKEN": GITHUB_TOKEN}
    with running_local_up(log, *options, env_extra=token) as up:
        yield up


@pytest.fixture
def repo(local_up: LocalUp, tmp_path: Path) -> Repo:
    return Repo(GitRemote(tmp_path / "models"), local_up)


@dataclass
class Traffic:
    """Requests to an endpoint from a background thread (real InvokeEndpoint calls over HTTP)."""

    up: LocalUp
    endpoint: str
    pause: float = 0.0  # seconds between two requests (0: as fast as the emulator answers)
    served: dict[str, int] = field(default_factory=dict)  # by variant
    failed: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Traffic:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        runtime = self.up.client("sagemaker-runtime")
        while not self._stop.is_set():
            try:
                out = runtime.invoke_endpoint(
                    EndpointName=self.endpoint,
                    Body=b'{"tenure": 3}',
                    ContentType="application/json",
                )
            except runtime.exceptions.ClientError:
                self.failed += 1  # not created yet, or a model error
                self._stop.wait(0.05)
                continue
            variant = out["ResponseMetadata"]["HTTPHeaders"].get(
                "x-amzn-invoked-production-variant", "?"
            )
            self.served[variant] = self.served.get(variant, 0) + 1
            if self.pause:
                self._stop.wait(self.pause)
