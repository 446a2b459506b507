"""Delivery and push records in the single DynamoDB table.

- ``pk=DELIVERY#<key>, sk=DELIVERY``: one push as the webhook first accepted it, written with
  a conditional put so the same push is acted on once. The key is what the signature covers
  (:meth:`smgitops.ingest.push.WorkMessage.claim_key`: repository identity, ref, before,
  after), never the unsigned ``X-GitHub-Delivery`` header: a redelivery, or a captured body
  replayed under a new delivery id, answers with the stored response and enqueues nothing.
  Expires (``expiresAt``) after ``ttl_seconds`` (default 7 days; GitHub redelivers up to 3).
- ``pk=PUSH#<repository>, sk=<pushed-at ISO>#<commit>``: the outcome of one push (processing,
  reconciled, invalid with every ``file:line`` problem, ignored, failed), newest last; the
  ``gsi1`` index (``gsi1pk=PUSHES``, ``gsi1sk=<pushed-at ISO>#<repository>#<commit>``) lists the
  latest pushes of every repository. The key is deterministic, so a retried push overwrites
  its own record instead of adding one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from smgitops.aws.clients import client as aws_client
from smgitops.aws.errors import unavailable
from smgitops.clock import now as clock_now

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

DeliveryState = Literal["received", "queued"]
PushStatus = Literal["processing", "reconciled", "invalid", "ignored", "failed"]
PUSHES_INDEX = "gsi1"
PUSHES_KEY = "PUSHES"
CONDITION_FAILED = "ConditionalCheckFailedException"


def _is_condition_failure(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == CONDITION_FAILED)


def iso(timestamp: float) -> str:
    """A sortable UTC timestamp: ``2024-05-01T12:00:00.000000Z``."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Table:
    def __init__(self, table: str, client: Any, clock: Callable[[], float]) -> None:
        self.table = table
        self._client = client
        self._clock = clock

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client


class Delivery(NamedTuple):
    """A push as the webhook first answered it."""

    key: str  # what the signature covers (WorkMessage.claim_key)
    delivery: str  # the X-GitHub-Delivery it first came with
    state: DeliveryState
    status_code: int
    response: dict[str, Any]
    repository: str
    commit: str
    received_at: float


