"""The rollout service: every rollout use case on one set of adapters.

One module per use case — ``tick.py`` (load status → observe → decide → act → persist),
``start.py`` (a push's rollouts), ``operate.py`` (alarm, abort, promote), ``owning.py``
(transfer, adopt), ``prune.py`` — on
``engine.py`` (the adapters of ``ports.py``, the clock, the one write path). Only this package's
modules with side effects, and only through the adapters they are given: none imports boto3.
"""

from __future__ import annotations

from smgitops.rollout.operate import Operating
from smgitops.rollout.owning import Owning
from smgitops.rollout.prune import Pruning
from smgitops.rollout.start import Starting
from smgitops.rollout.tick import Ticking


class RolloutService(Ticking, Starting, Operating, Owning, Pruning):
    """What the handlers, the CLI, the dashboard and the local runtime hold (built on its real
    adapters by :mod:`smgitops.wiring.rollout`)."""
