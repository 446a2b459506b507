"""DynamoDB status store: current status per endpoint (versioned, conditional writes), an
append-only history, and the alarm → endpoint index the abort function looks up.

Single table, keys ``pk``/``sk``:
  ENDPOINT#<name> / STATUS              current RolloutStatus (``version`` guards writes)
  ENDPOINT#<name> / HIST#<at>#<seq>     HistoryRecord, append-only
  ALARM#<alarm>   / ENDPOINT#<name>     this endpoint's active rollout watches this alarm
  GOLDEN#<sha256> / PART#<n>            golden requests (zlib, in ≤ 350 KB parts), by content
GSI ``gsi1``: gsi1pk = "STATUS", gsi1sk = <name> lists every status.

A status stored before ownership has no ``owner``: it is derived on load (:func:`legacy_owner`).

Golden requests (up to 256 KB of files, twice when a push is queued) would take a status item
past DynamoDB's 400 KB: the status keeps a reference (``goldenRef``, the hash of the requests),
the requests are written once under it and read back with the status.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import zlib
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws import clients
from smgitops.aws.errors import code_of, translate
from smgitops.declaration.golden import dump_requests, restore_requests
from smgitops.errors import ActionRejectedError, ConflictError
from smgitops.rollout.status import Context, HistoryRecord, RolloutStatus
from smgitops.urls import identity_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

STATUS_SK = "STATUS"
HISTORY_PREFIX = "HIST#"
BATCH = 100
GOLDEN_PREFIX = "GOLDEN#"
GOLDEN_PART_BYTES = 350_000
GOLDEN_CACHE = 4  # golden request sets a store keeps in memory (a warm tick reads them once)
CONFLICT_CODES = frozenset({"ConditionalCheckFailedException", "TransactionConflictException"})
CONFLICT_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
_seq = itertools.count()


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def endpoint_pk(name: str) -> str:
    return f"ENDPOINT#{name}"


def alarm_pk(name: str) -> str:
    return f"ALARM#{name}"


class StatusStore:
    def __init__(self, table: str, client: Any = None) -> None:
        self.table = table
        self.client = client or clients.client("dynamodb")
        self._golden: dict[str, list[dict[str, Any]]] = {}  # written or read, by reference

    # --- reads ------------------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether the table exists (the CLI's check before it trusts an empty answer)."""
        try:
            self.client.describe_table(TableName=self.table)
        except ClientError as exc:
            if code_of(exc) == "ResourceNotFoundException":
                return False
            raise translate(exc, "DescribeTable") from exc
        except BotoCoreError as exc:
            raise translate(exc, "DescribeTable") from exc
        return True

    def get(self, endpoint: str) -> RolloutStatus | None:
        try:
            out = self.client.get_item(
                TableName=self.table,
                Key={"pk": _s(endpoint_pk(endpoint)), "sk": _s(STATUS_SK)},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "GetItem") from exc
        item = out.get("Item")
        return self._status(item) if item else None

    def get_many(self, endpoints: Iterable[str]) -> dict[str, RolloutStatus]:
        names = list(dict.fromkeys(endpoints))
        found: dict[str, RolloutStatus] = {}
        for start in range(0, len(names), BATCH):
            keys = [
                {"pk": _s(endpoint_pk(n)), "sk": _s(STATUS_SK)}
                for n in names[start : start + BATCH]
            ]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                try:
                    out = self.client.batch_get_item(RequestItems=request)
                except (ClientError, BotoCoreError) as exc:
                    raise translate(exc, "BatchGetItem") from exc
                for item in out.get("Responses", {}).get(self.table, []):
                    status = self._status(item)
                    found[status.endpoint] = status
                request = out.get("UnprocessedKeys") or {}
        return found

    def list_statuses(self) -> list[RolloutStatus]:
        statuses: list[RolloutStatus] = []
        for item in self._query(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": _s("STATUS")},
        ):
            statuses.append(self._status(item))
        return sorted(statuses, key=lambda s: s.endpoint)

    def history(self, endpoint: str, limit: int = 200) -> list[HistoryRecord]:
        """Newest first."""
        records: list[HistoryRecord] = []
        for item in self._query(
            KeyConditionExpression="pk = :p AND begins_with(sk, :h)",
            ExpressionAttributeValues={":p": _s(endpoint_pk(endpoint)), ":h": _s(HISTORY_PREFIX)},
            ScanIndexForward=False,
        ):
            records.append(HistoryRecord.model_validate_json(item["doc"]["S"]))
            if len(records) >= limit:
                break
        return records

    def watchers(self, alarm: str) -> list[str]:
        return [
            item["sk"]["S"].removeprefix("ENDPOINT#")
            for item in self._query(
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": _s(alarm_pk(alarm))},
            )
        ]

    def _query(self, **params: Any) -> Iterable[dict[str, Any]]:
        kwargs: dict[str, Any] = {"TableName": self.table, **params}
        while True:
            try:
                out = self.client.query(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, "Query") from exc
            yield from out.get("Items", [])
            if "LastEvaluatedKey" not in out:
                return
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    # --- writes -----------------------------------------------------------------------------

    def save(
        self,
        status: RolloutStatus,
        *,
        expected_version: int | None,
        history: Sequence[HistoryRecord] = (),
        watch: Sequence[str] = (),
        unwatch: Sequence[str] = (),
    ) -> RolloutStatus:
        """Write ``status`` if the stored version is still ``expected_version`` (None: absent).

        History records and alarm-index changes go in the same transaction: a stale writer
        loses everything and gets ConflictError, never a half-written tick.
        """
        saved = status.evolve(version=(expected_version or 0) + 1)
        put: dict[str, Any] = {
            "TableName": self.table,
            "Item": {
                "pk": _s(endpoint_pk(status.endpoint)),
                "sk": _s(STATUS_SK),
                "gsi1pk": _s("STATUS"),
                "gsi1sk": _s(status.endpoint),
                "version": _n(saved.version),
                "phase": _s(saved.phase.value),
                "rolloutId": _s(saved.rollout_id),
                "commit": _s(saved.commit),
                "doc": _s(self._detached(saved).model_dump_json()),
            },
        }
        if expected_version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": _n(expected_version)}
        items: list[dict[str, Any]] = [{"Put": put}]
        items += [{"Put": {"TableName": self.table, "Item": _history_item(r)}} for r in history]
        key = _s(f"ENDPOINT#{status.endpoint}")
        items += [
            {"Put": {"TableName": self.table, "Item": {"pk": _s(alarm_pk(a)), "sk": key}}}
            for a in dict.fromkeys(watch)
        ]
        items += [
            {"Delete": {"TableName": self.table, "Key": {"pk": _s(alarm_pk(a)), "sk": key}}}
            for a in dict.fromkeys(unwatch)
            if a not in watch
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            # TransactionConflict: another transaction held one of the items (a tick, the abort
            # function, promote and reconcile write the same status); retried as a conflict.
            if code_of(exc) in CONFLICT_CODES or any(
                r.get("Code") in CONFLICT_REASONS for r in reasons
            ):
                raise ConflictError(
                    f"status of {status.endpoint} changed since version {expected_version}"
                ) from exc
            raise translate(exc, "TransactWriteItems") from exc
        except BotoCoreError as exc:
            raise translate(exc, "TransactWriteItems") from exc
        return saved

    # --- golden requests, by reference ----------------------------------------------------------

    def _status(self, item: dict[str, Any]) -> RolloutStatus:
        status = RolloutStatus.model_validate_json(item["doc"]["S"])
        changes: dict[str, Any] = {"version": int(item["version"]["N"])}
        if "owner" not in status.model_fields_set:
            changes["owner"] = legacy_owner(status.source)
        if status.golden_ref and not status.golden:
            changes["golden"] = restore_requests(self._read_golden(status.golden_ref))
        if status.next is not None and status.next.context.golden_ref:
            context = status.next.context
            golden = restore_requests(self._read_golden(context.golden_ref))
            changes["next"] = status.next.model_copy(
                update={"context": context.model_copy(update={"golden": golden})}
            )
        return status.evolve(**changes)

    def _detached(self, status: RolloutStatus) -> RolloutStatus:
        """``status`` as stored: golden requests replaced by their reference (written first)."""
        changes: dict[str, Any] = {}
        if status.golden:
            changes.update(golden=[], golden_ref=self._write_golden(dump_requests(status.golden)))
        if status.next is not None and status.next.context.golden:
            context = status.next.context
            detached = Context.model_validate(
                {
                    **context.model_dump(),
                    "golden": [],
                    "golden_ref": self._write_golden(dump_requests(context.golden)),
                }
            )
            changes["next"] = status.next.model_copy(update={"context": detached})
        return status.evolve(**changes) if changes else status

    def _write_golden(self, requests: list[dict[str, Any]]) -> str:
        ref = golden_ref(requests)
        if ref in self._golden:
            return ref
        packed = zlib.compress(json.dumps(requests, separators=(",", ":")).encode())
        parts = [
            packed[start : start + GOLDEN_PART_BYTES]
            for start in range(0, len(packed), GOLDEN_PART_BYTES)
        ]
        for index, part in enumerate(parts):
            item = {
                "pk": _s(f"{GOLDEN_PREFIX}{ref}"),
                "sk": _s(f"PART#{index:03d}"),
                "parts": _n(len(parts)),
                "data": {"B": part},
            }
            try:
                self.client.put_item(TableName=self.table, Item=item)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, "PutItem") from exc
        self._remember(ref, requests)
        return ref

    def _remember(self, ref: str, requests: list[dict[str, Any]]) -> None:
        while len(self._golden) >= GOLDEN_CACHE:
            self._golden.pop(next(iter(self._golden)))
        self._golden[ref] = requests

    def _read_golden(self, ref: str) -> list[dict[str, Any]]:
        if ref not in self._golden:
            items = list(
                self._query(
                    KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": _s(f"{GOLDEN_PREFIX}{ref}")},
                    ConsistentRead=True,
                )
            )
            if not items or len(items) != int(items[0]["parts"]["N"]):
                raise ActionRejectedError("GetGoldenRequests", f"golden requests {ref} are missing")
            packed = b"".join(
                item["data"]["B"] for item in sorted(items, key=lambda i: i["sk"]["S"])
            )
            self._remember(ref, json.loads(zlib.decompress(packed)))
        return self._golden[ref]

    def append_history(self, records: Sequence[HistoryRecord]) -> None:
        for record in records:
            try:
                self.client.put_item(TableName=self.table, Item=_history_item(record))
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, "PutItem") from exc


def legacy_owner(source: dict[str, str]) -> str:
    """The owner of a status written before ownership: the identity of the repository whose
    push created it (``source``'s identity, or its allowlisted clone URL normalised); "" when
    the status names none (then every push is refused until ``smgitops transfer``)."""
    if source.get("identity"):
        return source["identity"]
    return identity_of(source["repository"]) if source.get("repository") else ""


def golden_ref(requests: list[dict[str, Any]]) -> str:
    canonical = json.dumps(requests, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _history_item(record: HistoryRecord) -> dict[str, Any]:
    sk = f"{HISTORY_PREFIX}{record.at:017.6f}#{next(_seq) % 10000:04d}#{record.rollout_id[-8:]}"
    return {
        "pk": _s(endpoint_pk(record.endpoint)),
        "sk": _s(sk),
        "doc": _s(record.model_dump_json()),
    }
