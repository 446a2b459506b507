"""Integration fixtures: the rollout service on the emulator (moto + smgitops.local.emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from smgitops.aws import clients
from smgitops.aws.autoscaling import Autoscaling
from smgitops.aws.checks import Analysis
from smgitops.aws.cloudwatch import CloudWatch
from smgitops.aws.sagemaker import SageMaker
from smgitops.aws.store import StatusStore
from smgitops.declaration.models import Declaration
from smgitops.declaration.safeguards import TrafficSpec
from smgitops.local.emulator import emulated_aws
from smgitops.local.resources import create_table
from smgitops.rollout import analysis
from smgitops.rollout.service import RolloutService
from smgitops.rollout.start import StartOutcome
from smgitops.rollout.status import Phase, RolloutStatus
from smgitops.rollout.tick import TickResult

TABLE = "smgitops-test"


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Calls:
    """Every AWS API call made through the shared clients, by service and operation."""

    log: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        self.log.append((service, operation))

    def of(self, service: str) -> list[str]:
        return [op for svc, op in self.log if svc == service]

    def clear(self) -> None:
        self.log.clear()


@dataclass
class Engine:
    service: RolloutService
    clock: Clock
    calls: Calls

    @property
    def sagemaker(self) -> Any:
        return clients.client("sagemaker")

    @property
    def autoscaling(self) -> Any:
        return clients.client("application-autoscaling")

    @property
    def cloudwatch(self) -> Any:
        return clients.client("cloudwatch")

    def start(self, decl: Declaration, commit: str, pushed_at: float | None = None) -> StartOutcome:
        return self.service.start(
            decl,
            commit=commit,
            pushed_at=self.clock.now if pushed_at is None else pushed_at,
            source={"provider": "test"},
        )

    def tick(self, endpoint: str, rollout_id: str) -> TickResult:
        result = self.service.tick(endpoint, rollout_id)
        self.clock.advance(result.wait_seconds)
        return result

    def weights(self, endpoint: str) -> dict[str, float]:
        """The live desired weights, in percent, as DescribeEndpoint reports them."""
        out = self.sagemaker.describe_endpoint(EndpointName=endpoint)
        variants = out["ProductionVariants"]
        total = sum(v["DesiredWeight"] for v in variants) or 1.0
        return {v["VariantName"]: round(100 * v["DesiredWeight"] / total, 3) for v in variants}

    def run(
        self, endpoint: str, rollout_id: str, limit: int = 60
    ) -> list[tuple[Phase, dict[str, float]]]:
        """Tick until done; (phase, live weights) after every tick."""
        trail = []
        for _ in range(limit):
            result = self.tick(endpoint, rollout_id)
            trail.append((result.phase, self.weights(endpoint)))
            if result.done:
                return trail
        raise AssertionError(f"rollout did not end: {trail}")

    def to_first_step(self, endpoint: str, rollout_id: str) -> RolloutStatus:
        """Tick until the rollout is Progressing on its first step; that status."""
        for _ in range(5):
            self.tick(endpoint, rollout_id)
            status = self.service.store.get(endpoint)
            if status is not None and status.phase == Phase.PROGRESSING:
                return status
        raise AssertionError("never reached the first step")

    def deploy(self, decl: Declaration, commit: str) -> StartOutcome:
        outcome = self.start(decl, commit)
        trail = self.run(decl.name, outcome.rollout_id)
        assert trail[-1][0] == Phase.SUCCEEDED, trail
        return outcome


class ServedTraffic(Analysis):
    """The deployed checks, with every step's traffic taken as served: for the engine tests
    about something else (tick-by-tick on a fake clock, without requests). The traffic floor
    itself is tested on CloudWatch's own counts (test_traffic_floor.py, engine_with_analysis)."""

    def judge(
        self, declaration: Declaration, status: RolloutStatus, now: float
    ) -> analysis.StepJudgement:
        floor = declaration.spec.rollout.analysis.floor
        if not isinstance(floor, TrafficSpec):
            return super().judge(declaration, status, now)
        served = (float(floor.min_invocations), float(floor.min_invocations))
        return analysis.judge_traffic(floor, served, status.extensions)


@pytest.fixture
def engine() -> Iterator[Engine]:
    # tick-by-tick tests: every change applies at once (test_abort_timing.py gives them time)
    with emulated_aws(update_delay=0, weights_delay=0, seed=7):
        clients.reset()
        create_table(clients.client("dynamodb"), TABLE)
        calls = Calls()
        for service in ("sagemaker", "cloudwatch", "dynamodb", "application-autoscaling"):
            clients.client(service).meta.events.register("before-call.*.*", calls)
        clock = Clock()
        service = RolloutService(
            sagemaker=SageMaker(),
            cloudwatch=CloudWatch(),
            store=StatusStore(TABLE),
            autoscaling=Autoscaling(),
            clock=clock,
            analysis=ServedTraffic(),
        )
        yield Engine(service, clock, calls)
    clients.reset()
