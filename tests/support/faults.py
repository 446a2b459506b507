"""Shared by the fault-injection tests (``test_faults_*.py``): a model of the rollout state
machine's Retry/Catch, an inventory of what a rollout left on SageMaker and CloudWatch, and the
fault × outcome recorder that docs/reliability.md's table is generated from.

Regenerate the table (every fault test records its outcome when ``SMGITOPS_FAULT_REPORT`` names
a file)::

    rm -f /tmp/faults.jsonl
    SMGITOPS_FAULT_REPORT=/tmp/faults.jsonl .venv/bin/pytest -q -n 2 tests/integration -k faults
    .venv/bin/python -m tests.support.faults /tmp/faults.jsonl \\
        --write docs/reliability.md
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSResponse

from smgitops.aws import clients
from smgitops.aws.store import StatusStore
from smgitops.declaration.models import Declaration
from smgitops.errors import for_state_machine
from smgitops.local.emulator.stepfunctions import ASL_PATH
from smgitops.rollout import naming
from smgitops.rollout.decide import candidate_ref
from smgitops.rollout.service import RolloutService
from smgitops.rollout.status import Phase
from smgitops.rollout.tick import TickResult
from tests.builders import declaration_dict
from tests.integration.conftest import Clock, Engine
from tests.support.emulator import put_manual_alarm

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from smgitops.rollout.actions import Action
    from smgitops.rollout.status import RolloutStatus

REPORT_ENV = "SMGITOPS_FAULT_REPORT"
BEGIN = "<!-- fault-table:begin (generated: see tests/support/faults.py) -->"
END = "<!-- fault-table:end -->"

# --- the state machine's error handling (infra/statemachine/rollout.asl.json) -----------------

# The Tick state's retried error names, as the ASL lists them (ErrorEquals matches the exact name).
RETRIED = frozenset(
    error
    for retry in json.loads(ASL_PATH.read_text())["States"]["Tick"]["Retry"]
    for error in retry["ErrorEquals"]
    if not error.startswith("Lambda.")
)
TICK_RETRIES = 6  # Tick: MaxAttempts
ROLLBACK_RETRIES = 10  # RollbackTick: MaxAttempts


class LambdaTimeout(Exception):
    """A tick killed after it acted and before it persisted (timeout, out of memory)."""


@dataclass
class Execution:
    """One rollout execution as infra/statemachine/rollout.asl.json runs it, on a fake clock.

    ``Tick`` is retried (same input) on the error names the ASL's ``Tick`` retries up to 6 times
    (1 s, doubling); any other error, or retries exhausted, is caught into the rollback loop:
    ``RollbackTick`` with ``abortReason = "tick failed: <error>"`` until the tick says done
    (retried up to 10 times; then ``RollbackFailed``). Ends ``Done`` (Succeeded/Superseded),
    ``RolledBack``, ``Failed`` or ``RollbackFailed`` as the definition's Route does.
    """

    service: RolloutService
    clock: Clock
    endpoint: str
    rollout_id: str
    after_tick: Callable[[TickResult], None] | None = None
    end: str = ""
    errors: list[str] = field(default_factory=list)
    trail: list[Phase] = field(default_factory=list)

    def run(self, limit: int = 120) -> str:
        abort_reason = ""
        retries = 0
        for _ in range(limit):
            try:
                result = self.service.tick(
                    self.endpoint, self.rollout_id, abort_reason=abort_reason
                )
            except Exception as exc:  # the definition's Retry, then Catch States.ALL
                name = type(for_state_machine(exc)).__name__  # as handlers/tick.py raises it
                self.errors.append(name)
                budget = ROLLBACK_RETRIES if abort_reason else TICK_RETRIES
                if name in RETRIED and retries < budget:
                    self.clock.advance(min(60, 2**retries))
                    retries += 1
                    continue
                if abort_reason:
                    self.end = "RollbackFailed"
                    return self.end
                abort_reason, retries = f"tick failed: {name}", 0
                continue
            retries = 0
            self.trail.append(result.phase)
            if self.after_tick is not None:
                self.after_tick(result)
            if result.done:
                self.end = {
                    Phase.SUCCEEDED: "Done",
                    Phase.SUPERSEDED: "Done",
                    Phase.ROLLED_BACK: "RolledBack",
                }.get(result.phase, "Failed")
                return self.end
            self.clock.advance(result.wait_seconds)
        raise AssertionError(f"execution did not end in {limit} ticks: {self.trail}")


# --- injecting faults ---------------------------------------------------------------------------


class CrashAfter:
    """Make the service's adapters raise ``error`` right after they applied the ``k``-th action
    (1-based; 0 never): a tick that acted and died before it persisted."""

    def __init__(
        self, service: RolloutService, k: int, error: type[Exception], endpoint: str = ""
    ) -> None:
        self.k = k
        self.error = error
        self.applied: list[Action] = []
        self.crashed_after: Action | None = None
        # the stored phase when the tick died: the phase that tick began in
        self.crashed_in: Phase | None = None
        self._status = (lambda: service.store.get(endpoint)) if endpoint else (lambda: None)
        adapters = [service.sagemaker, service.cloudwatch, service.autoscaling]
        self._adapters: list[Any] = [a for a in adapters if a is not None]
        self._originals = [adapter.apply for adapter in self._adapters]
        for adapter, original in zip(self._adapters, self._originals, strict=True):
            adapter.apply = self._wrap(original)

    def _wrap(self, original: Callable[[Action], None]) -> Callable[[Action], None]:
        def apply(action: Action) -> None:
            original(action)
            self.applied.append(action)
            if len(self.applied) == self.k:
                self.crashed_after = action
                stored = self._status()
                self.crashed_in = stored.phase if stored is not None else None
                raise self.error(f"crashed after {action.kind}")

        return apply

    def restore(self) -> None:
        for adapter, original in zip(self._adapters, self._originals, strict=True):
            adapter.apply = original


class _Body:
    """A canned HTTP body botocore can read."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self.body

    def read(self, *_: Any) -> bytes:
        return self.body