class DeliveryStore(_Table):
    def __init__(
        self,
        table: str,
        *,
        ttl_seconds: int = 7 * 86400,
        client: Any = None,
        clock: Callable[[], float] = clock_now,
    ) -> None:
        super().__init__(table, client, clock)
        self.ttl_seconds = ttl_seconds

    @staticmethod
    def _key(key: str) -> dict[str, Any]:
        return {"pk": {"S": f"DELIVERY#{key}"}, "sk": {"S": "DELIVERY"}}

    def claim(
        self,
        key: str,
        *,
        delivery: str,
        status_code: int,
        response: dict[str, Any],
        repository: str,
        commit: str,
    ) -> Delivery | None:
        """Record a new push under ``key`` in state ``received``: None when this call recorded
        it, else the record an earlier attempt left (the caller replays it or finishes it)."""
        now = self._clock()
        item = {
            **self._key(key),
            "delivery": {"S": delivery},
            "state": {"S": "received"},
            "statusCode": {"N": str(status_code)},
            "response": {"S": json.dumps(response, separators=(",", ":"))},
            "repository": {"S": repository},
            "commit": {"S": commit},
            "receivedAt": {"N": repr(now)},
            "expiresAt": {"N": str(int(now) + self.ttl_seconds)},
        }
        try:
            self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise unavailable("DynamoDB PutItem", exc) from None
            old = exc.response.get("Item") or self._get(key)
            if old is None:  # expired between the write and the read: treat as recorded now
                return None
            return self._delivery(old)
        except BotoCoreError as exc:
            raise unavailable("DynamoDB PutItem", exc) from None
        return None

    def mark_queued(self, key: str) -> None:
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(key),
                UpdateExpression="SET #state = :queued",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":queued": {"S": "queued"}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise unavailable("DynamoDB UpdateItem", exc) from None

    def get(self, key: str) -> Delivery | None:
        item = self._get(key)
        return None if item is None else self._delivery(item)

    def _get(self, key: str) -> dict[str, Any] | None:
        try:
            response = self.client.get_item(
                TableName=self.table, Key=self._key(key), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise unavailable("DynamoDB GetItem", exc) from None
        item: dict[str, Any] | None = response.get("Item")
        return item

    @staticmethod
    def _delivery(item: dict[str, Any]) -> Delivery:
        return Delivery(
            key=item["pk"]["S"].removeprefix("DELIVERY#"),
            delivery=item.get("delivery", {}).get("S", ""),
            state="queued" if item["state"]["S"] == "queued" else "received",
            status_code=int(item["statusCode"]["N"]),
            response=json.loads(item["response"]["S"]),
            repository=item["repository"]["S"],
            commit=item["commit"]["S"],
            received_at=float(item["receivedAt"]["N"]),
        )


MAX_PROBLEMS = 200  # problems kept in a push record (the count says how many there were)
MAX_PROBLEM_CHARS = 1000


class PushRecord(NamedTuple):
    """What became of one push: the record every accepted push leaves."""

    repository: str  # the repository identity: its normalised clone URL
    commit: str
    pushed_at: float
    status: PushStatus
    delivery: str
    provider: str
    ref: str
    clone_url: str
    reason: str = ""
    problems: tuple[str, ...] = ()
    outcomes: tuple[dict[str, Any], ...] = ()  # {"endpoint", "kind", "rolloutId", "reason"}
    orphans: tuple[dict[str, Any], ...] = ()  # {"endpoint", "action", "reason"}
    recorded_at: float = 0.0
    problem_count: int = 0  # every problem, when ``problems`` holds only the first ones

    @property
    def sort_key(self) -> str:
        return f"{iso(self.pushed_at)}#{self.commit}"

    def to_json(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "commit": self.commit,
            "pushedAt": self.pushed_at,
            "status": self.status,
            "delivery": self.delivery,
            "provider": self.provider,
            "ref": self.ref,
            "cloneUrl": self.clone_url,
            "reason": self.reason,
            "problems": list(self.problems),
            "problemCount": self.problem_count,
            "outcomes": list(self.outcomes),
            "orphans": list(self.orphans),
            "recordedAt": self.recorded_at,
        }


class PushStore(_Table):
    def __init__(
        self,
        table: str,
        *,
        ttl_seconds: int = 90 * 86400,
        client: Any = None,
        clock: Callable[[], float] = clock_now,
    ) -> None:
        super().__init__(table, client, clock)
        self.ttl_seconds = ttl_seconds

    def put(self, record: PushRecord) -> PushRecord:
        """Record a push; at most :data:`MAX_PROBLEMS` problems (of :data:`MAX_PROBLEM_CHARS`
        each) are kept, with the count of them all, so the item stays far below DynamoDB's
        400 KB (a large invalid repository has thousands)."""
        now = self._clock()
        stored = record._replace(
            recorded_at=now,
            problems=tuple(p[:MAX_PROBLEM_CHARS] for p in record.problems[:MAX_PROBLEMS]),
            problem_count=max(record.problem_count, len(record.problems)),
        )
        item = {
            "pk": {"S": f"PUSH#{record.repository}"},
            "sk": {"S": record.sort_key},
            "gsi1pk": {"S": PUSHES_KEY},
            "gsi1sk": {"S": f"{iso(record.pushed_at)}#{record.repository}#{record.commit}"},
            "status": {"S": record.status},
            "detail": {"S": json.dumps(stored.to_json(), separators=(",", ":"))},
            "expiresAt": {"N": str(int(now) + self.ttl_seconds)},
        }
        try:
            self.client.put_item(TableName=self.table, Item=item)
        except (ClientError, BotoCoreError) as exc:
            raise unavailable("DynamoDB PutItem", exc) from None
        return stored

    def get(self, repository: str, pushed_at: float, commit: str) -> PushRecord | None:
        try:
            response = self.client.get_item(
                TableName=self.table,
                Key={"pk": {"S": f"PUSH#{repository}"}, "sk": {"S": f"{iso(pushed_at)}#{commit}"}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise unavailable("DynamoDB GetItem", exc) from None
        item = response.get("Item")
        return None if item is None else _push(item)

    def history(self, repository: str, limit: int = 20) -> list[PushRecord]:
        """The repository's pushes, newest first."""
        return list(
            self._query(
                limit,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"PUSH#{repository}"}},
            )
        )

    def recent(self, limit: int = 20) -> list[PushRecord]:
        """The latest pushes of every repository, newest first (``gsi1``)."""
        return list(
            self._query(
                limit,
                IndexName=PUSHES_INDEX,
                KeyConditionExpression="gsi1pk = :pk",
                ExpressionAttributeValues={":pk": {"S": PUSHES_KEY}},
            )
        )

    def newer_reconciled(self, repository: str, pushed_at: float) -> PushRecord | None:
        """The newest push of ``repository`` reconciled after ``pushed_at``, if any."""
        found = self._query(
            1,
            KeyConditionExpression="pk = :pk AND sk > :sk",
            FilterExpression="#status = :reconciled",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":pk": {"S": f"PUSH#{repository}"},
                ":sk": {"S": f"{iso(pushed_at)}#~"},  # "~" sorts after every hex digit
                ":reconciled": {"S": "reconciled"},
            },
        )
        return next(iter(found), None)

    def _query(self, limit: int, **kwargs: Any) -> Iterator[PushRecord]:
        count = 0
        start: dict[str, Any] | None = None
        while count < limit:
            page_args = {"TableName": self.table, "ScanIndexForward": False, **kwargs}
            if start:
                page_args["ExclusiveStartKey"] = start
            try:
                page = self.client.query(**page_args)
            except (ClientError, BotoCoreError) as exc:
                raise unavailable("DynamoDB Query", exc) from None
            for item in page.get("Items", []):
                yield _push(item)
                count += 1
                if count >= limit:
                    return
            start = page.get("LastEvaluatedKey")
            if not start:
                return


def _push(item: dict[str, Any]) -> PushRecord:
    data = json.loads(item["detail"]["S"])
    return PushRecord(
        repository=data["repository"],
        commit=data["commit"],
        pushed_at=float(data["pushedAt"]),
        status=data["status"],
        delivery=data["delivery"],
        provider=data["provider"],
        ref=data["ref"],
        clone_url=data["cloneUrl"],
        reason=data.get("reason", ""),
        problems=tuple(data.get("problems", ())),
        problem_count=int(data.get("problemCount", len(data.get("problems", ())))),
        outcomes=tuple(data.get("outcomes", ())),
        orphans=tuple(data.get("orphans", ())),
        recorded_at=float(data.get("recordedAt", 0.0)),
    )
