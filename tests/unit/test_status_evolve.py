"""RolloutStatus.evolve: every transition validated, nested models carried over as they are."""

from __future__ import annotations

import pydantic
import pytest

from smgitops.declaration.golden import GoldenRequest, NamedRequest
from smgitops.rollout.decide import new_status
from smgitops.rollout.status import Context, Phase, RolloutStatus
from tests.builders import declaration


def _status() -> tuple[RolloutStatus, list[NamedRequest]]:
    golden = [NamedRequest(name=f"r{n}.json", request=GoldenRequest(body={"n": n})) for n in (1, 2)]
    status = new_status(
        declaration(version=2),
        rollout_id="r2",
        commit="2" * 40,
        pushed_at=1.0,
        source={"provider": "test"},
        now=1.0,
        context=Context(golden=golden),
    )
    return status, golden


def test_evolve_keeps_the_golden_requests_without_parsing_them_again() -> None:
    status, golden = _status()
    after = status.evolve(phase=Phase.INITIALIZING, updated_at=2.0)
    assert after.phase == Phase.INITIALIZING and after.updated_at == 2.0
    assert all(a is b for a, b in zip(after.golden, golden, strict=True))  # the same objects
    assert not after.golden[0].request.expect.has_exact  # what was unset stays unset


def test_evolve_still_validates_every_change() -> None:
    status, _ = _status()
    with pytest.raises(pydantic.ValidationError):
        status.evolve(phase="Sideways")
    with pytest.raises(pydantic.ValidationError):
        status.evolve(golden=[{"name": "a.json"}])
    typed = status.evolve(golden=[{"name": "a.json", "request": {"body": 1}}])
    assert typed.golden == [NamedRequest(name="a.json", request=GoldenRequest(body=1))]
