"""CloudWatch "Alarm State Change" events on the emulator's default event bus (emulator only).

CloudWatch sends an EventBridge event for every alarm state change; moto never does. Here:

- :func:`build_alarm_event` builds the event exactly in the documented shape (``detail-type``
  "CloudWatch Alarm State Change", ``source`` "aws.cloudwatch", ``detail`` with ``alarmName``,
  ``configuration.metrics``, ``previousState`` and ``state``);
- :func:`deliver` hands it to every enabled rule of the default bus whose pattern matches, using
  moto's own pattern matching (``moto.events.models.EventPattern``);
- targets: a registry maps a target ARN to a Python callable (:func:`register_target`), called
  with the event on a worker thread, the way an asynchronous Lambda invocation would be; SQS,
  CloudWatch Logs and event-bus targets go through moto's own delivery.

The same target routing applies to events sent with ``PutEvents``.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from moto.events.models import events_backends
from moto.events.utils import EventTemplateParser
from moto.sqs.exceptions import QueueDoesNotExist
from moto.sqs.models import sqs_backends

from smgitops.local.emulator.timestamps import iso_millis

logger = logging.getLogger(__name__)

Target = Callable[[dict[str, Any]], object]

DETAIL_TYPE = "CloudWatch Alarm State Change"
SOURCE = "aws.cloudwatch"
MOTO_NATIVE_TARGETS = ("sqs", "logs", "events")


@dataclass(frozen=True)
class AlarmState:
    """One side of a state change: value, reason, reason data (a JSON string) and time."""

    value: str
    reason: str
    reason_data: str | None
    timestamp: float  # seconds since the epoch

    def as_event(self) -> dict[str, Any]:
        state: dict[str, Any] = {"reason": self.reason}
        if self.reason_data and self.reason_data != "{}":
            state["reasonData"] = self.reason_data
        state["timestamp"] = iso_millis(self.timestamp)
        state["value"] = self.value
        return state


@dataclass(frozen=True)
class MetricStatView:
    """The single metric an alarm watches, as the event's ``configuration.metrics`` shows it."""

    namespace: str
    name: str
    dimensions: Mapping[str, str]
    period: int
    stat: str
    unit: str | None = None


@dataclass(frozen=True)
class Delivery:
    """What happened to one event for one target (kept for tests and the demo)."""

    target_arn: str
    rule_name: str
    event_id: str
    ok: bool
    error: str | None
    delivered_at: float


def build_alarm_event(
    *,
    alarm_name: str,
    alarm_arn: str,
    account_id: str,
    region: str,
    previous: AlarmState,
    current: AlarmState,
    metric: MetricStatView | None,
    description: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The EventBridge event CloudWatch emits when ``alarm_name`` goes from previous to current."""
    configuration: dict[str, Any] = {}
    if description:
        configuration["description"] = description
    metrics: list[dict[str, Any]] = []
    if metric is not None:
        stat: dict[str, Any] = {
            "metric": {
                "dimensions": dict(metric.dimensions),
                "name": metric.name,
                "namespace": metric.namespace,
            },
            "period": metric.period,
            "stat": metric.stat,
        }
        if metric.unit:
            stat["unit"] = metric.unit
        metric_id = str(uuid.uuid5(uuid.NAMESPACE_URL, alarm_arn))
        metrics.append({"id": metric_id, "metricStat": stat, "returnData": True})
    configuration["metrics"] = metrics
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": account_id,
        "time": datetime.fromtimestamp(current.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [alarm_arn],
        "detail": {
            "alarmName": alarm_name,
            "configuration": configuration,
            "previousState": previous.as_event(),
            "state": current.as_event(),
        },
    }


class _Registry:
    """Target callables and the worker pool that calls them; one per process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.targets: dict[str, Target] = {}
        self.pending: set[Future[None]] = set()
        self.history: deque[Delivery] = deque(maxlen=1000)
        self.pool: ThreadPoolExecutor | None = None

    def executor(self) -> ThreadPoolExecutor:
        with self.lock:
            if self.pool is None:
                self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="emulator-events")
            return self.pool


