"""The webhook handler on moto (DynamoDB, SQS FIFO, Secrets Manager): every documented answer,
and nothing enqueued or recorded for a delivery that should not be."""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import pytest
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws
from moto.server import ThreadedMotoServer

from smgitops.aws import clients
from smgitops.aws.deliveries import DeliveryStore
from smgitops.aws.secrets import CachedSecret, SecretReader
from smgitops.clock import now
from smgitops.ingest.push import claim_key
from smgitops.ingest.work import PushWork
from smgitops.wiring.webhook import webhook as wired_webhook
from tests.conftest import load_event
from tests.support.ingest import (
    GITHUB_REPO,
    SECRET_NAME,
    TEST_SECRET,
    Aws,
    body_of,
    call_webhook,
    create_aws,
    signed,
    webhook_env,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

PUSH = "github-push-main.json"
AFTER = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
BEFORE = json.loads(load_event(PUSH)["body"])["before"]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with mock_aws():
        resources = create_aws()
        webhook_env(monkeypatch, resources)
        yield resources


def _delivery(delivery: str) -> Any:
    return DeliveryStore("smgitops-test").get(delivery)


def test_signed_push_to_main_is_recorded_enqueued_and_answered_202(aws: Aws) -> None:
    event = load_event(PUSH)
    status, body, _ = call_webhook(event)
    delivery = event["headers"]["x-github-delivery"]
    assert status == 202
    assert body == {
        "message": "accepted",
        "delivery": delivery,
        "repository": "https://github.com/acme/ml-endpoints",  # the identity, not full_name
        "commit": AFTER,
    }
    [message] = aws.receive()
    work = PushWork.model_validate_json(message["body"])
    assert message["attributes"]["MessageGroupId"] == work.identity
    assert message["attributes"]["MessageDeduplicationId"] == work.claim_key
    assert (work.commit, work.ref, work.repository) == (AFTER, "refs/heads/main", GITHUB_REPO)
    assert work.pushed_at > 1714564800.0  # received now: repository.pushed_at is not trusted
    assert work.provider == "github" and work.delivery == delivery
    record = _delivery(work.claim_key)
    assert record.state == "queued" and record.commit == AFTER and record.delivery == delivery


def test_base64_body_is_decoded_before_the_signature_is_checked(aws: Aws) -> None:
    event = load_event("github-push-main-base64.json")
    assert event["isBase64Encoded"] is True
    status, body, _ = call_webhook(event)
    assert (status, body["commit"]) == (202, AFTER)
    assert aws.queued() == 1


def test_form_encoded_delivery_is_accepted(aws: Aws) -> None:
    payload = body_of(load_event(PUSH))
    raw = b"payload=" + quote_plus(payload.decode()).encode()
    event = signed(PUSH, raw=raw)
    event["headers"]["content-type"] = "application/x-www-form-urlencoded"
    status, body, _ = call_webhook(event)
    assert (status, body["message"]) == (202, "accepted")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "github-push-other-branch.json",
            "ignored: branch feature/new-model is not the tracked branch main",
        ),
        ("github-push-tag.json", "ignored: tag push v1.4.0"),
        ("github-push-branch-deleted.json", "ignored: branch main was deleted"),
        ("github-issues-event.json", "ignored: issues"),
    ],
)
def test_ignored_deliveries_answer_202_with_the_reason_and_do_nothing(
    aws: Aws, name: str, reason: str
) -> None:
    event = load_event(name)
    status, body, _ = call_webhook(event)
    assert (status, body["message"]) == (202, reason)
    assert aws.queued() == 0
    assert _delivery(event["headers"]["x-github-delivery"]) is None


