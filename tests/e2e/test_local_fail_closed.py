"""Fail-closed checks in the local runtime, with traffic on (issue 14): a model answering half
its requests with 5xx never reaches 100 % when its only check cannot see — a mis-cased metric
name (refused at validation) or a declared alarm that does not exist (refused before anything
moves) — each with its reason where an operator looks; a healthy model with correct checks is
still promoted."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.builders import declaration_dict
from tests.e2e.conftest import LocalUp, Repo, Traffic

pytestmark = pytest.mark.e2e

HALF_5XX = {"SMGITOPS_SIM_ERROR_RATE": "0.5"}


def _v1(local_up: LocalUp, repo: Repo, name: str) -> dict[str, float]:
    first, _ = repo.declare(declaration_dict(name, version=1, interval="1s"), "v1")
    local_up.wait_for(name, first, {"Succeeded"})
    return local_up.weights(name)


def _put_alarm(local_up: LocalUp, name: str) -> None:
    local_up.client("cloudwatch").put_metric_alarm(
        AlarmName=name, Namespace="Team", MetricName="Errors", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )  # fmt: skip


def test_a_mis_cased_metric_is_refused_and_the_bad_model_never_serves(
    local_up: LocalUp, repo: Repo
) -> None:
    name = "e2e-miscased"
    before = _v1(local_up, repo, name)
    check = {"metric": "Invocation5xxErrors", "statistic": "Sum", "max": 1}
    bad = declaration_dict(
        name, version=2, interval="2s", environment=HALF_5XX, analysis={"metrics": [check]}
    )
    with Traffic(local_up, name, pause=0.01) as traffic:
        sha, delivery = repo.declare(bad, "v2: half 5xx, checked by a metric nobody publishes")
        assert delivery.status == 202
        waited = local_up.cli("wait", name, "--commit", sha, "--timeout", "45s")
    assert waited.returncode == 1 and "was invalid" in waited.stdout, waited
    assert local_up.weights(name) == before  # v1 alone, all along
    assert traffic.failed == 0
    shown = local_up.cli("pushes", "--commit", sha[:12]).stdout
    assert "did you mean 'Invocation5XXErrors'?" in shown, shown
    assert f"endpoints/{name}.yaml:" in shown


def test_a_missing_declared_alarm_refuses_the_rollout(local_up: LocalUp, repo: Repo) -> None:
    name = "e2e-no-such-alarm"
    before = _v1(local_up, repo, name)
    bad = declaration_dict(
        name, version=2, interval="2s", environment=HALF_5XX,
        analysis={"alarms": ["e2e-churn-5xx-rate"]},
    )  # fmt: skip
    with Traffic(local_up, name, pause=0.01) as traffic:
        sha, _ = repo.declare(bad, "v2: half 5xx, watched by an alarm nobody created")
        deadline = time.monotonic() + 45
        status: dict[str, Any] = {}
        while time.monotonic() < deadline and not status.get("refused"):
            status = local_up.status(name) or {}  # refused once the push is reconciled
            time.sleep(0.2)
    assert status["refused"].startswith(f"{sha[:12]}: declared alarm e2e-churn-5xx-rate does not")
    assert local_up.weights(name) == before
    assert traffic.failed == 0
    detail = local_up.cli("status", name).stdout
    assert "refused" in detail and "a check that cannot fire is no check" in detail
    history = json.loads(local_up.cli("history", name, "--output", "json").stdout)
    assert any(r["event"].startswith(f"refused {sha[:12]}: declared alarm") for r in history)
    pushes = json.loads(local_up.cli("pushes", "--commit", sha, "--output", "json").stdout)
    assert pushes[0]["outcome"] == "refused"


def test_a_healthy_model_with_correct_checks_is_promoted(local_up: LocalUp, repo: Repo) -> None:
    name = "e2e-healthy"
    _v1(local_up, repo, name)
    _put_alarm(local_up, "e2e-healthy-errors")
    good = declaration_dict(
        name, version=2, interval="2s", steps=[20, 60],
        analysis={
            "alarms": ["e2e-healthy-errors"],
            "metrics": [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 2}],
        },
    )  # fmt: skip
    with Traffic(local_up, name, pause=0.01) as traffic:
        sha, _ = repo.declare(good, "v2: healthy, checked")
        status = local_up.wait_for(name, sha, {"Succeeded", "RolledBack"}, timeout=90)
    assert status["phase"] == "Succeeded", local_up.cli("history", name).stdout
    assert local_up.weights(name) == {status["candidate"]["name"]: 100.0}
    assert traffic.served.get(status["candidate"]["name"], 0) > 0
