"""The composition root: the only place that builds adapters and services.

Every entry point asks here for what it runs; nothing below this package picks an adapter.

| entry point | asks for | read from |
|---|---|---|
| webhook function | ``wiring.webhook.webhook()`` | ``WebhookConfig`` (no pydantic) |
| reconcile function | ``wiring.reconcile.reconciler()`` | ``ReconcileSettings`` |
| tick and abort functions | ``wiring.rollout.rollouts()`` | ``EngineSettings`` |
| drift function | ``wiring.drift.drift()`` | ``DriftSettings`` |
| the CLI, the dashboard | ``wiring.operator`` | the command line (table, --aws) |
| the local runtime | the above, ``swap_executions()``, ``reset()`` | its environment |

A function's services are built on first use, once per process (a Lambda container), and each
submodule imports only what its function runs (cold start: the webhook's path loads no
pydantic). :func:`reset` forgets everything built, and the AWS clients, so that the next use
reads the environment again (the local runtime between runs, tests between environments).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable
    from functools import _lru_cache_wrapper

    from smgitops.rollout.ports import ExecutionsPort

T = TypeVar("T")

_BUILT: list[Any] = []  # the cached builders of every submodule loaded so far
_SWAPPED: dict[str, Any] = {}


def once(build: Callable[[], T]) -> _lru_cache_wrapper[T]:
    """``build`` run on first use only, until :func:`reset` (or its own ``cache_clear()``)."""
    cached = cache(build)
    _BUILT.append(cached)
    return cached


def swap_executions(factory: Callable[[str], ExecutionsPort]) -> None:
    """Run rollouts with ``factory(state_machine_arn)`` instead of Step Functions (the local
    runtime's in-process runner, when the emulator is not in this process), until :func:`reset`."""
    _SWAPPED["executions"] = factory
    for cached in _BUILT:  # services built before the swap hold the old executions
        cached.cache_clear()


def executions(state_machine_arn: str) -> ExecutionsPort:
    """The port that starts a rollout's state machine and answers its gates."""
    factory = _SWAPPED.get("executions")
    if factory is not None:
        started: ExecutionsPort = factory(state_machine_arn)
        return started
    from smgitops.aws.stepfunctions import Executions  # noqa: PLC0415 - boto3 on first use

    return Executions(state_machine_arn)


def reset() -> None:
    """Forget every service built, every swapped port and the AWS clients."""
    for cached in _BUILT:
        cached.cache_clear()
    _SWAPPED.clear()
    from smgitops.aws import clients  # noqa: PLC0415

    clients.reset()
