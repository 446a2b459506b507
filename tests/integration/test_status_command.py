"""`smgitops status` and `history` read the status table: phase, weights, commit, drift, reason."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from moto import mock_aws

from smgitops.aws import clients
from smgitops.cli import main
from smgitops.commands.operate import _numbers
from smgitops.rollout.status import HistoryRecord
from tests.builders import declaration
from tests.integration.conftest import TABLE, Engine
from tests.unit.test_follow import NOW, progressing

NAME = "churn-predictor"


def test_status_shows_the_drift_column_and_json(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = engine.deploy(declaration(version=1), "1" * 40)
    assert main(["status", "--table", TABLE]) == 0
    text = capsys.readouterr().out
    assert "DRIFT" in text and NAME in text and "Succeeded" in text and "-" in text
    status = engine.service.store.get(NAME)
    assert status is not None
    drift = HistoryRecord(
        at=engine.clock.now + 1, endpoint=NAME, rollout_id=outcome.rollout_id, commit="1" * 40,
        spec_hash=status.spec_hash, phase=status.phase,
        event="drift: weights: declared 100 %, live 50 % (console edit)",
    )  # fmt: skip
    engine.service.store.append_history([drift])  # type: ignore[attr-defined]
    assert main(["status", NAME, "--table", TABLE, "--output", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["drift"].startswith("weights: declared 100 %")
    assert rows[0]["phase"] == "Succeeded" and rows[0]["commit"] == "1" * 40
    assert "declaration" not in rows[0] and "gate_token" not in rows[0]
    assert main(["history", NAME, "--table", TABLE]) == 0
    assert "console edit" in capsys.readouterr().out
    assert main(["history", NAME, "--table", TABLE, "--rollouts"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["COMMIT", "STARTED", "(UTC)", "TIME", "OUTCOME", "REASON"]
    assert len(rows) == 1
    assert rows[0].startswith("1" * 12) and "Succeeded" in rows[0]


def test_status_of_an_unknown_endpoint_is_an_error(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "nope", "--table", TABLE]) == 1
    assert "no rollout recorded for nope" in capsys.readouterr().err
    assert engine.calls.of("sagemaker") == []


def test_status_of_one_endpoint_shows_each_variants_numbers_from_cloudwatch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    status = progressing(since=NOW - 600)
    with mock_aws():
        clients.reset()
        cloudwatch = clients.client("cloudwatch")
        for variant, count, errors in (("smg-old", 100.0, 0.0), (status.candidate.name, 20, 4)):
            dims = [
                {"Name": "EndpointName", "Value": "churn"},
                {"Name": "VariantName", "Value": variant},
            ]
            at = dt.datetime.fromtimestamp(NOW - 300, dt.UTC)
            data = [
                {"MetricName": name, "Dimensions": dims, "Value": value, "Timestamp": at}
                for name, value in (("Invocations", count), ("Invocation5XXErrors", errors))
            ]
            cloudwatch.put_metric_data(Namespace="AWS/SageMaker", MetricData=data)
        numbers = _numbers(status, NOW)
        clients.reset()
    assert [(n.label, n.invocations, n.errors_5xx) for n in numbers] == [
        ("stable", 100.0, 0.0),
        ("candidate", 20.0, 4.0),
    ]


def test_retry_refuses_while_a_rollout_is_in_progress(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    engine.deploy(declaration(version=1), "1" * 40)
    started = engine.start(declaration(version=2), "2" * 40)
    status = engine.service.store.get(NAME)
    assert status is not None and status.active and status.rollout_id == started.rollout_id
    assert main(["retry", NAME, "--table", TABLE]) == 1
    err = capsys.readouterr().err
    assert f"{NAME} has a rollout in progress ({status.phase}); nothing to retry" in err
    assert engine.service.store.get(NAME) == status  # nothing started, nothing written
