"""Secrets Manager unavailable for the webhook: 503 with nothing half-done (no delivery record,
no message), then GitHub's redelivery of the same delivery, once it is back, goes through the
real webhook and reconcile handlers and starts exactly one rollout."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import EndpointConnectionError

from smgitops import wiring
from smgitops.aws import clients
from smgitops.aws.deliveries import DeliveryStore
from smgitops.aws.store import StatusStore
from smgitops.handlers import reconcile
from smgitops.local.emulator import emulated_aws
from smgitops.rollout.status import Phase
from tests.support.faults import error_response, record
from tests.support.ingest import (
    Aws,
    GitRemote,
    call_webhook,
    create_aws,
    signed,
    webhook_env,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

FAULT = "Secrets Manager unavailable for the webhook"
ENDPOINT = "churn-predictor"


@pytest.fixture
def aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Aws, GitRemote]]:
    remote = GitRemote(tmp_path)
    for name in [n for n in os.environ if n.startswith("SMGITOPS_")]:
        monkeypatch.delenv(name)  # only this test's settings
    with emulated_aws(update_delay=0):
        wiring.reset()  # nothing built or swapped by an earlier test in this process
        resources = create_aws()
        machine = clients.client("stepfunctions").create_state_machine(
            name="smgitops-rollout",
            definition=json.dumps({"StartAt": "Tick", "States": {"Tick": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/smgitops-rollout",
        )["stateMachineArn"]
        webhook_env(
            monkeypatch,
            resources,
            SMGITOPS_AWS_MAX_ATTEMPTS="2",
            SMGITOPS_STATE_MACHINE_ARN=machine,
            SMGITOPS_WORKDIR=str(tmp_path / "work"),
            SMGITOPS_REPOSITORY_URLS=remote.url,
        )
        wiring.reset()  # clients and services from this environment (its attempts setting)
        yield resources, remote
    wiring.reset()


def _push_records(table: str, commit: str) -> list[str]:
    """What the reconcile recorded of ``commit`` (a failure's reason), for a failure message."""
    items = clients.client("dynamodb").scan(TableName=table)["Items"]
    return [json.dumps(item, default=str)[:600] for item in items if commit in json.dumps(item)]


def _refused(request: Any, **_: Any) -> Any:
    return error_response(request.url, 500, "InternalServiceError", "try again")


def _unreachable(request: Any, **_: Any) -> Any:
    raise EndpointConnectionError(endpoint_url=request.url)


@pytest.mark.parametrize(
    ("how", "hook"),
    [("connection refused", _unreachable), ("500 InternalServiceError", _refused)],
    ids=["unreachable", "5xx"],
)
def test_webhook_answers_503_then_the_redelivery_starts_one_rollout(
    aws: tuple[Aws, GitRemote], how: str, hook: Any
) -> None:
    resources, remote = aws
    remote.declare(ENDPOINT)
    sha = remote.commit("declare churn-predictor")
    event = signed("github-push-main.json", after=sha, clone_url=remote.url, pushed_at=1.8e9)
    delivery = event["headers"]["x-github-delivery"]
    secrets = clients.client("secretsmanager")
    secrets.meta.events.register_first("before-send.secrets-manager.GetSecretValue", hook)

    status, body, headers = call_webhook(event)
    assert (status, headers.get("Retry-After")) == (503, "5"), body
    assert body["message"].startswith("unavailable, retry later")
    assert DeliveryStore(resources.table).get(delivery) is None  # nothing half-done
    assert resources.queued() == 0
    assert StatusStore(resources.table).get(ENDPOINT) is None

    secrets.meta.events.unregister("before-send.secrets-manager.GetSecretValue", hook)
    redelivered = call_webhook(event)  # GitHub's "Redeliver": the same delivery id
    again = call_webhook(event)  # and once more: answered from the record
    assert (redelivered[0], redelivered[1]["message"]) == (202, "accepted")
    assert (again[0], again[2].get("X-Smgitops-Replayed")) == (202, "true")
    messages = resources.receive()
    assert len(messages) == 1
    outcome = reconcile.handler({"Records": messages}, None)
    assert outcome == {"batchItemFailures": []}, _push_records(resources.table, sha)
    rollout = StatusStore(resources.table).get(ENDPOINT)
    assert rollout is not None and rollout.commit == sha and rollout.phase == Phase.PENDING
    sfn = clients.client("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [e["name"] for e in executions] == [rollout.rollout_id]
    record(
        FAULT,
        how,
        "503 + Retry-After; the redelivery: 202, one rollout started",
        "no delivery record, no message, no status until the redelivery",
        f"delivery {delivery[:8]}… recorded once (state queued); a second redelivery is "
        "answered from the record",
    )