def error_response(url: str, status: int, code: str, message: str) -> AWSResponse:
    """What AWS answers with an error, readable by the JSON and the CBOR (CloudWatch) clients."""
    headers = {"x-amzn-errortype": code, "x-amzn-query-error": f"{code};Sender"}
    body = json.dumps({"__type": code, "message": message}).encode()
    return AWSResponse(url, status, headers, _Body(body))


@dataclass
class Bursts:
    """Per service, throttle ``throttled`` attempts in a row, then let ``passed`` through, again
    and again.

    Registered with ``register_first``: moto answers ``before-send`` itself and the first answer
    wins, so a hook registered after moto's is called but never heard.
    """

    throttled: int
    passed: int
    attempts: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    active: bool = True

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        if not self.active:
            return None
        host = urlsplit(request.url).hostname or ""
        seen = self.attempts[host] = self.attempts.get(host, 0) + 1
        if (seen - 1) % (self.throttled + self.passed) >= self.throttled:
            return None
        self.refused[host] = self.refused.get(host, 0) + 1
        return error_response(request.url, 400, "ThrottlingException", "Rate exceeded")

    def install(self, *services: str) -> Bursts:
        for service in services:
            clients.client(service).meta.events.register_first("before-send", self)
        return self


class NoSleep:
    """Stands in for ``time`` in botocore.endpoint: retry back-offs are recorded, not slept."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def put_alarm(name: str) -> str:
    """An existing CloudWatch alarm a declaration can list under ``analysis.alarms``."""
    return put_manual_alarm(clients.client("cloudwatch"), name, "Custom/Fault")


def set_alarm(name: str, state: str = "ALARM", reason: str = "Threshold Crossed") -> None:
    clients.client("cloudwatch").set_alarm_state(
        AlarmName=name, StateValue=state, StateReason=reason
    )


def trip_at(alarm: str, phase: Phase = Phase.PROGRESSING) -> Callable[[TickResult], None]:
    """An ``after_tick`` that puts ``alarm`` in ALARM the first time a tick ends in ``phase``."""
    tripped: list[bool] = []

    def after(result: TickResult) -> None:
        if result.phase == phase and not tripped:
            tripped.append(True)
            set_alarm(alarm)

    return after


# --- what a rollout leaves behind -------------------------------------------------------------


@dataclass(frozen=True)
class Inventory:
    """What exists for one endpoint: smgitops-made models and configs, generated alarms, and
    the live endpoint (status, config, variant weights in percent)."""

    models: tuple[str, ...]
    configs: tuple[str, ...]
    alarms: tuple[str, ...]
    status: str
    config: str
    weights: dict[str, float]
    # variant -> (MinCapacity, MaxCapacity, scale-in suspended) of its scalable target
    targets: dict[str, tuple[int, int, bool]] = field(default_factory=dict)

    def leaks(self) -> list[str]:
        """Resources nothing uses any more (empty for a settled endpoint)."""
        sm = clients.client("sagemaker")
        in_use_models: set[str] = set()
        if self.config:
            described = sm.describe_endpoint_config(EndpointConfigName=self.config)
            in_use_models = {v["ModelName"] for v in described["ProductionVariants"]}
        return (
            [f"config {c}" for c in self.configs if c != self.config]
            + [f"model {m}" for m in self.models if m not in in_use_models]
            + [f"alarm {a}" for a in self.alarms]
            + [f"scalable target of {v}" for v in self.targets if v not in self.weights]
        )


def inventory(endpoint: str) -> Inventory:
    sm = clients.client("sagemaker")
    # Names as smgitops.rollout.naming makes them (anchored: "a" must not match "a-1"'s).
    model = re.compile(rf"^{naming.PREFIX}{re.escape(endpoint[:40])}-[0-9a-f]{{10}}$")
    config = re.compile(rf"^{naming.PREFIX}{re.escape(endpoint[:36])}-[0-9a-f]{{12}}$")
    alarm = re.compile(rf"^{naming.ALARM_PREFIX}{re.escape(endpoint)}-v-[0-9a-f]{{12}}-")
    models = tuple(
        sorted(
            m["ModelName"]
            for page in sm.get_paginator("list_models").paginate()
            for m in page["Models"]
            if model.match(m["ModelName"])
        )
    )
    configs = tuple(
        sorted(
            c["EndpointConfigName"]
            for page in sm.get_paginator("list_endpoint_configs").paginate()
            for c in page["EndpointConfigs"]
            if config.match(c["EndpointConfigName"])
        )
    )
    alarms = tuple(
        sorted(
            a["AlarmName"]
            for page in clients.client("cloudwatch")
            .get_paginator("describe_alarms")
            .paginate(AlarmNamePrefix=f"{naming.ALARM_PREFIX}{endpoint}-")
            for a in page["MetricAlarms"]
            if alarm.match(a["AlarmName"])
        )
    )
    targets = _scalable_targets(endpoint)
    try:
        out = sm.describe_endpoint(EndpointName=endpoint)
    except sm.exceptions.ClientError:
        return Inventory(models, configs, alarms, "absent", "", {}, targets)
    variants = out["ProductionVariants"]
    total = sum(v["DesiredWeight"] for v in variants) or 1.0
    weights = {v["VariantName"]: round(100 * v["DesiredWeight"] / total, 3) for v in variants}
    return Inventory(
        models, configs, alarms, out["EndpointStatus"], out["EndpointConfigName"], weights, targets
    )


def _scalable_targets(endpoint: str) -> dict[str, tuple[int, int, bool]]:
    """The endpoint's variants registered with Application Auto Scaling."""
    prefix = f"endpoint/{endpoint}/variant/"
    pages = clients.client("application-autoscaling").get_paginator("describe_scalable_targets")
    return {
        t["ResourceId"].removeprefix(prefix): (
            int(t["MinCapacity"]),
            int(t["MaxCapacity"]),
            bool((t.get("SuspendedState") or {}).get("DynamicScalingInSuspended")),
        )
        for page in pages.paginate(ServiceNamespace="sagemaker")
        for t in page["ScalableTargets"]
        if t["ResourceId"].startswith(prefix)
    }


