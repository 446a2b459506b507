"""`smgitops invoke FUNCTION --event FILE`: a handler run in-process on an events/ file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from smgitops.aws import clients
from smgitops.cli import main
from smgitops.commands.invoke import env_vars, resign
from smgitops.wiring.rollout import rollouts
from smgitops.wiring.webhook import webhook as wired_webhook
from tests.conftest import EVENTS, load_event
from tests.integration.conftest import TABLE, Engine
from tests.support.ingest import GITHUB_REPO, SECRET_NAME, create_aws


@pytest.fixture
def handlers(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("SMGITOPS_TABLE", TABLE)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    rollouts.cache_clear()
    yield engine
    rollouts.cache_clear()


def test_invoke_runs_the_abort_handler_on_a_sample_event(
    handlers: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["invoke", "abort", "--event", str(EVENTS / "alarm-state-alarm.json")])
    assert code == 0
    answer = json.loads(capsys.readouterr().out)  # logs went to stderr
    assert answer == {"alarm": "churn-5xx-rate", "state": "ALARM", "endpoints": []}


def test_invoke_reports_an_unreadable_event_as_a_usage_error(
    handlers: Engine, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invoke", "tick", "--event", "/nonexistent/event.json"]) == 2
    assert "cannot read" in capsys.readouterr().err


# --- the webhook through invoke: its environment, its secret, its answer -------------------


def test_env_vars_take_the_shared_parameters_then_the_functions_own(tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    path.write_text(
        json.dumps(
            {
                "Parameters": {"SMGITOPS_TABLE": "shared", "SMGITOPS_BRANCH": "main"},
                "WebhookFunction": {"SMGITOPS_BRANCH": "release"},
                "TickFunction": {"SMGITOPS_TABLE": "not-for-the-webhook"},
            }
        )
    )
    assert env_vars(path, "webhook") == {"SMGITOPS_TABLE": "shared", "SMGITOPS_BRANCH": "release"}


def test_a_misconfigured_webhook_exits_one_and_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [n for n in os.environ if n.startswith("SMGITOPS_")]:
        monkeypatch.delenv(name)
    wired_webhook.cache_clear()
    code = main(["invoke", "webhook", "--event", str(EVENTS / "github-push-main.json")])
    wired_webhook.cache_clear()
    assert code == 1  # used to be 0 with a 500 on stdout
    answer = json.loads(capsys.readouterr().out)
    assert answer["statusCode"] == 500


SECRET = "the-runtimes-own-secret"  # nosec B105 - a test value


def test_a_sample_push_resigned_with_the_runtimes_secret_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with mock_aws():
        clients.reset()
        aws = create_aws(secret=SECRET)
        env = tmp_path / "env.json"
        env.write_text(
            json.dumps(
                {
                    "Parameters": {"SMGITOPS_TABLE": aws.table},
                    "WebhookFunction": {
                        "SMGITOPS_QUEUE_URL": aws.queue_url,
                        "SMGITOPS_WEBHOOK_SECRET": SECRET_NAME,
                        "SMGITOPS_REPOSITORY_URLS": GITHUB_REPO,
                    },
                }
            )
        )
        for name in [n for n in os.environ if n.startswith("SMGITOPS_")]:
            monkeypatch.delenv(name)
        monkeypatch.setattr(os, "environ", {**os.environ})  # invoke writes the env: undo it
        event = str(EVENTS / "github-push-main.json")
        wired_webhook.cache_clear()
        unsigned = main(["invoke", "webhook", "--event", event, "--env-vars", str(env)])
        refused = json.loads(capsys.readouterr().out)
        wired_webhook.cache_clear()
        signing = ["--sign", SECRET]
        resigned = main(["invoke", "webhook", "--event", event, "--env-vars", str(env), *signing])
        accepted = json.loads(capsys.readouterr().out)
        wired_webhook.cache_clear()
        clients.reset()
    assert (unsigned, refused["statusCode"]) == (0, 401)  # the events' test secret is not it
    assert (resigned, accepted["statusCode"]) == (0, 202)


def test_resigning_keeps_the_body_and_replaces_the_signature() -> None:
    event = load_event("github-push-main-base64.json")
    out = resign(event, "s3cret")
    assert out["body"] == event["body"]
    raw = base64.b64decode(out["body"])
    expected = "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    signatures = [v for k, v in out["headers"].items() if k.lower() == "x-hub-signature-256"]
    assert signatures == [expected]
