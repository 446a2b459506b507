"""A stand-in for Step Functions when the emulator is not in this process (``AWS_ENDPOINT_URL``
points elsewhere): each execution is a thread that follows the rollout definition's loop —
Tick, then Wait ``waitSeconds``, until ``done`` — calling the tick handler in-process."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, ClassVar

from smgitops.errors import STATE_MACHINE_RETRIES

log = logging.getLogger("smgitops.local")


class LocalExecutions:
    """Same interface as :class:`smgitops.aws.stepfunctions.Executions`."""

    _running: ClassVar[dict[str, threading.Thread]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, state_machine_arn: str, client: Any = None) -> None:
        del client
        self.state_machine_arn = state_machine_arn

    def start(self, endpoint: str, rollout_id: str) -> bool:
        with self._lock:
            if rollout_id in self._running:
                return False
            thread = threading.Thread(
                target=_loop, args=(endpoint, rollout_id), name=f"rollout-{rollout_id}", daemon=True
            )
            self._running[rollout_id] = thread
        thread.start()
        return True

    def release_gate(self, token: str, endpoint: str, rollout_id: str) -> bool:
        del token, endpoint, rollout_id
        return True  # the loop re-ticks while gated, and the tick sees the promote/abort


def retried(error: Exception) -> bool:
    """The definition's Retry: like Step Functions, by the error's exact name."""
    return type(error).__name__ in {e.__name__ for e in STATE_MACHINE_RETRIES}


def _loop(endpoint: str, rollout_id: str) -> None:
    from smgitops.handlers import tick  # noqa: PLC0415

    event: dict[str, Any] = {"endpoint": endpoint, "rolloutId": rollout_id}
    failures = 0
    while True:
        try:
            out = tick.handler(event, None)
        except Exception as exc:
            if retried(exc):
                failures += 1
                time.sleep(min(30, 2**failures))
                continue
            # the definition's catch: the rollback path
            log.exception("tick failed; rolling back")
            event = {**event, "abortReason": f"tick failed: {type(exc).__name__}"}
            time.sleep(1)
            continue
        failures = 0
        event = {"endpoint": endpoint, "rolloutId": rollout_id}
        if out["done"]:
            return
        time.sleep(out["waitSeconds"] if not out.get("gate") else 2)