def settled(endpoint: str, variant: str, target: tuple[int, int, bool] | None = None) -> Inventory:
    """Assert the endpoint serves ``variant`` alone, InService, and nothing is left over; the
    variant's scalable target is ``target`` (min, max, scale-in suspended), or it has none."""
    found = inventory(endpoint)
    assert found.status == "InService", found
    assert found.weights == {variant: 100.0}, found  # never both variants left behind
    assert found.leaks() == [], found
    assert len(found.models) == 1 and len(found.configs) == 1, found
    assert found.targets == ({variant: target} if target else {}), found
    return found


def resources_line(found: Inventory) -> str:
    leaks = found.leaks()
    live = f"{found.status}, {len(found.weights)} variant(s)"
    return f"{live}; " + (f"left over: {', '.join(leaks)}" if leaks else "nothing left over")


# --- a canary to break ---------------------------------------------------------------------------

C1, C2 = "1" * 40, "2" * 40
FIVE_XX = [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 2}]
ENDS = {Phase.SUCCEEDED: "Done", Phase.ROLLED_BACK: "RolledBack"}


def current_status(engine: Engine, endpoint: str) -> RolloutStatus:
    """The stored status, read past any test double installed on the service's store."""
    status = StatusStore(engine.service.store.table).get(endpoint)  # type: ignore[attr-defined]
    assert status is not None
    return status


