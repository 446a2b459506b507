"""decide(declaration, status, observation) -> Decision: the whole rollout logic, pure.

One function per phase (a table, not an if-chain). No boto3, no clock, no I/O: the clock is
``observation.now``. Every decision is safe to repeat: actions are idempotent (content-addressed
names, weights compared with what is live), so a tick that crashed between acting and persisting
converges when it runs again.

One tick works on one :class:`~smgitops.rollout.decide.context.TickContext`; the files split it
by concern:

* ``context``: ``TickContext`` (the working state of one tick) and ``Decision``;
* ``resources``: models, endpoint configs, generated alarms, weights, cleanup;
* ``transitions``: into a step, into promotion, into the final config, ``rollback``;
* ``checks``: guard, busy, held weights, approval, freeze windows, golden requests,
  judgements, and ``needs()`` (the checks that need I/O this tick);
* ``gates``: manual gates and the shadow run;
* ``phases``: one function per phase, ``PHASES`` and ``decide()``;
* ``requests``: from outside the loop: ``new_status``, ``queue``, ``abort_now``, ``rejected``.
"""

from smgitops.declaration.metrics import namespace_of
from smgitops.rollout.decide.checks import needs
from smgitops.rollout.decide.context import Decision, TickContext
from smgitops.rollout.decide.gates import BEFORE_FIRST_STEP, BEFORE_PROMOTION
from smgitops.rollout.decide.phases import PHASES, decide
from smgitops.rollout.decide.requests import (
    abort_now,
    new_status,
    queue,
    rejected,
)
from smgitops.rollout.decide.resources import (
    MANAGED_TAGS,
    candidate_ref,
    generated_alarms,
)
from smgitops.rollout.decide.transitions import rollback

__all__ = [
    "BEFORE_FIRST_STEP",
    "BEFORE_PROMOTION",
    "MANAGED_TAGS",
    "PHASES",
    "Decision",
    "TickContext",
    "abort_now",
    "candidate_ref",
    "decide",
    "generated_alarms",
    "namespace_of",
    "needs",
    "new_status",
    "queue",
    "rejected",
    "rollback",
]
