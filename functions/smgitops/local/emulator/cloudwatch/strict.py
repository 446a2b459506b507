"""CloudWatch as strict as AWS where moto is kinder (emulator only, never used in AWS).

(``DescribeAlarms`` pages in ``backend.py``.)

- ``DeleteAlarms`` refuses, deleting nothing, when a composite alarm not deleted in the same
  call names one of the alarms in its rule: ``ValidationError: Cannot delete x as there are
  composite alarm(s) depending on it.`` (moto deletes). Sources: the AWS DeleteAlarms reference
  ("If you specify any incorrect alarm names, the alarms you specify with correct names are
  still deleted", composite alarms in a rule must be removed first) and the error AWS returns,
  quoted in cloud-custodian/cloud-custodian#7763 and ekristen/aws-nuke#462.
- ``PutCompositeAlarm`` exists (moto has none), and refuses a rule naming an alarm that does
  not exist, as AWS does ("Could not save the composite alarm as alarms ... in the alarm rule
  do not exist", awsdocs/aws-cloudformation-user-guide#911). Composite alarms are stored, not
  evaluated.
- A new alarm's state timestamp is the emulator's clock (``smgitops.clock``, which a time
  warp speeds up), as every later state change already is, not moto's wall clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from moto.cloudwatch.exceptions import ValidationError
from moto.core.responses import EmptyResult

from smgitops import clock

if TYPE_CHECKING:
    from collections.abc import Callable

_RULE_ALARM = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*\"?([^\")]+?)\"?\s*\)")


def patch(response_cls: Any, backend_cls: Any) -> None:
    """Install paging on moto's CloudWatchResponse and the composite guard on its backend."""
    response_cls.put_composite_alarm = _put_composite_alarm
    backend_cls.delete_alarms = _guarded(backend_cls.delete_alarms)
    backend_cls.put_metric_alarm = _stamped(backend_cls.put_metric_alarm)


def _put_composite_alarm(self: Any) -> EmptyResult:
    name, rule = self._get_param("AlarmName"), self._get_param("AlarmRule") or ""
    backend = self.cloudwatch_backend
    absent = [n for n in _RULE_ALARM.findall(rule) if n not in backend.alarms]
    if absent:
        raise ValidationError(
            f"Could not save the composite alarm as alarms [{', '.join(absent)}] in the alarm "
            "rule do not exist"
        )
    metric_only = "namespace metric_name comparison_operator evaluation_periods period threshold"
    backend.put_metric_alarm(
        name=name,
        **dict.fromkeys([*metric_only.split(), "statistic"]),
        description=self._get_param("AlarmDescription"),
        dimensions=[],
        alarm_actions=self._get_param("AlarmActions", []),
        rule=rule,
    )
    return EmptyResult()


def depended_on(alarms: dict[str, Any], names: list[str]) -> list[str]:
    """The alarms among ``names`` that a composite alarm outside ``names`` names in its rule."""
    deleting = set(names)
    needed: set[str] = set()
    for alarm in alarms.values():
        rule = getattr(alarm, "rule", None)
        if rule and alarm.name not in deleting:
            needed |= set(_RULE_ALARM.findall(rule))
    return [name for name in names if name in needed]


def _guarded(original: Callable[..., None]) -> Callable[..., None]:
    def delete_alarms(self: Any, alarm_names: list[str]) -> None:
        blocked = depended_on(self.alarms, list(alarm_names))
        if blocked:
            which = "them" if len(blocked) > 1 else "it"
            raise ValidationError(
                f"Cannot delete {','.join(blocked)} as there are composite alarm(s) "
                f"depending on {which}."
            )
        original(self, alarm_names)

    return delete_alarms


def _stamped(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_metric_alarm(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        existed = name in self.alarms
        alarm = original(self, name, *args, **kwargs)
        if not existed and alarm is not None:
            alarm.state_updated_timestamp = datetime.fromtimestamp(clock.now(), UTC).replace(
                tzinfo=None
            )
        return alarm

    return put_metric_alarm
