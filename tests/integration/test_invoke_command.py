"""`smgitops invoke FUNCTION --event FILE`: a handler run in-process on an events/ file."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from smgitops.cli import main
from smgitops.handlers import abort, tick
from tests.conftest import EVENTS
from tests.integration.conftest import TABLE, Engine


@pytest.fixture
def handlers(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("SMGITOPS_TABLE", TABLE)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    abort.service.cache_clear()
    tick.service.cache_clear()
    yield engine
    abort.service.cache_clear()
    tick.service.cache_clear()


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
