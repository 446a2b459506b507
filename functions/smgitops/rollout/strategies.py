"""Per-strategy traffic plans: the candidate's share of traffic at each step, in percent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smgitops.declaration.models import Strategy

if TYPE_CHECKING:
    from smgitops.declaration.models import RolloutSpec

# Strategies the engine walks step by step; the others replace or observe.
STEPPED = frozenset({Strategy.CANARY, Strategy.LINEAR, Strategy.BLUE_GREEN, Strategy.AB_TEST})


def traffic_steps(rollout: RolloutSpec) -> list[float]:
    """Weights of the candidate before promotion (100 % follows, except for abTest)."""
    match rollout.strategy:
        case Strategy.CANARY:
            return [float(s) for s in rollout.steps]
        case Strategy.LINEAR:
            return [float(w) for w in range(rollout.step_weight, 100, rollout.step_weight)]
        case Strategy.BLUE_GREEN:
            return [0.0]  # full capacity, no traffic: bake, then 100 % at once
        case Strategy.AB_TEST:
            return [float(rollout.split)]
        case Strategy.SHADOW if rollout.shadow.then == "canary":
            return [float(s) for s in rollout.steps]  # after the shadow run
        case _:
            return []


def minimum_duration(rollout: RolloutSpec) -> int:
    """Seconds of baking the rollout needs at the least (steps + the promotion bake)."""
    if rollout.strategy == Strategy.SHADOW:
        shadow = rollout.shadow.duration_seconds(rollout.interval_seconds)
        steps = traffic_steps(rollout)
        return shadow + (rollout.interval_seconds * (len(steps) + 1) if steps else 0)
    if rollout.strategy not in STEPPED:
        return 0
    return rollout.interval_seconds * (len(traffic_steps(rollout)) + 1)


def default_deadline(rollout: RolloutSpec) -> int:
    """2 × the sum of intervals + 1 h: past it, a rollout rolls back."""
    return 2 * minimum_duration(rollout) + 3600
