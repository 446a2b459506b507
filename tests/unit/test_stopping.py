"""StopSignal.run: the stop runs in another thread, and the main thread sees its outcome."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING

import pytest

from smgitops.local.stopping import StopSignal

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def stop() -> Iterator[StopSignal]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield StopSignal(grace=30.0)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def test_run_returns_when_the_work_is_done_in_another_thread(stop: StopSignal) -> None:
    ran_in: list[threading.Thread] = []
    stop.run(lambda: ran_in.append(threading.current_thread()))
    assert [t.name for t in ran_in] == ["smgitops-stop"]
    assert ran_in[0] is not threading.main_thread() and not ran_in[0].is_alive()


def test_what_the_work_raises_is_raised_to_the_caller(stop: StopSignal) -> None:
    def broken() -> None:
        raise OSError("the emulator would not stop")

    with pytest.raises(OSError, match="the emulator would not stop"):
        stop.run(broken)
