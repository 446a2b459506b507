"""The emulator is as strict as AWS where a check's observation depends on it (issue 14), and
the engine copes: DescribeAlarms pages (50 by default), DeleteAlarms refuses while a composite
alarm depends on an alarm, and a clean-up that fails never rolls back a promoted model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from smgitops.aws.cloudwatch import CloudWatch
from smgitops.local.emulator import emulated_aws
from smgitops.rollout import naming
from smgitops.rollout.status import Phase
from tests.builders import declaration
from tests.support.emulator import client, put_manual_alarm

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.integration.conftest import Engine

NAME = "churn-predictor"


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with emulated_aws():
        yield client("cloudwatch")


def test_describe_alarms_pages_like_aws(cloudwatch: Any) -> None:
    names = [put_manual_alarm(cloudwatch, f"team-{i:03d}") for i in range(120)]
    first = cloudwatch.describe_alarms(AlarmNames=names[:100])
    assert len(first["MetricAlarms"]) == 50 and "NextToken" in first  # AWS's default page
    second = cloudwatch.describe_alarms(AlarmNames=names[:100], NextToken=first["NextToken"])
    assert len(second["MetricAlarms"]) == 50 and "NextToken" not in second
    big = cloudwatch.describe_alarms(AlarmNames=names[:100], MaxRecords=100)
    assert len(big["MetricAlarms"]) == 100 and "NextToken" not in big


def test_an_alarm_past_the_50th_still_counts(cloudwatch: Any) -> None:
    names = [put_manual_alarm(cloudwatch, f"watched-{i:03d}") for i in range(60)]
    cloudwatch.set_alarm_state(AlarmName=names[-1], StateValue="ALARM", StateReason="breached")
    views = CloudWatch(cloudwatch).alarm_states(names)
    assert len(views) == 60
    assert views[names[-1]].state == "ALARM"


def composite(cloudwatch: Any, name: str, rule_of: str) -> None:
    cloudwatch.put_composite_alarm(AlarmName=name, AlarmRule=f'ALARM("{rule_of}")')


def test_delete_alarms_refuses_while_a_composite_alarm_depends_on_one(cloudwatch: Any) -> None:
    put_manual_alarm(cloudwatch, "errors")
    put_manual_alarm(cloudwatch, "latency")
    composite(cloudwatch, "page-the-team", "errors")
    with pytest.raises(ClientError, match="Cannot delete errors as there are composite alarm"):
        cloudwatch.delete_alarms(AlarmNames=["latency", "errors"])
    left = {a["AlarmName"] for a in cloudwatch.describe_alarms(MaxRecords=100)["MetricAlarms"]}
    assert left == {"errors", "latency"}  # nothing deleted, as on AWS
    cloudwatch.delete_alarms(AlarmNames=["page-the-team"])
    cloudwatch.delete_alarms(AlarmNames=["latency", "errors"])


def test_a_clean_up_that_fails_never_rolls_back_a_promoted_model(engine: Engine) -> None:
    stable = engine.deploy(declaration(version=1), "1" * 40)
    five_xx = {"metrics": [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 5}]}
    outcome = engine.start(declaration(version=2, steps=[50], analysis=five_xx), "2" * 40)
    engine.tick(NAME, outcome.rollout_id)  # Pending → Initializing: the alarm is created
    status = engine.service.store.get(NAME)
    assert status is not None
    (generated,) = status.generated_alarms
    assert generated.startswith(
        naming.alarm_name(NAME, status.candidate.name, "Invocation5XXErrors", "Sum")[:60]
    )
    # Someone builds a composite alarm on the generated one: DeleteAlarms will be refused.
    composite(engine.cloudwatch, "team-page", generated)
    trail = engine.run(NAME, outcome.rollout_id)
    assert trail[-1][0] == Phase.SUCCEEDED
    assert trail[-1][1] == {status.candidate.name: 100.0}
    final = engine.service.store.get(NAME)
    assert final is not None and final.phase == Phase.SUCCEEDED and final.stable is not None
    assert final.stable.name == status.candidate.name != stable.rollout_id
    events = [r.event for r in engine.service.store.history(NAME)]
    assert any(
        "clean-up DeleteAlarms failed, left in place" in e and "composite alarm" in e
        for e in events
    )
    assert engine.cloudwatch.describe_alarms(AlarmNames=[generated])["MetricAlarms"]
