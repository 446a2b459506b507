"""Drift: on a schedule, compare every endpoint whose last rollout finished with what is live.

Publishes the EMF metric ``Drift`` (differences found, dimension ``Endpoint``) for every
endpoint checked, records and notifies each change of drift once, and with ``selfHeal: true`` in the
repository's ``.smgitops.yaml`` at the rollout's commit (or, where the file does not say,
``SMGITOPS_SELF_HEAL=true``) starts a rollout back to the declaration. Answers
``{checked, drifted, healed, skipped, errors}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from smgitops.observability import count, logger
from smgitops.wiring.drift import drift

if TYPE_CHECKING:
    from smgitops.drift.service import DriftOutcome


class DriftRequest(BaseModel):
    """The EventBridge scheduled event (its content is not used), or ``{"endpoints": [...]}``
    to check only some endpoints (``smgitops invoke drift``)."""

    model_config = ConfigDict(extra="ignore")

    endpoints: list[str] = Field(default_factory=list, max_length=1000)


def publish(outcomes: list[DriftOutcome]) -> None:
    """EMF: ``Drift`` = number of differences, per endpoint that was compared."""
    for outcome in outcomes:
        if not outcome.report.skipped:
            count("Drift", len(outcome.report.drifts), endpoint=outcome.report.endpoint)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    del context
    request = DriftRequest.model_validate(event)
    outcomes = drift().check_all(request.endpoints)
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
