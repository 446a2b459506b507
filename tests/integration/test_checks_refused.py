"""A declared alarm that does not exist refuses that endpoint's rollout before anything moves
(issue 14): on the push record, the commit status, ``status`` and ``history``; pushing again
once the alarm exists deploys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smgitops.aws import clients
from smgitops.aws.store import StatusStore
from smgitops.cli import main
from smgitops.rollout.status import Phase
from tests.integration.test_reconcile import T0, Stack, stack  # noqa: F401 - the fixture
from tests.support.emulator import put_manual_alarm

if TYPE_CHECKING:
    import pytest

ALARM = "churn-5xx-rate"
REASON = (
    f"declared alarm {ALARM} does not exist: a check that cannot fire is no check; create it "
    "or fix the name (nothing was deployed)"
)


def test_a_missing_declared_alarm_refuses_the_endpoint_and_nothing_moves(
    stack: Stack,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack.remote.declare("churn-predictor", version=1)
    stack.push(stack.remote.commit("v1"), T0)
    stack.finish()
    sagemaker = clients.client("sagemaker")
    models = {m["ModelName"] for m in sagemaker.list_models()["Models"]}
    stack.remote.declare("churn-predictor", version=2, analysis={"alarms": [ALARM]})
    stack.remote.declare("fraud-scorer", version=1, analysis={"alarms": [ALARM]})
    sha = stack.remote.commit("v2, and a new endpoint, watched by an alarm nobody created")
    stack.github.requests.clear()
    record = stack.push(sha, T0 + 60)

    outcomes = {o["endpoint"]: (o["kind"], o["reason"]) for o in record.outcomes}
    assert outcomes == {"churn-predictor": ("refused", REASON), "fraud-scorer": ("refused", REASON)}
    assert record.reason.endswith("refused: churn-predictor, fraud-scorer")
    path = f"/repos/acme/ml-endpoints/statuses/{sha}"
    assert sorted(stack.statuses()) == [
        (path, "smgitops/churn-predictor", "failure"),
        (path, "smgitops/fraud-scorer", "failure"),
        (path, "smgitops/validate", "success"),
    ]
    # nothing moved: no model, no new endpoint, the old rollout's status untouched but for why
    assert {m["ModelName"] for m in sagemaker.list_models()["Models"]} == models
    assert not stack.endpoint_exists("fraud-scorer")
    store = StatusStore(stack.aws.table)
    churn = store.get("churn-predictor")
    assert churn is not None and churn.phase == Phase.SUCCEEDED
    assert churn.refused == f"{sha[:12]}: {REASON}"
    fraud = store.get("fraud-scorer")
    assert fraud is not None and fraud.phase == Phase.FAILED
    assert fraud.reason == f"refused: {REASON}"

    capsys.readouterr()
    assert main(["status", "churn-predictor"]) == 0
    assert f"refused    {sha[:12]}: {REASON}" in capsys.readouterr().out
    assert main(["history", "fraud-scorer"]) == 0
    assert f"refused {sha[:12]}: {REASON}" in capsys.readouterr().out

    # The alarm is created; the same declarations pushed again are checked again and deploy.
    put_manual_alarm(clients.client("cloudwatch"), ALARM)
    again = stack.remote.commit("retry once the alarm exists")
    record = stack.push(again, T0 + 120)
    assert {o["endpoint"]: o["kind"] for o in record.outcomes} == {
        "churn-predictor": "started",
        "fraud-scorer": "started",
    }
    restarted = store.get("churn-predictor")
    assert restarted is not None and restarted.refused == ""
