"""smgitops.clock: the wall clock in AWS, a faster one under `local up --time-scale`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from smgitops import clock

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def wall_clock_after() -> Iterator[None]:
    yield
    clock.reset()


def test_without_a_warp_it_is_the_wall_clock() -> None:
    before = time.time()
    assert before <= clock.now() <= time.time()
    assert clock.scale() == 1.0 and clock.wall_seconds(30) == 30


def test_a_warp_runs_faster_from_where_the_clock_was() -> None:
    before = clock.now()
    clock.warp(600)
    start = clock.now()
    assert start - before < 5  # continuous: no jump at the instant of the warp
    wall = time.monotonic()
    time.sleep(0.05)
    elapsed_wall = time.monotonic() - wall
    advanced = clock.now() - start
    assert advanced == pytest.approx(600 * elapsed_wall, rel=0.25)
    assert clock.wall_seconds(600) == 1.0


def test_a_new_warp_never_runs_the_clock_backwards() -> None:
    clock.warp(3600)
    time.sleep(0.02)
    ahead = clock.now()
    assert ahead - time.time() > 30
    clock.warp(2)
    assert clock.now() >= ahead and clock.scale() == 2.0
    clock.warp(1)  # the same speed as the wall clock, still ahead of it
    assert clock.now() >= ahead


def test_reset_is_the_wall_clock_again() -> None:
    clock.warp(3600)
    time.sleep(0.01)
    clock.reset()
    assert abs(clock.now() - time.time()) < 1


@pytest.mark.parametrize("factor", [0.5, 0.0, -1.0, 3601.0])
def test_a_scale_out_of_range_is_refused(factor: float) -> None:
    with pytest.raises(ValueError, match="time scale must be between 1 and 3600"):
        clock.warp(factor)
    assert clock.scale() == 1.0
