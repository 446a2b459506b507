"""What the operator's tools hold: the CLI's commands and the dashboard (``smgitops
dashboard``, and the local runtime's). Everything is built per call, against the table and
the AWS endpoint the command line names (adapters and boto3 imported on first use)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from smgitops.settings import EngineSettings
from smgitops.wiring import executions

if TYPE_CHECKING:
    from collections.abc import Mapping

    from smgitops.aws.cloudwatch import CloudWatch
    from smgitops.aws.deliveries import PushStore
    from smgitops.aws.metrics import VariantMetrics
    from smgitops.aws.store import StatusStore
    from smgitops.plan.live import LiveState
    from smgitops.rollout.service import RolloutService


def engine_settings(table: str, environ: Mapping[str, str] | None = None) -> EngineSettings:
    """The engine's settings from the environment, on the command line's ``--table``."""
    values = {**(os.environ if environ is None else environ), "SMGITOPS_TABLE": table}
    return EngineSettings.from_env(values)


def rollouts(settings: EngineSettings, state_machine_arn: str) -> RolloutService:
    """The engine the operator commands and the dashboard use: with executions even without a
    state machine ARN (answering a manual gate's task token needs none)."""
    from smgitops.wiring.rollout import build  # noqa: PLC0415

    service = build(settings)
    service.executions = executions(state_machine_arn)
    return service


def pushes(table: str) -> PushStore:
    from smgitops.aws.deliveries import PushStore  # noqa: PLC0415

    return PushStore(table)


def statuses(table: str) -> StatusStore:
    from smgitops.aws.store import StatusStore  # noqa: PLC0415

    return StatusStore(table)


def live_state(store: StatusStore | None) -> LiveState:
    """What is live (SageMaker, Application Auto Scaling) and last applied (``store``, when
    there is one): ``plan``."""
    from smgitops.aws.autoscaling import Autoscaling  # noqa: PLC0415
    from smgitops.aws.sagemaker import SageMaker  # noqa: PLC0415
    from smgitops.plan.live import LiveState  # noqa: PLC0415

    return LiveState(SageMaker(), Autoscaling(), store=store)


def alarms() -> CloudWatch:
    from smgitops.aws.cloudwatch import CloudWatch  # noqa: PLC0415

    return CloudWatch()


def metrics() -> VariantMetrics:
    from smgitops.aws.metrics import VariantMetrics  # noqa: PLC0415

    return VariantMetrics()