@dataclass
class Canary:
    """v1 deployed, then a canary [10, 50] to v2 with a generated 5xx alarm and, for the
    rollback path, an existing alarm that goes to ALARM once the candidate takes traffic.

    ``spec`` changes the candidate's rollout (another ``strategy``, its settings, ``analysis``);
    ``fields`` are spec fields of both versions (``autoscaling``: the stable variant has a
    scalable target; ``serverless`` with ``instanceType``/``instanceCount`` None), a None value
    removing the field."""

    engine: Engine
    name: str
    rollout_id: str
    stable: str
    candidate: Declaration
    alarm: str | None
    stable_config: str = ""  # the endpoint config live before the rollout

    @classmethod
    def begin(
        cls,
        engine: Engine,
        name: str,
        *,
        rollback: bool = False,
        fields: dict[str, Any] | None = None,
        first: bool = False,
        **spec: Any,
    ) -> Canary:
        """``first``: no v1, the rollout creates the endpoint (``stable`` is then v1's name,
        never deployed)."""
        # v1 created by the strategy the rollout uses (a serverless endpoint takes no canary)
        old = _declared(name, 1, fields or {}, strategy=spec.get("strategy", "canary"))
        if not first:
            engine.deploy(old, C1)
        alarm = put_alarm(f"{name}-errors") if rollback else None
        rollout = {
            "steps": [10, 50],
            "analysis": {"metrics": FIVE_XX, "alarms": [alarm] if alarm else []},
            **spec,
        }
        candidate = _declared(name, 2, fields or {}, **rollout)
        before = "" if first else inventory(name).config
        outcome = engine.start(candidate, C2)
        assert outcome.kind == "started", outcome
        stable = naming.variant_name(old)
        return cls(engine, name, outcome.rollout_id, stable, candidate, alarm, before)

    @property
    def candidate_variant(self) -> str:
        return naming.variant_name(self.candidate)

    @property
    def final_config(self) -> str:
        """The candidate-only endpoint config the finalize step switches to."""
        return naming.config_name(self.name, [candidate_ref(self.candidate)])

    def execute(
        self, after_tick: Callable[[TickResult], None] | None = None, *, trip: bool = True
    ) -> Execution:
        """Run the rollout's execution to its end (tripping the alarm, if any, unless told not
        to)."""
        trip_alarm = trip_at(self.alarm) if self.alarm and trip else None

        def after(result: TickResult) -> None:
            if trip_alarm is not None:
                trip_alarm(result)
            if after_tick is not None:
                after_tick(result)

        execution = Execution(
            self.engine.service, self.engine.clock, self.name, self.rollout_id, after_tick=after
        )
        execution.run()
        return execution

    def conclude(self, fault: str, case: str, execution: Execution, expected: Phase) -> None:
        """Record the row, then assert the end, the live endpoint, the leftovers, the history."""
        status = current_status(self.engine, self.name)
        history = history_line(self.engine.service, self.name, self.rollout_id)
        errors = f" after {', '.join(sorted(set(execution.errors)))}" if execution.errors else ""
        found = inventory(self.name)
        record(fault, case, f"{status.phase}{errors}", resources_line(found), history)
        assert (status.phase, execution.end) == (expected, ENDS[expected]), history
        settled(self.name, self.candidate_variant if expected == Phase.SUCCEEDED else self.stable)
        assert str(expected) in history


