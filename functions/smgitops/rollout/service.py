"""The rollout service: every rollout use case on one set of adapters.

One module per use case — ``tick.py`` (load status → observe → decide → act → persist),
``start.py`` (a push's rollouts), ``operate.py`` (alarm, abort, promote), ``prune.py`` — on
``engine.py`` (the adapters of ``ports.py``, the clock, the one write path). Only this package's
modules with side effects, and only through the adapters they are given: none imports boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smgitops.rollout.operate import Operating
from smgitops.rollout.prune import Pruning
from smgitops.rollout.start import Starting
from smgitops.rollout.tick import Ticking

if TYPE_CHECKING:
    from smgitops.settings import EngineSettings


class RolloutService(Ticking, Starting, Operating, Pruning):
    """What the handlers, the CLI, the dashboard and the local runtime hold."""

    @classmethod
    def from_settings(cls, settings: EngineSettings) -> RolloutService:
        """Wire the real adapters (imported here so the core stays free of boto3)."""
        from smgitops.aws.autoscaling import Autoscaling  # noqa: PLC0415
        from smgitops.aws.checks import Analysis  # noqa: PLC0415
        from smgitops.aws.cloudwatch import CloudWatch  # noqa: PLC0415
        from smgitops.aws.notify import notifier_from  # noqa: PLC0415
        from smgitops.aws.sagemaker import SageMaker  # noqa: PLC0415
        from smgitops.aws.stepfunctions import Executions  # noqa: PLC0415
        from smgitops.aws.store import StatusStore  # noqa: PLC0415

        arn = getattr(settings, "state_machine_arn", None)
        return cls(
            analysis=Analysis(),
            autoscaling=Autoscaling(),
            sagemaker=SageMaker(),
            cloudwatch=CloudWatch(),
            store=StatusStore(settings.table),
            executions=Executions(arn) if arn else None,
            notifier=notifier_from(settings),
        )
