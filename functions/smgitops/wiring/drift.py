"""The drift function's service; a heal's engine is built at the first heal only."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from smgitops.drift.service import DriftService, HealerPort, Started
from smgitops.settings import DriftSettings
from smgitops.wiring import once

if TYPE_CHECKING:
    from collections.abc import Callable


@once
def drift() -> DriftService:
    """Built once per container (the adapters imported here: nothing at import time)."""
    from smgitops.aws.live import LiveEndpoints  # noqa: PLC0415
    from smgitops.aws.sns import SnsDriftNotifier, SnsPublisher  # noqa: PLC0415
    from smgitops.aws.store import StatusStore  # noqa: PLC0415

    settings = DriftSettings.from_env()
    return DriftService(
        store=StatusStore(settings.table),
        live=LiveEndpoints(),
        notifier=SnsDriftNotifier(SnsPublisher(settings.topic_arn)) if settings.topic_arn else None,
        # selfHeal may come from any repository's .smgitops.yaml: always able to start a rollout
        healer=Healer(settings),
        self_heal=settings.self_heal,
    )


class Healer:
    """``RolloutService.start``, its adapters (five boto3 clients) built at the first heal:
    most drift runs heal nothing and should not pay for them at cold start."""

    def __init__(self, settings: DriftSettings) -> None:
        self._settings = settings

    @cached_property
    def start(self) -> Callable[..., Started]:
        """:meth:`RolloutService.start` itself: HealerPort states its arguments, and the
        annotation below has the type checker hold RolloutService to them."""
        from smgitops.wiring.rollout import build  # noqa: PLC0415

        service: HealerPort = build(self._settings)
        return service.start