_REGISTRY = _Registry()


def register_target(arn: str, fn: Target) -> None:
    """Call ``fn(event)`` (on a worker thread) for every event a rule sends to ``arn``."""
    with _REGISTRY.lock:
        _REGISTRY.targets[arn] = fn


def unregister_target(arn: str) -> None:
    with _REGISTRY.lock:
        _REGISTRY.targets.pop(arn, None)


def clear_targets() -> None:
    """Forget every registered target and the delivery history."""
    with _REGISTRY.lock:
        _REGISTRY.targets.clear()
        _REGISTRY.history.clear()


def deliveries() -> list[Delivery]:
    """The most recent deliveries to registered targets, oldest first."""
    with _REGISTRY.lock:
        return list(_REGISTRY.history)


def wait_for_deliveries(timeout: float = 5.0) -> bool:
    """Wait until every scheduled call to a registered target has returned; False on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        with _REGISTRY.lock:
            pending = set(_REGISTRY.pending)
        if not pending:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        wait_futures(pending, timeout=remaining)


def deliver(event: dict[str, Any], account_id: str, region: str) -> None:
    """Send an event to the matching rules of the default bus of ``account_id``/``region``."""
    backend = events_backends[account_id][region]
    bus = backend.event_buses.get("default")
    if bus is None:
        return
    for rule in list(bus.rules.values()):
        rule.send_to_targets(cast("Any", event))


def _lambda_time(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a Lambda receives it: ISO time, no moto bookkeeping fields."""
    out = {k: v for k, v in event.items() if k != "ingestion-time"}
    if isinstance(out.get("time"), int | float):
        out["time"] = datetime.fromtimestamp(float(out["time"]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def _moto_time(event: dict[str, Any]) -> dict[str, Any]:
    """The event as moto's own targets expect it (``time`` in seconds since the epoch)."""
    out = dict(event)
    if isinstance(out.get("time"), str):
        moment = datetime.strptime(out["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        out["time"] = moment.timestamp()
    out.setdefault("ingestion-time", time.time())
    return out


def _target_input(target: Mapping[str, Any], event: dict[str, Any]) -> Any:
    """Apply a target's Input, InputPath or InputTransformer, as EventBridge does."""
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        node: Any = event
        for part in str(target["InputPath"]).lstrip("$").strip(".").split("."):
            if part:
                node = node.get(part) if isinstance(node, dict) else None
        return node
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=cast("Any", event),
        )
    return event


def _call(fn: Target, target_arn: str, rule_name: str, payload: Any, event_id: str) -> None:
    try:
        fn(payload)
    except Exception as exc:  # a target's failure is recorded, never raised into CloudWatch
        logger.warning("emulator event target %s failed", target_arn, exc_info=True)
        record = Delivery(target_arn, rule_name, event_id, False, repr(exc), time.time())
    else:
        record = Delivery(target_arn, rule_name, event_id, True, None, time.time())
    with _REGISTRY.lock:
        _REGISTRY.history.append(record)


def _dispatch(rule: Any, targets: Sequence[Mapping[str, Any]], event: dict[str, Any]) -> None:
    executor = _REGISTRY.executor()
    lambda_event = _lambda_time(event)
    for target in targets:
        with _REGISTRY.lock:
            fn = _REGISTRY.targets.get(target["Arn"])
        if fn is None:
            continue
        payload = _target_input(target, lambda_event)
        future = executor.submit(
            _call, fn, target["Arn"], rule.name, payload, str(event.get("id", ""))
        )
        with _REGISTRY.lock:
            _REGISTRY.pending.add(future)
        future.add_done_callback(_forget)


def _forget(future: Future[None]) -> None:
    with _REGISTRY.lock:
        _REGISTRY.pending.discard(future)


def _service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 else ""


# SQS's own answer to a FIFO SendMessage without a deduplication id on a queue without
# content-based deduplication (botocore sqs SendMessageRequest.MessageDeduplicationId).
FIFO_NEEDS_DEDUPLICATION = (
    "The queue should either have ContentBasedDeduplication enabled or "
    "MessageDeduplicationId provided explicitly"
)


def _refused_by_sqs(target: Mapping[str, Any]) -> str | None:
    """Why SQS refuses what EventBridge sends ``target``, or None.

    EventBridge cannot set a deduplication id (its ``SqsParameters`` has only ``MessageGroupId``):
    "If you specify a fair or FIFO queue as a target, the queue must have content-based
    deduplication enabled" (botocore events ``Target.SqsParameters``). moto only warns and drops.
    """
    _, _, _, region, account, name = str(target["Arn"]).split(":", 5)
    try:
        queue = sqs_backends[account][region].get_queue(name)
    except QueueDoesNotExist:
        return f"The specified queue does not exist: {name}"
    if queue.fifo_queue and queue.attributes.get("ContentBasedDeduplication") != "true":
        return FIFO_NEEDS_DEDUPLICATION
    return None


def _dead_letter(rule: Any, target: Mapping[str, Any], event: dict[str, Any], error: str) -> None:
    """A failed delivery: to the target's dead-letter queue, with EventBridge's message
    attributes (EventBridge user guide, "Using dead-letter queues"), and into the history."""
    with _REGISTRY.lock:
        _REGISTRY.history.append(
            Delivery(target["Arn"], rule.name, str(event.get("id", "")), False, error, time.time())
        )
    dead_letters = target.get("DeadLetterConfig", {}).get("Arn")
    if not dead_letters:
        logger.warning(
            "emulator: rule %s could not deliver to %s: %s", rule.name, target["Arn"], error
        )
        return
    _, _, _, region, account, name = str(dead_letters).split(":", 5)
    attributes = {
        "RULE_ARN": rule.arn,
        "TARGET_ARN": target["Arn"],
        "ERROR_CODE": "INVALID_PARAMETER",
        "ERROR_MESSAGE": error,
    }
    sqs_backends[account][region].send_message(
        queue_name=name,
        message_body=json.dumps(_lambda_time(event)),
        message_attributes={
            key: {"DataType": "String", "StringValue": value} for key, value in attributes.items()
        },
    )


def make_send_to_targets(original: Callable[..., None]) -> Callable[..., None]:
    """A replacement for moto's ``Rule.send_to_targets`` that knows registered targets.

    Disabled rules deliver nothing (as on AWS). Targets with a registered callable are called;
    SQS, Logs and event-bus targets go through moto, except an SQS target SQS would refuse
    (:func:`_refused_by_sqs`), whose event goes to the target's dead-letter queue; any other
    target (a Lambda function with no callable registered, a state machine...) is skipped with a
    warning instead of failing the PutEvents call, as EventBridge delivers asynchronously.
    """

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if getattr(self, "state", "ENABLED") != "ENABLED":
            return
        if not self.event_pattern.matches_event(original_event):
            return
        with _REGISTRY.lock:
            known = set(_REGISTRY.targets)
        registered = [t for t in self.targets if t["Arn"] in known]
        native = [
            t
            for t in self.targets
            if t["Arn"] not in known and _service(t["Arn"]) in MOTO_NATIVE_TARGETS
        ]
        for target in self.targets:
            if target not in registered and target not in native:
                logger.warning(
                    "emulator: rule %s target %s has no registered callable; event dropped",
                    self.name,
                    target["Arn"],
                )
        if registered:
            _dispatch(self, registered, dict(original_event))
        for target in [t for t in native if _service(t["Arn"]) == "sqs"]:
            if error := _refused_by_sqs(target):
                native.remove(target)
                _dead_letter(self, target, dict(original_event), error)
        if native:
            clone = copy.copy(self)
            clone.targets = native
            original(clone, _moto_time(dict(original_event)), transform_input)

    send_to_targets.__wrapped__ = original  # type: ignore[attr-defined]
    return send_to_targets


def patch(rule_cls: Any) -> None:
    """Install the target routing on moto's ``Rule`` class (the caller makes it idempotent)."""
    rule_cls.send_to_targets = make_send_to_targets(rule_cls.send_to_targets)
