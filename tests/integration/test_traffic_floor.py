"""A step checked by alarms passes only on traffic the candidate served (issue 14): counted
from CloudWatch's Invocations of the candidate variant, as the deployed service reads them.

A generated alarm treats missing data as not breaching, so on a candidate nobody calls it
stays OK; before this rule such a candidate walked to 100 %.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from smgitops.aws import clients
from smgitops.aws.checks import Analysis
from smgitops.rollout import naming
from smgitops.rollout.status import Phase, RolloutStatus
from tests.builders import declaration
from tests.integration.conftest import Engine

NAME = "churn-predictor"
C1, C2 = "1" * 40, "2" * 40
FIVE_XX = {"metrics": [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 2}]}


@pytest.fixture
def counted(engine: Engine) -> Engine:
    """The deployed checks (CloudWatch's counts), on a clock at a whole minute of today."""
    engine.service.analysis = Analysis()
    engine.clock.now = float(int(dt.datetime.now(dt.UTC).timestamp()) // 60 * 60)
    engine.deploy(declaration(version=1), C1)
    return engine


def _serve(variant: str, start: float, minutes: int, per_minute: float, offset: float = 30) -> None:
    """Invocations of ``variant`` per minute from ``start``, as SageMaker publishes them."""
    dims = [{"Name": "EndpointName", "Value": NAME}, {"Name": "VariantName", "Value": variant}]
    data = [
        {
            "MetricName": "Invocations",
            "Dimensions": dims,
            "Timestamp": dt.datetime.fromtimestamp(start + 60 * minute + offset, dt.UTC),
            "Value": per_minute,
            "Unit": "None",
        }
        for minute in range(minutes)
    ]
    for first in range(0, len(data), 500):
        clients.client("cloudwatch").put_metric_data(
            Namespace="AWS/SageMaker", MetricData=data[first : first + 500]
        )


def _rollout(engine: Engine, **analysis: Any) -> tuple[str, list[tuple[Phase, dict[str, float]]]]:
    decl = declaration(version=2, steps=[10, 50], interval="5m", analysis={**FIVE_XX, **analysis})
    outcome = engine.start(decl, C2)
    return naming.variant_name(decl), engine.run(NAME, outcome.rollout_id, limit=80)


def _first_step(engine: Engine, decl: Any) -> tuple[Any, RolloutStatus]:
    """The rollout of ``decl`` started and ticked into its first step (Progressing)."""
    outcome = engine.start(decl, C2)
    for _ in range(6):
        engine.tick(NAME, outcome.rollout_id)
        status = engine.service.store.get(NAME)
        if status is not None and status.phase == Phase.PROGRESSING:
            break
    assert status is not None and status.step_since is not None
    return outcome, status


def test_a_candidate_that_gets_no_traffic_never_reaches_100_percent(counted: Engine) -> None:
    stable = naming.variant_name(declaration(version=1))
    _serve(stable, counted.clock.now, 120, 500.0)  # the endpoint is busy; the candidate is not
    candidate, trail = _rollout(counted)
    assert trail[-1][0] == Phase.ROLLED_BACK, trail
    assert all(weights.get(candidate, 0.0) < 100.0 for _, weights in trail), trail
    assert max(weights.get(candidate, 0.0) for _, weights in trail) == 10.0  # the first step
    status = counted.service.store.get(NAME)
    assert status is not None
    assert status.reason.startswith(
        "inconclusive after 3 extensions (fail): too few invocations of the candidate (0, "
    ), status.reason
    assert status.reason.endswith(" on stable; minInvocations 10)"), status.reason
    events = " ".join(r.event for r in counted.service.store.history(NAME))
    assert "step extended: extension 1/3: too few invocations of the candidate (0," in events


def test_a_candidate_that_serves_its_steps_is_promoted(counted: Engine) -> None:
    candidate = naming.variant_name(declaration(version=2))
    _serve(candidate, counted.clock.now, 120, 20.0)
    _, trail = _rollout(counted)
    assert trail[-1][0] == Phase.SUCCEEDED, trail
    judged = [
        r.details["judgement"]
        for r in counted.service.store.history(NAME)
        if "judgement" in r.details
    ]
    assert [j["verdict"] for j in judged] == ["pass", "pass"]  # one per step, never extended
    assert all(j["compared"] is False and j["invocationsCandidate"] >= 80 for j in judged)


def test_a_declared_policy_of_pass_lets_an_unobserved_step_through_and_says_so(
    counted: Engine,
) -> None:
    _, trail = _rollout(counted, traffic={"maxExtensions": 1, "inconclusive": "pass"})
    assert trail[-1][0] == Phase.SUCCEEDED, trail
    reasons = [
        r.details["judgement"]["reason"]
        for r in counted.service.store.history(NAME)
        if "judgement" in r.details
    ]
    assert reasons[0].startswith("inconclusive after 1 extensions (pass): too few invocations")


def test_traffic_before_the_step_does_not_count_for_it(counted: Engine) -> None:
    """Golden requests or the previous step's traffic in the minute the step began are not
    the step's: only minutes begun within the step count."""
    candidate = naming.variant_name(declaration(version=2))
    decl = declaration(version=2, steps=[10, 50], interval="5m", analysis=FIVE_XX)
    outcome, status = _first_step(counted, decl)
    # a second before the step began: in the minute that holds its start (unless it began on
    # the minute), which CloudWatch would count whole
    _serve(candidate, status.step_since, 1, 1000.0, offset=-1)
    counted.clock.now = status.step_since + 300
    counted.tick(NAME, outcome.rollout_id)
    extended = counted.service.store.get(NAME)
    assert extended is not None and extended.extensions == 1, extended


def test_a_step_judged_just_after_crossing_a_minute_is_extended_not_rolled_back(
    counted: Engine,
) -> None:
    """A step of 10 s that began 10 s or more before a minute and is judged 0.4 s after it: its
    window (the minute begun within the step) is shorter than CloudWatch's second, which
    CloudWatch refuses. It was read anyway, the refusal failed the tick, and the rollout rolled
    back with "tick failed: ActionRejectedError" (the demo, now and then). Nothing can be
    counted yet, so the step is extended, and passes once the traffic is in."""
    candidate = naming.variant_name(declaration(version=2))
    decl = declaration(version=2, steps=[10, 50], interval="10s", analysis=FIVE_XX)
    counted.clock.now += 30
    outcome, status = _first_step(counted, decl)
    minute = (int(status.step_since) // 60 + 1) * 60
    assert minute - status.step_since >= 10, status.step_since  # the step ends after its minute
    counted.clock.now = minute + 0.4
    counted.tick(NAME, outcome.rollout_id)
    extended = counted.service.store.get(NAME)
    assert extended is not None, extended
    assert (extended.phase, extended.extensions) == (Phase.PROGRESSING, 1), extended.reason
    _serve(candidate, minute, 1, 50.0, offset=5)
    counted.clock.now = minute + 20
    counted.tick(NAME, outcome.rollout_id)
    history = counted.service.store.history(NAME)  # newest first
    judged = [r.details["judgement"] for r in history if "judgement" in r.details]
    assert [j["verdict"] for j in judged] == ["pass", "extend"], judged
    assert judged[0]["invocationsCandidate"] == 50.0
