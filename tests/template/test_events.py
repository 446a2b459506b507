"""Every sample event in events/ parses with the model of the handler it is for, and every
event has a handler: the files `sam local invoke` would use are the tests' fixtures."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from smgitops.handlers import abort, drift, reconcile, tick, webhook
from smgitops.ingest.codecommit import CodeCommitEvent
from smgitops.ingest.push import Push
from smgitops.ingest.work import Ignored, PushWork
from tests.conftest import EVENTS, load_event


def _function_url(event: dict[str, Any]) -> None:
    request = webhook.request_from(event)
    assert request.method == "POST"
    assert request.headers["x-github-event"]
    assert request.headers["x-hub-signature-256"].startswith("sha256=")
    body = base64.b64decode(request.body) if request.is_base64 else request.body.encode()
    payload = json.loads(body)
    if request.headers["x-github-event"] == "push":
        Push.parse(payload)  # the webhook's own reader


def _sqs(event: dict[str, Any]) -> None:
    for record in event["Records"]:
        assert record["eventSource"] == "aws:sqs"
        work = reconcile.work_from(record["body"], branch="main")
        assert isinstance(work, PushWork | Ignored)


PARSERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "github-": _function_url,
    "codecommit-": CodeCommitEvent.model_validate,
    "sqs-": _sqs,
    "alarm-state-": abort.AlarmStateChange.model_validate,
    "tick-": tick.TickInput.model_validate,
    "drift-": drift.DriftRequest.model_validate,
}

ALL_EVENTS = sorted(p.name for p in EVENTS.glob("*.json"))


@pytest.mark.parametrize("name", ALL_EVENTS)
def test_event_parses_with_its_handler_model(name: str) -> None:
    parsers = [parse for prefix, parse in PARSERS.items() if name.startswith(prefix)]
    assert parsers, f"events/{name} belongs to no handler: name it after its entry point"
    parsers[0](load_event(name))


def test_every_entry_point_has_sample_events() -> None:
    for prefix in PARSERS:
        assert any(n.startswith(prefix) for n in ALL_EVENTS), f"no events/{prefix}*.json"


def test_a_malformed_event_is_refused_by_the_models() -> None:
    broken = load_event("alarm-state-alarm.json")
    del broken["detail"]["alarmName"]
    with pytest.raises(ValueError, match="alarmName"):
        abort.AlarmStateChange.model_validate(broken)
    with pytest.raises(ValueError, match="rolloutId"):
        tick.TickInput.model_validate({"endpoint": "churn-predictor"})