def test_tracked_branch_is_configurable(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    webhook_env(monkeypatch, aws, SMGITOPS_BRANCH="feature/new-model")
    status, body, _ = call_webhook(load_event("github-push-other-branch.json"))
    assert (status, body["message"]) == (202, "accepted")
    status, body, _ = call_webhook(load_event(PUSH))
    assert body["message"] == "ignored: branch main is not the tracked branch feature/new-model"


def test_ping_answers_200_with_the_hook_id(aws: Aws) -> None:
    status, body, _ = call_webhook(load_event("github-ping.json"))
    assert (status, body["message"], body["hookId"]) == (200, "pong", 482910374)
    assert aws.queued() == 0


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (
            lambda e: e["headers"].pop("x-hub-signature-256"),
            "signature missing: X-Hub-Signature-256",
        ),
        (
            lambda e: e["headers"].update({"x-hub-signature-256": "sha1=abc"}),
            "signature malformed: expected sha256=<64 hex digits>",
        ),
        (
            lambda e: e["headers"].update({"x-hub-signature-256": "sha256=" + "0" * 64}),
            "signature mismatch",
        ),
        (lambda e: e.update({"body": e["body"].replace("jdoe", "mallory")}), "signature mismatch"),
    ],
)
def test_missing_malformed_or_wrong_signature_is_401_and_nothing_else(
    aws: Aws, mutate: Any, reason: str
) -> None:
    event = load_event(PUSH)
    mutate(event)
    status, body, _ = call_webhook(event)
    assert (status, body) == (401, {"message": reason})
    assert aws.queued() == 0
    assert _delivery(event["headers"]["x-github-delivery"]) is None


def test_signed_with_another_secret_is_401(aws: Aws) -> None:
    status, body, _ = call_webhook(signed(PUSH, secret="not-the-secret"))
    assert (status, body["message"]) == (401, "signature mismatch")
    assert aws.queued() == 0


def test_replayed_delivery_is_acted_on_once_and_answered_with_the_first_result(aws: Aws) -> None:
    event = load_event(PUSH)
    first = call_webhook(event)
    second = call_webhook(event)
    assert first[0] == second[0] == 202
    assert first[1] == second[1]
    assert second[2]["X-Smgitops-Replayed"] == "true"
    assert aws.queued() == 1


def test_replay_after_a_crash_before_enqueue_enqueues_once(aws: Aws) -> None:
    event = load_event(PUSH)
    delivery = event["headers"]["x-github-delivery"]
    key = claim_key("https://github.com/acme/ml-endpoints", "refs/heads/main", BEFORE, AFTER)
    # An earlier attempt recorded the delivery and died before SendMessage.
    DeliveryStore(aws.table).claim(
        key,
        delivery=delivery,
        status_code=202,
        response={"message": "accepted", "delivery": delivery},
        repository="acme/ml-endpoints",
        commit=AFTER,
    )
    status, body, _ = call_webhook(event)
    assert (status, body) == (202, {"message": "accepted", "delivery": delivery})
    assert aws.queued() == 1
    assert _delivery(key).state == "queued"
    call_webhook(event)
    assert aws.queued() == 1


def test_rotated_secret_is_picked_up_and_the_previous_one_still_accepted(aws: Aws) -> None:
    assert call_webhook(load_event(PUSH))[0] == 202  # caches the current secret
    clients.client("secretsmanager").put_secret_value(
        SecretId=SECRET_NAME, SecretString="rotated-secret"
    )
    status, body, _ = call_webhook(signed(PUSH, secret="rotated-secret", delivery="rot-1"))
    assert (status, body["message"]) == (202, "accepted")
    # GitHub may still sign with the old secret until its hook is updated: AWSPREVIOUS.
    status, _, _ = call_webhook(signed(PUSH, secret=TEST_SECRET, delivery="rot-2"))
    assert status == 202
    assert call_webhook(signed(PUSH, secret="never-valid", delivery="rot-3"))[0] == 401


def test_a_failed_check_refreshes_the_secret_at_most_once_per_interval(aws: Aws) -> None:
    calls: list[str] = []
    sm = clients.client("secretsmanager")
    sm.meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **_: calls.append("get")
    )
    now = [100.0]
    secret = CachedSecret(SecretReader(SECRET_NAME), min_refresh=5.0, clock=lambda: now[0])
    assert secret.values() == (TEST_SECRET,)
    assert secret.refresh() is None  # fetched just now: no second call
    now[0] += 6
    assert secret.refresh() == (TEST_SECRET,)
    # values(), then AWSCURRENT again (no AWSPREVIOUS: this secret accepts none after rotation)
    assert calls == ["get", "get"]


