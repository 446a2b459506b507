"""The EMF counts the handlers print: one document per endpoint, nothing left behind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from smgitops.observability import count, metrics


def _documents(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if '"_aws"' in line]


def test_each_count_is_one_document_with_its_own_endpoint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    count("Drift", 2, endpoint="churn")
    count("Drift", 0, endpoint="fraud")
    docs = _documents(capsys.readouterr().out)
    assert [(d["Endpoint"], d["Drift"]) for d in docs] == [("churn", [2.0]), ("fraud", [0.0])]
    assert docs[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Endpoint", "service"]]


def test_with_metrics_disabled_nothing_is_printed_or_carried_over(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    count("RolloutSucceeded", 1, endpoint="churn")
    assert _documents(capsys.readouterr().out) == []
    assert metrics().metric_set == {} and metrics().dimension_set == {}
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    count("RolloutRolledBack", 1, endpoint="fraud")
    [doc] = _documents(capsys.readouterr().out)
    assert doc["Endpoint"] == "fraud" and "RolloutSucceeded" not in doc
