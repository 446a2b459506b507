"""AWS limits and answers moto never gives, on the emulator: DescribeAlarms' 50-alarm pages,
DynamoDB's transaction conflicts and 400 KB items, CloudWatch's 255-character alarm names."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from botocore.awsrequest import AWSResponse

from smgitops.aws import clients
from smgitops.aws.cloudwatch import CloudWatch
from smgitops.aws.deliveries import MAX_PROBLEMS, PushRecord, PushStore
from smgitops.aws.store import StatusStore
from smgitops.declaration.golden import dump_requests
from smgitops.local.resources import create_table
from smgitops.rollout import naming
from smgitops.rollout.status import Context, Phase
from tests.builders import declaration
from tests.integration.conftest import Engine
from tests.support.emulator import put_manual_alarm
from tests.support.faults import _Body

NAME = "churn-predictor"
C1, C2 = "1" * 40, "2" * 40


def test_the_emulator_answers_describe_alarms_in_pages_of_50(engine: Engine) -> None:
    cloudwatch = engine.cloudwatch
    names = [put_manual_alarm(cloudwatch, f"a{n:03}") for n in range(60)]
    first = cloudwatch.describe_alarms(AlarmNames=names)
    assert len(first["MetricAlarms"]) == 50 and first["NextToken"]
    rest = cloudwatch.describe_alarms(AlarmNames=names, NextToken=first["NextToken"])
    assert [a["AlarmName"] for a in rest["MetricAlarms"]] == names[50:]
    assert "NextToken" not in rest
    assert len(cloudwatch.describe_alarms(AlarmNames=names, MaxRecords=100)["MetricAlarms"]) == 60


def test_alarm_states_reads_every_page(engine: Engine) -> None:
    cloudwatch = engine.cloudwatch
    names = [put_manual_alarm(cloudwatch, f"a{n:03}") for n in range(120)]
    cloudwatch.set_alarm_state(AlarmName="a099", StateValue="ALARM", StateReason="test")
    views = CloudWatch().alarm_states(names)
    assert set(views) == set(names)
    assert views["a099"].state == "ALARM"


class _ConflictOnce:
    """DynamoDB's answer when another transaction holds one of the items, once."""

    def __init__(self) -> None:
        self.sent = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        if self.sent or not target.endswith("TransactWriteItems"):
            return None
        self.sent += 1
        body = {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific "
            "reasons [None, TransactionConflict]",
            "CancellationReasons": [
                {"Code": "None"},
                {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"},
            ],
        }
        headers = {"x-amzn-errortype": "TransactionCanceledException"}
        return AWSResponse(request.url, 400, headers, _Body(json.dumps(body).encode()))


def test_a_transaction_conflict_is_retried_never_a_rollback(engine: Engine) -> None:
    engine.deploy(declaration(version=1), C1)
    outcome = engine.start(declaration(version=2, steps=[10, 50]), C2)
    engine.tick(NAME, outcome.rollout_id)  # Initializing: the candidate at 0 %
    conflict = _ConflictOnce()
    clients.client("dynamodb").meta.events.register_first("before-send", conflict)
    result = engine.tick(NAME, outcome.rollout_id)
    assert conflict.sent == 1
    assert result.phase == Phase.PROGRESSING, result


def test_a_push_with_thousands_of_problems_is_recorded_with_the_first_and_a_count(
    engine: Engine,
) -> None:
    create_table(clients.client("dynamodb"), "pushes")
    problems = tuple(f"endpoints/e{n}.yaml:3: metadata.name: {'x' * 200}" for n in range(5000))
    record = PushRecord(
        repository="acme/models",
        commit=C1,
        pushed_at=1_800_000_000.0,
        status="invalid",
        delivery="d-1",
        provider="github",
        ref="refs/heads/main",
        clone_url="https://github.com/acme/models.git",
        problems=problems,
    )
    store = PushStore("pushes")
    store.put(record)
    stored = store.get("acme/models", record.pushed_at, C1)
    assert stored is not None
    assert stored.problems == problems[:MAX_PROBLEMS]
    assert stored.problem_count == 5000


def test_generated_alarm_names_stay_distinct_past_255_characters() -> None:
    endpoint = "e" * 63
    metric = "M" * 200
    names = {naming.alarm_name(endpoint, "v-0123456789ab", metric, s) for s in ("Sum", "Average")}
    assert len(names) == 2
    assert all(len(name) <= 255 for name in names)


def _golden(seed: str) -> list[dict[str, Any]]:
    """256 KB of golden requests that do not compress (the worst case for the store)."""

    def noise(n: int) -> str:
        return "".join(
            hashlib.sha256(f"{seed}{n}-{i}".encode()).hexdigest() for i in range(2500 // 64 + 1)
        )[:2500]

    return [
        {"name": f"requests/r{n}.json", "request": {"body": noise(n), "expect": {"status": 200}}}
        for n in range(100)
    ]


def test_golden_requests_stay_out_of_the_status_item_even_with_a_queued_push(
    engine: Engine,
) -> None:
    engine.deploy(declaration(version=1), C1)
    first, second = _golden("a"), _golden("b")
    started = engine.service.start(
        declaration(version=2),
        commit=C2,
        pushed_at=engine.clock.now,
        source={"provider": "test"},
        context=Context(golden=first),
    )
    queued = engine.service.start(
        declaration(version=3),
        commit="3" * 40,
        pushed_at=engine.clock.now + 1,
        source={"provider": "test"},
        context=Context(golden=second),
    )
    assert (started.kind, queued.kind) == ("started", "queued")
    item = clients.client("dynamodb").get_item(
        TableName="smgitops-test", Key={"pk": {"S": f"ENDPOINT#{NAME}"}, "sk": {"S": "STATUS"}}
    )["Item"]
    assert len(item["doc"]["S"]) < 20_000  # the requests are elsewhere, by reference
    status = StatusStore("smgitops-test").get(NAME)  # a fresh store: nothing cached
    assert status is not None and status.next is not None
    assert dump_requests(status.golden) == first
    assert dump_requests(status.next.context.golden) == second