def test_secrets_manager_down_is_503_with_nothing_done(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMGITOPS_AWS_MAX_ATTEMPTS", "1")
    clients.reset()

    def down(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")

    clients.client("secretsmanager").meta.events.register(
        "before-send.secrets-manager.GetSecretValue", down
    )
    event = load_event(PUSH)
    status, body, headers = call_webhook(event)
    assert status == 503
    assert body["message"].startswith("unavailable, retry later: Secrets Manager unavailable")
    assert headers["Retry-After"] == "5"
    assert aws.queued() == 0
    assert _delivery(event["headers"]["x-github-delivery"]) is None


def test_queue_down_is_503_and_the_redelivery_completes(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMGITOPS_AWS_MAX_ATTEMPTS", "1")
    clients.reset()
    down = [True]

    def send(**_: Any) -> None:
        if down[0]:
            raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")

    clients.client("sqs").meta.events.register("before-send.sqs.SendMessage", send)
    event = load_event(PUSH)
    assert call_webhook(event)[0] == 503
    assert aws.queued() == 0
    down[0] = False
    status, body, _ = call_webhook(event)  # GitHub's redelivery: same delivery id
    assert (status, body["message"]) == (202, "accepted")
    assert aws.queued() == 1


def test_oversized_body_is_413(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    webhook_env(monkeypatch, aws, SMGITOPS_MAX_BODY_BYTES="1024")
    event = load_event(PUSH)
    assert len(body_of(event)) > 1024
    status, body, _ = call_webhook(event)
    assert (status, body["message"]) == (413, "body over 1024 bytes")
    event = load_event("github-push-main-base64.json")
    event["body"] = base64.b64encode(b"x" * 100_000).decode()
    assert call_webhook(event)[0] == 413  # refused before decoding
    assert aws.queued() == 0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json at all", "body is not JSON: JSONDecodeError"),
        (b"[1, 2, 3]", "body is not a JSON object"),
        (b"\xff\xfe", "body is not JSON: UnicodeDecodeError"),
        (b"[" * 100_000 + b"]" * 100_000, "body is not JSON: RecursionError"),
        (b'{"ref": "refs/heads/main"}', "not a push payload: before: Field required (+2 more)"),
    ],
)
def test_signed_body_that_is_not_a_push_payload_is_400(aws: Aws, raw: bytes, reason: str) -> None:
    event = signed("github-push-main-base64.json", raw=raw)  # base64 carries any bytes
    status, body, _ = call_webhook(event)
    assert (status, body["message"]) == (400, reason)
    assert aws.queued() == 0


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        # Each of these answered 500 when pydantic validated the payload but not the work.
        (
            {"pushed_at": -1},
            "repository.pushed_at: Input should be greater than or equal to 0",
        ),
        ({"pushed_at": math.nan}, "repository.pushed_at: Input should be a finite number"),
        ({"pushed_at": math.inf}, "repository.pushed_at: Input should be a finite number"),
        (
            {"pusher": {"name": "x" * 300}},
            "pusher.name: String should have at most 256 characters",
        ),
        # Strict types: a lax reader took "true" for a deletion and True for a timestamp.
        ({"deleted": "true"}, "deleted: Input should be a valid boolean"),
        ({"pushed_at": True}, "repository.pushed_at: Input should be a valid number"),
    ],
)
def test_a_push_whose_work_would_be_invalid_is_400_not_500(
    aws: Aws, changes: dict[str, Any], reason: str
) -> None:
    status, body, _ = call_webhook(signed(PUSH, **changes))
    assert (status, body["message"]) == (400, f"not a push payload: {reason}")
    assert aws.queued() == 0


def test_missing_event_or_delivery_header_is_400(aws: Aws) -> None:
    event = load_event(PUSH)
    del event["headers"]["x-github-event"]
    assert call_webhook(event)[:2] == (400, {"message": "missing header X-GitHub-Event"})
    event = load_event(PUSH)
    del event["headers"]["x-github-delivery"]
    assert call_webhook(event)[:2] == (400, {"message": "missing or bad header X-GitHub-Delivery"})
    assert aws.queued() == 0


def test_push_naming_another_repository_is_403(aws: Aws) -> None:
    event = signed(PUSH, clone_url="https://github.com/evil/exfiltrate.git")
    status, body, _ = call_webhook(event)
    assert status == 403
    assert body["message"] == (
        "repository https://github.com/evil/exfiltrate.git is not in SMGITOPS_REPOSITORY_URLS"
    )
    assert aws.queued() == 0


