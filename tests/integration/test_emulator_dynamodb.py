"""A conditional write on the emulator is atomic, as on DynamoDB: of two writers that expect
the same version at the same moment, one writes and the other is refused — in decorator mode
(threads of one process) and in server mode (requests to the threaded server), for a plain
``PutItem`` and for a ``TransactWriteItems`` (the status store's write)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models.table import Table

from smgitops.local.emulator import Emulator, emulated_aws
from smgitops.local.resources import create_table

TABLE = "smgitops-atomic"
KEY = {"pk": {"S": "ENDPOINT#e"}, "sk": {"S": "STATUS"}}
CONDITION = {
    "ConditionExpression": "version = :v",
    "ExpressionAttributeValues": {":v": {"N": "1"}},
}


@pytest.fixture(params=["decorator", "server"])
def client(request: pytest.FixtureRequest) -> Iterator[Callable[[], Any]]:
    """A DynamoDB client factory (one client per writer) on the emulator, in each mode."""
    if request.param == "decorator":
        with emulated_aws():
            yield lambda: boto3.client("dynamodb", region_name="us-east-1")
    else:
        with Emulator.start() as emulator:
            yield lambda: emulator.client("dynamodb")


@pytest.fixture
def both_read_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each writer, having read the item, waits (≤ 1 s) until the other has read it too: a
    writer that checked its condition on what it read and then wrote without a lock, as moto
    does, lets both pass. With the writes serialized the second never comes while the first
    waits, and the first goes on alone."""
    real = Table.get_item
    both_read = threading.Barrier(2, timeout=1)
    waited = threading.local()

    def get_item(self: Table, *args: Any, **kwargs: Any) -> Any:
        item = real(self, *args, **kwargs)
        if self.name == TABLE and not getattr(waited, "done", False):
            waited.done = True
            with contextlib.suppress(threading.BrokenBarrierError):
                both_read.wait()
        return item

    monkeypatch.setattr(Table, "get_item", get_item)


def put(dynamodb: Any, writer: str) -> dict[str, Any]:
    return dynamodb.put_item(TableName=TABLE, Item={**KEY, **_version_2(writer)}, **CONDITION)


def transact(dynamodb: Any, writer: str) -> dict[str, Any]:
    item = {"TableName": TABLE, "Item": {**KEY, **_version_2(writer)}, **CONDITION}
    return dynamodb.transact_write_items(TransactItems=[{"Put": item}])


def _version_2(writer: str) -> dict[str, Any]:
    return {"version": {"N": "2"}, "writer": {"S": writer}}


@pytest.mark.parametrize("write", [put, transact])
def test_two_writers_expecting_the_same_version_one_wins(
    client: Callable[[], Any], write: Callable[[Any, str], Any], request: pytest.FixtureRequest
) -> None:
    setup = client()
    create_table(setup, TABLE)
    setup.put_item(TableName=TABLE, Item={**KEY, "version": {"N": "1"}})
    request.getfixturevalue("both_read_first")
    writers = [(client(), name) for name in ("a", "b")]

    def attempt(dynamodb: Any, name: str) -> str:
        try:
            write(dynamodb, name)
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])
        return "written"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(lambda w: attempt(*w), writers))
    refused = {put: "ConditionalCheckFailedException", transact: "TransactionCanceledException"}
    assert outcomes == sorted(["written", refused[write]])
    stored = setup.get_item(TableName=TABLE, Key=KEY, ConsistentRead=True)["Item"]
    assert stored["version"] == {"N": "2"}
