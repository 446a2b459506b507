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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

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

    def run(self, work: Callable[[], None]) -> None:
        """``work`` (the stop) in another thread while this one, the main thread, waits in short
        slices: a second signal is then handled within :data:`POLL` seconds even when ``work``
        never returns, whichever thread the kernel handed it to. (Run here, a stuck ``work``
        would hold the main thread where another thread's signal cannot wake it.) What ``work``
        raises is raised here."""
        failed: list[BaseException] = []

        def target() -> None:
            try:
                work()
            except BaseException as exc:  # handed to the caller as it is
                failed.append(exc)

        thread = threading.Thread(target=target, name="smgitops-stop", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(POLL)
        if failed:
            raise failed[0]
