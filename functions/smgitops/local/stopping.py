"""Waiting for Ctrl-C or SIGTERM in a long-running command, so that the signal always ends it.

Linux hands a signal sent to a process to any one of its threads that does not block it, and
CPython runs the Python handler only in the main thread, between two bytecodes. A main thread
parked in an untimed wait (``Event.wait()``, a lock, ``time.sleep``) is not woken when another
thread took the signal: the handler then waits until something else wakes the main thread, which
may be never. ``smgitops local up`` runs a dozen threads, and under load it ignored SIGTERM this
way. :class:`StopSignal` waits in short slices instead.

Stopping is bounded too: ``grace`` seconds after the first signal, a stop that has not finished
(a handler still running, a thread that holds up interpreter exit) prints every thread's stack
to stderr and ends the process with status 1 (:func:`faulthandler.dump_traceback_later`). A
second signal ends it at once with status 130.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import threading

POLL = 0.25  # seconds: the longest a signal waits for the main thread to notice it


class StopSignal:
    """Installs SIGINT/SIGTERM handlers at construction (call it in the main thread)."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, *_: object) -> None:
        if self._stop.is_set():  # the second Ctrl-C: no more waiting
            os._exit(130)
        self._stop.set()
        faulthandler.dump_traceback_later(self.grace, exit=True)

    def is_set(self) -> bool:
        return self._stop.is_set()

    def wait(self) -> None:
        """Return once a signal came (at once if one came before)."""
        while not self._stop.wait(POLL):
            continue
