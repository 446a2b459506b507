"""The clock every smgitops service reads: epoch seconds.

In AWS it is the wall clock, nothing more. The local runtime can make it run faster
(``smgitops local up --time-scale 60``: one wall-clock second is one emulated minute) so that
what takes minutes in SageMaker — one-minute CloudWatch periods judged by the canary-vs-stable
comparison, bakes of several minutes, gate timeouts — takes seconds on a laptop. The emulator
reads the same clock for metric timestamps and alarm evaluation, and scales the state machine's
Wait states and task-token timeouts by the same factor, so every part keeps agreeing on what
time it is.

A warp is continuous: from the instant of :func:`warp` the clock goes on from where it was,
``scale`` seconds per wall-clock second, so no recorded time ever runs backwards. Timestamps
written while warped lie ahead of the wall clock (history, metric datapoints).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

MAX_SCALE = 3600.0  # one wall-clock second is at most one emulated hour


@dataclass(frozen=True)
class _Warp:
    scale: float = 1.0
    wall: float = 0.0  # wall-clock epoch at which the warp began
    at: float = 0.0  # what now() answered then


_WALL = _Warp()
_WARP = _WALL
_LOCK = threading.Lock()


def now() -> float:
    """Seconds since the epoch, as the services see them."""
    warp = _WARP
    if warp is _WALL:
        return time.time()
    return warp.at + (time.time() - warp.wall) * warp.scale


def scale() -> float:
    """Emulated seconds per wall-clock second (1.0 unless the local runtime warped the clock)."""
    return _WARP.scale


def wall_seconds(seconds: float) -> float:
    """How long ``seconds`` of the services' time last on the wall clock."""
    return seconds / _WARP.scale


def warp(factor: float) -> None:
    """Run the clock ``factor`` times faster from now on, continuing from the current time
    (1.0 after a warp: wall-clock speed, still as far ahead as it got).

    Only the local runtime calls this; a Lambda function never does.
    """
    if not 1.0 <= factor <= MAX_SCALE:
        raise ValueError(f"time scale must be between 1 and {MAX_SCALE:g} (got {factor:g})")
    global _WARP  # noqa: PLW0603 - one process-wide clock, swapped whole
    with _LOCK:
        current = now()
        _WARP = _Warp(factor, time.time(), current)


def reset() -> None:
    """The wall clock again (the local runtime stopping)."""
    global _WARP  # noqa: PLW0603
    with _LOCK:
        _WARP = _WALL
