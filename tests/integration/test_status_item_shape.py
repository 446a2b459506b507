"""The status item's golden requests and freeze windows are typed in memory and stored as before.

The literals below are what the store wrote before these fields were typed (main at 43fe29b,
the status of a rollout with a queued push): the GOLDEN# items, their references (the SHA-256 of
the requests as written) and the freeze windows. Such an item still loads, and saving it again
writes the same references and the same freeze windows.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from smgitops.aws import clients
from smgitops.aws.store import StatusStore
from smgitops.commands.common import status_json
from smgitops.declaration.freeze import FreezeWindow
from smgitops.local.emulator import emulated_aws
from smgitops.local.resources import create_table
from smgitops.rollout.decide import new_status
from smgitops.rollout.status import Context
from tests.builders import declaration

TABLE = "smgitops-shape"
NAME = "churn-predictor"

LOW = {
    "name": "tests/churn/low.json",
    "request": {
        "body": {"tenure": 40},
        "expect": {"fields": [{"path": "$.score", "op": "<", "value": 0.5}]},
    },
}
EXACT_NULL = {
    "name": "tests/churn/exact.json",
    "request": {
        "body": "1,2,3",
        "contentType": "text/csv",
        "expect": {"exact": None, "status": 200},
    },
}
GOLDEN = {  # GOLDEN#<ref> → the requests, as the old code wrote them
    "1fe1c0a30cfd4366402c9ff7a4ba1085647a012b2f90afbc80a9781afbc258cd": [LOW, EXACT_NULL],
    "3c90bc71fe8c505833a88c6ba346696147e4961ca08ebd7b2524bea2279a030b": [LOW],
}
ACTIVE_REF, QUEUED_REF = GOLDEN
FREEZE = [
    {
        "timezone": "Europe/Paris",
        "days": ["fri"],
        "start": "18:00",
        "end": "08:00",
        "reason": "weekend freeze",
    }
]


@pytest.fixture
def store() -> Iterator[StatusStore]:
    with emulated_aws():
        clients.reset()
        create_table(clients.client("dynamodb"), TABLE)
        yield StatusStore(TABLE)
    clients.reset()


def _old_item() -> dict[str, Any]:
    """A status document with the old code's golden/freeze fields (the rest as today)."""
    decl = declaration(version=2, validation={"requests": ["tests/churn/*.json"]})
    status = new_status(decl, rollout_id="r2", commit="2" * 40, pushed_at=1.0, source={}, now=1.0)
    doc = json.loads(status.model_dump_json())
    queued = declaration(version=3, validation={"requests": ["tests/churn/*.json"]})
    doc.update(
        golden=[],
        golden_ref=ACTIVE_REF,
        freeze=FREEZE,
        override="hotfix INC-7",
        self_heal=True,
        next={
            "rollout_id": "r3",
            "commit": "3" * 40,
            "pushed_at": 2.0,
            "spec_hash": queued.content_hash(),
            "declaration": queued.model_dump(mode="json", by_alias=True),
            "source": {},
            "context": {
                "golden": [],
                "golden_ref": QUEUED_REF,
                "freeze": FREEZE,
                "override": "",
                "self_heal": None,
            },
        },
    )
    return doc


def _put_old(doc: dict[str, Any]) -> None:
    dynamodb = clients.client("dynamodb")
    for ref, requests in GOLDEN.items():
        packed = zlib.compress(json.dumps(requests, separators=(",", ":")).encode())
        dynamodb.put_item(
            TableName=TABLE,
            Item={
                "pk": {"S": f"GOLDEN#{ref}"},
                "sk": {"S": "PART#000"},
                "parts": {"N": "1"},
                "data": {"B": packed},
            },
        )
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": f"ENDPOINT#{NAME}"},
            "sk": {"S": "STATUS"},
            "gsi1pk": {"S": "STATUS"},
            "gsi1sk": {"S": NAME},
            "version": {"N": "1"},
            "phase": {"S": doc["phase"]},
            "rolloutId": {"S": doc["rollout_id"]},
            "commit": {"S": doc["commit"]},
            "doc": {"S": json.dumps(doc)},
        },
    )


def _stored_doc() -> dict[str, Any]:
    item = clients.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": f"ENDPOINT#{NAME}"}, "sk": {"S": "STATUS"}}
    )["Item"]
    return dict(json.loads(item["doc"]["S"]))


def test_a_status_item_stored_before_the_fields_were_typed_loads_typed(
    store: StatusStore,
) -> None:
    _put_old(_old_item())
    status = store.get(NAME)
    assert status is not None and status.next is not None
    low, exact = status.golden
    assert (low.name, low.request.body) == ("tests/churn/low.json", {"tenure": 40})
    assert low.request.expect.fields[0].op == "<"
    assert not low.request.expect.has_exact  # unset stays unset: any body passes
    assert exact.request.expect.has_exact and exact.request.expect.exact is None
    assert exact.request.content_type == "text/csv"
    assert status.freeze == [FreezeWindow.model_validate(w) for w in FREEZE]
    assert status.freeze[0].days == ["fri"] and status.freeze[0].timezone == "Europe/Paris"
    assert [g.name for g in status.next.context.golden] == ["tests/churn/low.json"]
    assert status.next.context.freeze == status.freeze
    shown = status_json(status, None, 1.0)  # `smgitops status --output json`: as written
    assert shown["next"]["context"]["golden"] == [LOW]
    assert shown["freeze"] == shown["next"]["context"]["freeze"] == FREEZE


def test_saving_a_loaded_status_writes_the_same_references_and_freeze_windows(
    store: StatusStore,
) -> None:
    old = _old_item()
    _put_old(old)
    status = store.get(NAME)
    assert status is not None
    store.save(status.evolve(reason="saved again"), expected_version=status.version)
    fresh = StatusStore(TABLE)  # nothing cached: read back from the table
    again = fresh.get(NAME)
    assert again is not None and again.golden == status.golden and again.version == 2
    doc = _stored_doc()
    assert (doc["golden"], doc["golden_ref"], doc["freeze"]) == ([], ACTIVE_REF, FREEZE)
    assert doc["next"]["context"] == old["next"]["context"]
    written = clients.client("dynamodb").scan(TableName=TABLE)["Items"]
    refs = sorted(i["pk"]["S"] for i in written if i["pk"]["S"].startswith("GOLDEN#"))
    assert refs == sorted(f"GOLDEN#{ref}" for ref in GOLDEN)  # no new set: the same hashes


def test_a_context_built_from_the_repository_is_stored_by_the_same_reference(
    store: StatusStore,
) -> None:
    """Golden requests read from a commit (typed) hash to the reference the old dicts did."""
    from smgitops.declaration.golden import NamedRequest

    golden = [NamedRequest.model_validate(LOW), NamedRequest.model_validate(EXACT_NULL)]
    windows = [FreezeWindow.model_validate(w) for w in FREEZE]
    decl = declaration(version=2, validation={"requests": ["tests/churn/*.json"]})
    status = new_status(
        decl,
        rollout_id="r2",
        commit="2" * 40,
        pushed_at=1.0,
        source={},
        now=1.0,
        context=Context(golden=golden, freeze=windows),
    )
    store.save(status, expected_version=None)
    doc = _stored_doc()
    assert (doc["golden"], doc["golden_ref"], doc["freeze"]) == ([], ACTIVE_REF, FREEZE)
