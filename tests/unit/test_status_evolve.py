"""RolloutStatus.evolve: every transition validated, nested models carried over as they are;
RolloutStatus.spec: validated once per declaration, never stale."""

from __future__ import annotations

import pydantic
import pytest

from smgitops.declaration.golden import GoldenRequest, NamedRequest
from smgitops.rollout.decide import new_status
from smgitops.rollout.status import Context, Phase, RolloutStatus
from tests.builders import declaration, declaration_dict


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


def test_spec_is_validated_once_and_kept_while_the_declaration_stays() -> None:
    status, _ = _status()
    spec = status.spec()
    assert spec == declaration(version=2)
    assert status.spec() is spec
    later = status.evolve(phase=Phase.INITIALIZING).evolve(step_index=0, updated_at=3.0)
    assert later.spec() is spec


@pytest.mark.parametrize("how", ["evolve", "model_copy"])
def test_spec_follows_a_changed_declaration(how: str) -> None:
    status, _ = _status()
    assert status.spec().spec.model.model_data_url.endswith("/v2/model.tar.gz")  # now cached
    newer = declaration_dict(version=3)
    changed = (
        status.evolve(declaration=newer)
        if how == "evolve"
        else status.model_copy(update={"declaration": newer})
    )
    assert changed.spec() == declaration(version=3)
    assert status.spec() == declaration(version=2)  # and the first one is still its own


def test_a_cached_spec_changes_neither_equality_nor_what_is_stored() -> None:
    status, _ = _status()
    fresh = RolloutStatus.model_validate(status.model_dump())
    status.spec()
    assert status == fresh and fresh == status
    assert status.model_dump() == fresh.model_dump()