def _declared(name: str, version: int, fields: dict[str, Any], **rollout: Any) -> Declaration:
    raw = declaration_dict(name, version=version, **rollout)
    for key, value in fields.items():
        if value is None:
            raw["spec"].pop(key, None)
        else:
            raw["spec"][key] = value
    return Declaration.model_validate(raw)


# --- the fault x outcome table ----------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    fault: str
    case: str
    outcome: str
    resources: str
    history: str


def record(fault: str, case: str, outcome: str, resources: str, history: str) -> None:
    """Append one row to ``$SMGITOPS_FAULT_REPORT`` (no-op when unset)."""
    path = os.environ.get(REPORT_ENV)
    if not path:
        return
    row = Outcome(fault, case, outcome, resources, " ".join(history.split())[:240])
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(row)) + "\n")


def history_line(service: RolloutService, endpoint: str, rollout_id: str) -> str:
    """The rollout's recorded phases, oldest first, and its last reason."""
    records = [r for r in reversed(service.store.history(endpoint)) if r.rollout_id == rollout_id]
    phases: list[str] = []
    for entry in records:
        if not phases or phases[-1] != str(entry.phase):
            phases.append(str(entry.phase))
    reason = next((r.reason for r in reversed(records) if r.reason), "")
    return " → ".join(phases) + (f"; reason: {reason}" if reason else "")


def load(path: Path) -> list[Outcome]:
    rows = [Outcome(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
    unique = {(r.fault, r.case): r for r in rows}  # a rerun replaces its own rows
    return sorted(unique.values(), key=lambda r: (r.fault, r.case))


def render(rows: Sequence[Outcome]) -> str:
    lines = [
        "| fault | case | outcome | resources afterwards | what the history says |",
        "|---|---|---|---|---|",
    ]
    previous = ""
    for row in rows:
        fault = row.fault if row.fault != previous else ""
        previous = row.fault
        cells = [fault, row.case, row.outcome, row.resources, row.history]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def write_doc(doc: Path, table: str) -> None:
    text = doc.read_text(encoding="utf-8")
    head, found, rest = text.partition(BEGIN)
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise SystemExit(f"{doc}: markers {BEGIN!r} … {END!r} not found")
    doc.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}", encoding="utf-8")


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="render the fault x outcome table")
    parser.add_argument("report", type=Path, help="the JSON lines file the tests wrote")
    parser.add_argument("--write", type=Path, help="replace the table in this Markdown file")
    args = parser.parse_args(list(argv) if argv is not None else None)
    table = render(load(args.report))
    if args.write:
        write_doc(args.write, table)
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