def test_no_allowed_repository_refuses_every_push(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhook_env(monkeypatch, aws, SMGITOPS_REPOSITORY_URLS="")
    status, body, _ = call_webhook(load_event(PUSH))
    assert (status, body["message"]) == (
        403,
        "no repository is allowed: set SMGITOPS_REPOSITORY_URLS",
    )


def test_only_post_is_accepted(aws: Aws) -> None:
    event = load_event(PUSH)
    event["requestContext"]["http"]["method"] = "GET"
    status, _, headers = call_webhook(event)
    assert (status, headers["Allow"]) == (405, "POST")


def test_missing_configuration_is_a_500_without_details(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMGITOPS_TABLE", raising=False)
    wired_webhook.cache_clear()
    status, body, _ = call_webhook(load_event(PUSH))
    assert (status, body) == (500, {"message": "webhook misconfigured"})
    wired_webhook.cache_clear()


# What the webhook's cold path must never load: pydantic (it alone costs more than the import
# budget, docs/benchmarks.md), YAML, GitPython, the declaration and rollout models, the
# pydantic settings and push work models, powertools' event handler.
HEAVY = (
    "pydantic",
    "pydantic_core",
    "yaml",
    "git",
    "smgitops.declaration",
    "smgitops.rollout",
    "smgitops.git",
    "smgitops.settings",
    "smgitops.ingest.work",
    "aws_lambda_powertools.event_handler",
)
LOADED = (
    "import sys\n"
    "def loaded(): return sorted(m for m in sys.modules if any("
    f"m == h or m.startswith(h + '.') for h in {HEAVY!r}))\n"
)


def test_importing_the_webhook_loads_no_pydantic_yaml_git_or_models() -> None:
    code = LOADED + "import smgitops.handlers.webhook\nprint(loaded())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    # The Logger is created on the first request, not at import.
    code = "import sys, smgitops.handlers.webhook; print('aws_lambda_powertools' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_cold_process_serves_a_signed_push_without_loading_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first request too (settings, clients, secret, payload, message): a fresh interpreter
    against moto's server on loopback, as a new Lambda container would serve it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        clients.reset()
        resources = create_aws()
        webhook_env(monkeypatch, resources)
        code = LOADED + (
            "import json\n"
            "from smgitops.handlers import webhook\n"
            "response = webhook.handler(json.load(sys.stdin), None)\n"
            "print(json.dumps([response['statusCode'], loaded()]))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(load_event(PUSH)),
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"},
        )
        assert json.loads(out.stdout) == [202, []]
        [message] = resources.receive()  # the whole path ran: enqueued, valid push work
        assert PushWork.model_validate_json(message["body"]).commit == AFTER
    finally:
        clients.reset()
        server.stop()


# --- pushes are what they claim (security review 2, 4, 5, 9) -----------------------------------
# The repository identity is the allowed clone URL, never full_name; the ordering key is the
# receive time, never the payload's pushed_at; a replay under a new delivery id changes
# nothing; a rotated secret stops verifying after a bounded window; a repository with its own
# secret is signed by it alone.

IDENTITY = "https://github.com/acme/ml-endpoints"
TEAMS = "smgitops/repository-secrets"


def _messages(aws: Aws) -> list[dict[str, Any]]:
    return [
        json.loads(r["body"]) | {"group": r["attributes"]["MessageGroupId"]} for r in aws.receive()
    ]


def test_identity_is_the_allowed_clone_url_and_full_name_is_display_only(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhook_env(monkeypatch, aws, SMGITOPS_REPOSITORY_URLS="https://github.com/acme/*")
    forged = signed(
        PUSH, full_name="acme/victim", clone_url="https://GitHub.com/acme/ml-endpoints.git"
    )
    status, body, _ = call_webhook(forged)
    assert (status, body["repository"]) == (202, IDENTITY)
    [message] = _messages(aws)
    assert message["group"] != "acme/victim"
    assert message["fullName"] == "acme/victim"  # carried for display, trusted for nothing


def test_the_payloads_pushed_at_is_never_the_ordering_key(aws: Aws) -> None:
    before = now()
    status, _, _ = call_webhook(signed(PUSH, pushed_at="9999-12-31T23:59:59Z"))
    assert status == 202
    [message] = _messages(aws)
    assert before <= message["pushedAt"] <= now()  # the time the webhook received it


def test_a_replay_under_a_new_delivery_id_changes_nothing(aws: Aws) -> None:
    event = load_event(PUSH)
    first = call_webhook(event)
    replay = json.loads(json.dumps(event))
    replay["headers"]["x-github-delivery"] = "another-delivery-id"
    second = call_webhook(replay)
    assert first[0] == second[0] == 202
    assert second[1] == first[1]  # the first answer, stored
    assert second[2]["X-Smgitops-Replayed"] == "true"
    assert aws.queued() == 1


def _rotate(value: str) -> None:
    clients.client("secretsmanager").put_secret_value(SecretId=SECRET_NAME, SecretString=value)


def test_after_rotation_the_previous_secret_verifies_only_inside_the_window(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhook_env(monkeypatch, aws, SMGITOPS_PREVIOUS_SECRET_SECONDS="0")
    assert call_webhook(load_event(PUSH))[0] == 202  # caches the current secret
    _rotate("rotated-secret")
    # the first delivery signed with the new secret makes the webhook read it again
    assert call_webhook(signed(PUSH, secret="rotated-secret", before="2" * 40))[0] == 202
    status, body, _ = call_webhook(signed(PUSH, secret=TEST_SECRET, before="1" * 40))
    assert (status, body["message"]) == (401, "signature mismatch")  # window 0: revoked at once


def test_the_previous_secret_stops_verifying_when_the_window_ends_even_while_cached(
    aws: Aws,
) -> None:
    _rotate("rotated-secret")
    rotated = clients.client("secretsmanager").get_secret_value(SecretId=SECRET_NAME)
    rotated_at = rotated["CreatedDate"].timestamp()
    wall = [rotated_at + 10]
    mono = [0.0]
    secret = CachedSecret(
        SecretReader(SECRET_NAME),
        max_age=300,
        previous_window=3600,
        clock=lambda: mono[0],
        wall=lambda: wall[0],
    )
    assert secret.values() == ("rotated-secret", TEST_SECRET)
    wall[0] = rotated_at + 3601  # cached, but the window is over
    assert secret.values() == ("rotated-secret",)
    mono[0] = 6.0
    assert secret.refresh() == ("rotated-secret",)


def test_cached_secrets_expire_within_minutes(aws: Aws) -> None:
    mono = [0.0]
    secret = CachedSecret(SecretReader(SECRET_NAME), max_age=300, clock=lambda: mono[0])
    assert secret.values() == (TEST_SECRET,)
    _rotate("rotated-secret")
    clients.client("secretsmanager").update_secret_version_stage(
        SecretId=SECRET_NAME,
        VersionStage="AWSPREVIOUS",
        RemoveFromVersionId=_version(SECRET_NAME, "AWSPREVIOUS"),
    )
    mono[0] = 299.0
    assert secret.values() == (TEST_SECRET,)  # still cached
    mono[0] = 301.0
    assert secret.values() == ("rotated-secret",)  # re-read: the leaked value is gone


def test_the_webhooks_secret_has_a_bounded_cache_and_window_by_default(aws: Aws) -> None:
    from smgitops.wiring.webhook import webhook

    secret = webhook().secret
    assert isinstance(secret, CachedSecret)
    assert 0 < secret.max_age <= 600
    assert 0 < secret.previous_window <= 86400


def _version(name: str, stage: str) -> str:
    versions = clients.client("secretsmanager").list_secret_version_ids(SecretId=name)["Versions"]
    return next(v["VersionId"] for v in versions if stage in v["VersionStages"])


def test_a_repository_with_its_own_secret_is_signed_by_it_alone(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients.client("secretsmanager").create_secret(
        Name=TEAMS,
        SecretString=json.dumps(
            {GITHUB_REPO: "team-ml-secret", "https://github.com/acme/risk": "team-risk"}
        ),
    )
    webhook_env(
        monkeypatch,
        aws,
        SMGITOPS_REPOSITORY_URLS="https://github.com/acme/*",
        SMGITOPS_REPOSITORY_SECRETS=TEAMS,
    )
    # the shared secret no longer signs for a repository that has its own
    assert call_webhook(signed(PUSH, secret=TEST_SECRET))[0] == 401
    # another team's secret does not sign for this repository
    assert call_webhook(signed(PUSH, secret="team-risk", before="1" * 40))[0] == 401
    status, body, _ = call_webhook(signed(PUSH, secret="team-ml-secret", before="2" * 40))
    assert (status, body["repository"]) == (202, IDENTITY)
    # a repository without its own secret still uses the shared one, and only it
    other = "https://github.com/acme/other.git"
    assert call_webhook(signed(PUSH, secret=TEST_SECRET, clone_url=other))[0] == 202
    assert (
        call_webhook(signed(PUSH, secret="team-risk", clone_url=other, before="3" * 40))[0] == 401
    )
