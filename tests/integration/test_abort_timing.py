"""An alarm during a weight change: traffic goes back to stable as soon as SageMaker accepts
the weights call, however long the step interval is.

SageMaker answers UpdateEndpointWeightsAndCapacities with ``Updating`` and refuses another
update until it has applied the change (botocore ``UpdateEndpointWeightsAndCapacities``,
``DescribeEndpointOutput.EndpointStatus``); the emulator does the same for its weights delay.
"""

from __future__ import annotations

import pytest

from smgitops.errors import TransientError
from smgitops.local.emulator import set_weights_delay
from smgitops.rollout.status import Phase
from tests.builders import declaration
from tests.integration.conftest import Engine
from tests.support.emulator import put_manual_alarm, wait_for_status

NAME = "churn-predictor"
ALARM = "churn-5xx-rate"
C1, C2 = "1" * 40, "2" * 40


def _into_first_step(engine: Engine, weights_delay: float) -> tuple[str, str]:
    """A canary with a 10-minute interval whose first weight change is still being applied."""
    put_manual_alarm(engine.cloudwatch, ALARM)
    engine.deploy(declaration(version=1), C1)
    outcome = engine.start(
        declaration(version=2, steps=[10, 50], interval="10m", analysis={"alarms": [ALARM]}), C2
    )
    assert engine.tick(NAME, outcome.rollout_id).phase == Phase.INITIALIZING
    set_weights_delay(weights_delay)
    result = engine.tick(NAME, outcome.rollout_id)
    assert result.phase == Phase.PROGRESSING and result.wait_seconds >= 60
    live = engine.sagemaker.describe_endpoint(EndpointName=NAME)
    assert live["EndpointStatus"] == "Updating"  # SageMaker is applying the 10 %
    status = engine.service.store.get(NAME)
    assert status is not None and status.stable is not None
    return status.candidate.name, status.stable.name


@pytest.mark.slow
def test_an_alarm_during_a_weight_change_moves_traffic_back_once_sagemaker_accepts(
    engine: Engine,
) -> None:
    candidate, stable = _into_first_step(engine, weights_delay=6.0)
    engine.cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="5xx")
    assert engine.service.on_alarm(ALARM, "5xx") == [NAME]
    # no tick ran: the abort itself waited for SageMaker, not for the 10-minute interval
    assert engine.weights(NAME) == {stable: 100.0, candidate: 0.0}
    status = engine.service.store.get(NAME)
    assert status is not None and status.phase == Phase.ROLLING_BACK


def test_out_of_time_the_abort_asks_to_be_delivered_again_and_then_moves_traffic(
    engine: Engine,
) -> None:
    candidate, stable = _into_first_step(engine, weights_delay=3.0)
    engine.cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="5xx")
    with pytest.raises(TransientError, match="still on the candidate"):
        engine.service.on_alarm(ALARM, "5xx", time_left=lambda: 0.0)
    status = engine.service.store.get(NAME)
    assert status is not None and status.phase == Phase.ROLLING_BACK
    wait_for_status(engine.sagemaker, NAME, "InService", timeout=15.0)
    assert engine.weights(NAME)[candidate] == 10.0  # nobody moved it yet
    assert engine.service.on_alarm(ALARM, "5xx") == []  # the redelivered event: no new status
    assert engine.weights(NAME) == {stable: 100.0, candidate: 0.0}
