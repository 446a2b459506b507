"""The rollout service: every rollout use case on one set of adapters.

One module per use case — ``tick.py`` (load status → observe → decide → act → persist),
``start.py`` (a push's rollouts), ``operate.py`` (alarm, abort, promote), ``owning.py``
(transfer, adopt), ``prune.py`` — on
``engine.py`` (the adapters of ``ports.py``, the clock, the one write path). Only this package's
modules with side effects, and only through the adapters they are given: none imports boto3.
"""

from __future__ import annotations

from smgitops.errors import SmgitopsError
from smgitops.observability import logger
from smgitops.rollout.operate import Operating
from smgitops.rollout.owning import Owning
from smgitops.rollout.prune import Pruning
from smgitops.rollout.start import Starting
from smgitops.rollout.status import Phase, RolloutStatus
from smgitops.rollout.tick import Ticking


class RolloutService(Ticking, Starting, Operating, Owning, Pruning):
    """What the handlers, the CLI, the dashboard and the local runtime hold (built on its real
    adapters by :mod:`smgitops.wiring.rollout`)."""

    def promote(self, endpoint: str, *, full: bool = False, by: str = "") -> RolloutStatus:
        """Promote, then act at once: a tick now, so the step ends (or the candidate gets
        100 %) when the operator asks, not when the state machine's wait for the current bake
        or hold ends. A gate needs no tick here: releasing its task token wakes the execution.
        A tick that cannot run now (SageMaker busy, a concurrent tick) leaves the request to
        the rollout's next tick."""
        saved = super().promote(endpoint, full=full, by=by)
        if saved.gate or saved.phase not in {Phase.PROGRESSING, Phase.PAUSED}:
            return saved
        try:
            self.tick(endpoint, saved.rollout_id)
        except SmgitopsError as exc:
            logger().info("promote left to the next tick", extra={"error": str(exc)})
            return saved
        return self._require(endpoint)
