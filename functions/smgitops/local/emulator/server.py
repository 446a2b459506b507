"""The emulator as one thing to start: :func:`install` (patch moto's classes once),
:func:`emulated_aws` (decorator mode) and :class:`Emulator` (a moto server on loopback with the
background threads that settle endpoints, evaluate alarms and send traffic). Every request is
first checked against botocore's model and refused like AWS (:mod:`.conformance`).

Decorator mode::

    with emulated_aws(update_delay=0.1):
        ...  # boto3 calls; evaluate_alarms(now) to let time pass for alarms

Server mode::

    with Emulator.start() as aws:       # http://127.0.0.1:<free port>
        sm = aws.client("sagemaker")
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, Self

import boto3
from moto import mock_aws
from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
from moto.cloudwatch.models import CloudWatchBackend
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.responses import BaseResponse
from moto.dynamodb.responses import DynamoHandler
from moto.events.models import Rule
from moto.moto_api._internal.models import moto_api_backend
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse
from moto.server import ThreadedMotoServer
from moto.servicequotas.responses import ServiceQuotasResponse

from smgitops.local.emulator import (
    autoscaling,
    conformance,
    dynamodb,
    events,
    sagemaker,
    traffic,
)
from smgitops.local.emulator.cloudwatch import backend as cloudwatch
from smgitops.local.emulator.cloudwatch import strict
from smgitops.local.emulator.cloudwatch.backend import StateChange, evaluate_alarms
from smgitops.local.emulator.events import (
    clear_targets,
    wait_for_deliveries,
)
from smgitops.local.emulator.sagemaker import lifecycle
from smgitops.local.emulator.sagemaker.lifecycle import (
    set_update_delay,
    set_update_failure_mode,
    set_weights_delay,
)
from smgitops.local.emulator.sagemaker.quotas import patch_service_quotas
from smgitops.local.emulator.traffic import TrafficReport, set_seed, simulate_traffic

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from types import TracebackType

logger = logging.getLogger(__name__)
_INSTALL_LOCK = threading.Lock()
_MARKER = "_smgitops_emulator_installed"
DEFAULT_REGION = "us-east-1"
EVERY_ENDPOINT = "*"  # start_traffic's name for "each endpoint there is"
PRUNE_EVERY = 60.0  # seconds between two prunings of old metric data


def install() -> None:
    """Patch moto's SageMaker, Application Auto Scaling, SageMaker Runtime, CloudWatch,
    EventBridge and DynamoDB classes (once)."""
    with _INSTALL_LOCK:
        if getattr(SageMakerModelBackend, _MARKER, False):
            return
        sagemaker.patch(SageMakerModelBackend, SageMakerResponse)
        autoscaling.patch(ApplicationAutoscalingBackend, SageMakerModelBackend)
        traffic.patch(SageMakerRuntimeResponse)
        cloudwatch.patch(CloudWatchBackend, CloudWatchResponse)
        strict.patch(CloudWatchResponse, CloudWatchBackend)
        events.patch(Rule)
        conformance.patch(BaseResponse)
        dynamodb.patch(DynamoHandler)
        patch_service_quotas(ServiceQuotasResponse)
        setattr(SageMakerModelBackend, _MARKER, True)


@contextmanager
def _settings(
    update_delay: float | None,
    weights_delay: float | None,
    failure_mode: lifecycle.FailureMode | None,
    seed: int | None,
) -> Iterator[None]:
    saved = dataclasses.replace(lifecycle.SETTINGS)
    quotas = dict(lifecycle.SETTINGS.instance_quotas)
    if update_delay is not None:
        set_update_delay(update_delay)
    if weights_delay is not None:
        set_weights_delay(weights_delay)
    if failure_mode is not None:
        set_update_failure_mode(failure_mode)
    if seed is not None:
        set_seed(seed)
    try:
        yield
    finally:
        lifecycle.SETTINGS.update_delay = saved.update_delay
        lifecycle.SETTINGS.weights_delay = saved.weights_delay
        lifecycle.SETTINGS.failure_mode = saved.failure_mode
        lifecycle.SETTINGS.instance_quotas = quotas


@contextmanager
def emulated_aws(
    *,
    update_delay: float | None = None,
    weights_delay: float | None = None,
    failure_mode: lifecycle.FailureMode | None = None,
    seed: int | None = None,
) -> Iterator[None]:
    """Decorator-mode emulator: :func:`install` + ``moto.mock_aws()``, settings restored after.

    Registered targets are forgotten on exit, after pending deliveries have finished.
    """
    install()
    with _settings(update_delay, weights_delay, failure_mode, seed):
        try:
            with mock_aws():
                yield
                wait_for_deliveries(timeout=5.0)
        finally:
            clear_targets()


class Emulator:
    """moto's server on loopback with the emulator installed and a background evaluator.

    The background thread, every ``evaluation_interval`` seconds, completes endpoint
    transitions that are due, evaluates each alarm on its CloudWatch cadence and sends the
    traffic started with :meth:`start_traffic`.
    """

    def __init__(self, server: Any, host: str, port: int, region: str, interval: float) -> None:
        self._server = server
        self.host = host
        self.port = port
        self.region = region
        self.account_id = DEFAULT_ACCOUNT_ID
        self._interval = interval
        self._stop = threading.Event()
        self._traffic: dict[str, float] = {}  # endpoint -> requests per second
        self._traffic_debt: dict[str, float] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="emulator-evaluator", daemon=True)
        self._restore = ExitStack()
        self.metric_retention = 3 * 3600.0
        self._last_prune = time.monotonic()

    @classmethod
    def start(
        cls,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        region: str = DEFAULT_REGION,
        update_delay: float | None = None,
        weights_delay: float | None = None,
        failure_mode: lifecycle.FailureMode | None = None,
        seed: int | None = None,
        evaluation_interval: float = 0.5,
        metric_retention: float = 3 * 3600.0,
    ) -> Emulator:
        """Start the server (``port`` 0: a free port) and the background evaluator.

        The settings given here apply until :meth:`stop`, which restores the previous ones.
        """
        install()
        settings = ExitStack()
        settings.enter_context(_settings(update_delay, weights_delay, failure_mode, seed))
        # werkzeug would log every request to stderr at INFO
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        server.start()
        bound_host, bound_port = server.get_host_and_port()
        emulator = cls(server, bound_host, int(bound_port), region, evaluation_interval)
        emulator.metric_retention = metric_retention
        emulator._restore = settings
        emulator._thread.start()
        return emulator

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self, service: str) -> Any:
        """A boto3 client pointed at this emulator (test credentials if none are set)."""
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - the emulator accepts any key  # nosec B106
            region_name=self.region,
        )
        return session.client(service, endpoint_url=self.url)

    def reset(self) -> None:
        """Forget every AWS resource (moto's ``/moto-api/reset``); targets stay registered."""
        moto_api_backend.reset()

    def evaluate_alarms(self, now: datetime | float | None = None) -> list[StateChange]:
        return evaluate_alarms(now)

    def simulate_traffic(self, endpoint_name: str, requests: int, **kwargs: Any) -> TrafficReport:
        kwargs.setdefault("region", self.region)
        kwargs.setdefault("account_id", self.account_id)
        return simulate_traffic(endpoint_name, requests, **kwargs)

    def start_traffic(self, endpoint_name: str, rate_per_second: float = 20.0) -> None:
        """Send simulated requests to the endpoint continuously until :meth:`stop_traffic`.

        ``endpoint_name`` :data:`EVERY_ENDPOINT` (``"*"``): to each endpoint that exists, at
        that rate each (an endpoint also named on its own gets both). The rate is per
        wall-clock second, whatever the time scale of :mod:`smgitops.clock`.
        """
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        with self._lock:
            self._traffic[endpoint_name] = rate_per_second
            self._traffic_debt.setdefault(endpoint_name, 0.0)

    def stop_traffic(self, endpoint_name: str | None = None) -> None:
        with self._lock:
            names = list(self._traffic) if endpoint_name is None else [endpoint_name]
            for name in names:
                self._traffic.pop(name, None)
                self._traffic_debt.pop(name, None)

    def _send_traffic(self, elapsed: float) -> None:
        with self._lock:
            plan = []
            for name, rate in self._traffic.items():
                due = self._traffic_debt.get(name, 0.0) + rate * elapsed
                count = int(due)
                self._traffic_debt[name] = due - count
                plan.append((name, count))
        for key, count in plan:
            if count <= 0:
                continue
            names = (
                lifecycle.endpoint_names(self.account_id, self.region)
                if key == EVERY_ENDPOINT
                else [key]
            )
            for name in names:
                try:
                    self.simulate_traffic(name, count)
                except traffic.EndpointUnavailableError:
                    continue  # not created yet, or being created: nothing is served

    def _loop(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self._interval):
            now = time.monotonic()
            try:
                lifecycle.settle_all()
                self._send_traffic(now - last)
                evaluate_alarms(only_due=True)
                if now - self._last_prune >= PRUNE_EVERY:
                    cloudwatch.prune_metric_data(self.metric_retention)
                    self._last_prune = now
            except Exception:  # the loop must outlive one bad tick; the error is logged
                logger.exception("emulator background tick failed")
            last = now

    def stop(self) -> None:
        """Stop the evaluator and the server; wait briefly for pending target calls.

        moto keeps its resources in process-wide backends: they are reset here, so the next
        emulator of this process starts empty, as a new process would (as ``mock_aws`` does).
        """
        self._stop.set()
        self._thread.join(timeout=5.0)
        wait_for_deliveries(timeout=2.0)
        self._server.stop()
        self._restore.close()
        moto_api_backend.reset()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
