"""Drift: on a schedule, compare every endpoint whose last rollout finished with what is live.

Publishes the EMF metric ``Drift`` (differences found, dimension ``Endpoint``) for every
endpoint checked, records and notifies each change of drift once, and with ``selfHeal: true`` in the
repository's ``.smgitops.yaml`` at the rollout's commit (or, where the file does not say,
``SMGITOPS_SELF_HEAL=true``) starts a rollout back to the declaration. Answers
``{checked, drifted, healed, skipped, errors}``.
"""

from __future__ import annotations

from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from smgitops.drift.service import DriftService
from smgitops.observability import count, logger
from smgitops.settings import DriftSettings

if TYPE_CHECKING:
    from smgitops.declaration.models import Declaration
    from smgitops.drift.service import DriftOutcome
    from smgitops.rollout.service import RolloutService
    from smgitops.rollout.start import StartOutcome
    from smgitops.rollout.status import Context


class DriftRequest(BaseModel):
    """The EventBridge scheduled event (its content is not used), or ``{"endpoints": [...]}``
    to check only some endpoints (``smgitops invoke drift``)."""

    model_config = ConfigDict(extra="ignore")

    endpoints: list[str] = Field(default_factory=list, max_length=1000)


@cache
def service() -> DriftService:
    """Wire the real adapters once per container (imported here: nothing at import time)."""
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
    def _service(self) -> RolloutService:
        from smgitops.rollout.service import RolloutService  # noqa: PLC0415

        return RolloutService.from_settings(self._settings)

    def start(
        self,
        declaration: Declaration,
        *,
        commit: str,
        pushed_at: float,
        source: dict[str, str],
        force: bool = False,
        context: Context | None = None,
    ) -> StartOutcome:
        return self._service.start(
            declaration,
            commit=commit,
            pushed_at=pushed_at,
            source=source,
            force=force,
            context=context,
        )


def publish(outcomes: list[DriftOutcome]) -> None:
    """EMF: ``Drift`` = number of differences, per endpoint that was compared."""
    for outcome in outcomes:
        if not outcome.report.skipped:
            count("Drift", len(outcome.report.drifts), endpoint=outcome.report.endpoint)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    del context
    request = DriftRequest.model_validate(event)
    outcomes = service().check_all(request.endpoints)
    publish(outcomes)
    answer = {
        "checked": [o.report.endpoint for o in outcomes if not o.report.skipped],
        "drifted": {o.report.endpoint: o.report.summary() for o in outcomes if o.report.drifted},
        "healed": {o.report.endpoint: o.healed for o in outcomes if o.healed},
        "skipped": {o.report.endpoint: o.report.skipped for o in outcomes if o.report.skipped},
        "errors": {o.report.endpoint: o.error for o in outcomes if o.error},
    }
    logger().info("drift check", extra=answer)
    return answer
