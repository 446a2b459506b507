"""Benchmark: latencies of the local runtime (the whole system in this process, real HTTP and a
real Git repository), SageMaker's update delay set to zero.

- push → first traffic step: from the signed webhook request to the first weight change on the
  candidate (watched with DescribeEndpoint every few milliseconds), canary with a 1 s interval.
  The engine's own polling waits before that step (the Wait states the state machine was told
  to take while the endpoint was being updated) are reported apart; the rest — webhook, queue,
  git fetch, validation, reconcile, execution start, ticks — is the overhead the system adds.
- rollback: from an alarm set to ALARM to the candidate's weight back at 0, for the event-driven
  path (CloudWatch → EventBridge rule → abort function, one SageMaker call) and for the
  tick-polling path (the same rule disabled: the next tick sees the alarm), the alarm firing at
  the same points of a bake interval for both.

Targets: overhead < 1 s; event-driven rollback < 1 s. Run:
``.venv/bin/python -m bench.local [--trials N] [--rollback-interval S]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import yaml

from bench.support import endpoint_document, put_manual_alarm
from smgitops.declaration.models import Declaration
from smgitops.local.runtime import LocalRuntime
from smgitops.local.scenario import GitRemote
from smgitops.rollout import naming

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

NAME = "bench-local"
ALARM = "bench-local-errors"
RULE = "smgitops-alarm-abort"
TARGET_OVERHEAD_S = 1.0
TARGET_EVENT_ROLLBACK_S = 1.0


def document(version: int, interval: float) -> dict[str, Any]:
    rollout = {
        "strategy": "canary",
        "steps": [10, 50],
        "interval": f"{interval:g}s",
        "analysis": {"alarms": [ALARM]},
    }
    return endpoint_document(NAME, version, rollout)


@dataclass
class Timed:
    started: float
    ended: float
    event: dict[str, Any]
    output: Any


@dataclass
class Probe:
    """Records every tick and reconcile invocation of the runtime, with monotonic times."""

    ticks: list[Timed] = field(default_factory=list)
    reconciles: list[Timed] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, into: list[Timed], function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            started = time.perf_counter()
            output = function(*args)
            with self.lock:
                into.append(Timed(started, time.perf_counter(), args[0], output))
            return output

        return timed


@dataclass
class Session:
    runtime: LocalRuntime
    remote: GitRemote
    probe: Probe
    version: int = 0

    def client(self, service: str) -> Any:
        return boto3.session.Session().client(
            service,
            endpoint_url=self.runtime.aws_url,
            region_name=self.runtime.options.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the emulator accepts any key
        )

    def __post_init__(self) -> None:
        self.sagemaker = self.client("sagemaker")
        self.cloudwatch = self.client("cloudwatch")
        self.events = self.client("events")
        from smgitops.aws.store import StatusStore

        self.store = StatusStore(self.runtime.options.table, client=self.client("dynamodb"))

    def weight(self, variant: str) -> float | None:
        try:
            out = self.sagemaker.describe_endpoint(EndpointName=NAME)
        except self.sagemaker.exceptions.ClientError:
            return None
        variants = out["ProductionVariants"]
        total = sum(v["DesiredWeight"] for v in variants) or 1.0
        weights = {v["VariantName"]: 100 * v["DesiredWeight"] / total for v in variants}
        return weights.get(variant)

    def wait_weight(
        self, variant: str, test: Callable[[float], bool], timeout: float = 60
    ) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            weight = self.weight(variant)
            if weight is not None and test(weight):
                return time.perf_counter()
            time.sleep(0.003)
        raise SystemExit(f"{NAME}: weight of {variant} never satisfied the condition")

    def wait_phase(self, commit: str, phases: set[str], timeout: float = 90) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            status = self.store.get(NAME)
            if status is not None and status.commit == commit and str(status.phase) in phases:
                return
            time.sleep(0.05)
        raise SystemExit(f"{NAME}@{commit[:12]} never reached {phases}")

    def push(self, interval: float) -> tuple[str, str, dict[str, Any]]:
        """Commit and push the next model version; (commit, candidate variant, payload)."""
        self.version += 1
        doc = document(self.version, interval)
        self.remote.commit({f"endpoints/{NAME}.yaml": yaml.safe_dump(doc)}, f"v{self.version}")
        before, after = self.remote.push()
        variant = naming.variant_name(Declaration.model_validate(doc))
        return after, variant, self.remote.push_payload(before, after)

    def deliver(self, payload: dict[str, Any]) -> None:
        from smgitops.local.scenario import send_webhook

        answer = send_webhook(self.runtime.webhook_url, self.runtime.secret, payload)
        if answer.status != 202:
            raise SystemExit(f"webhook answered {answer.status}: {answer.body}")


@dataclass
class FirstStep:
    """Times from the start of the webhook request (seconds)."""

    total: float  # the candidate's weight changed
    answer: float  # the webhook answered 202
    reconcile_start: float
    reconcile_end: float
    first_tick: float  # the execution's first tick started
    waits: float  # Wait states the ticks before the step asked for
    ticks: int

    @property
    def overhead(self) -> float:
        return self.total - self.waits


def first_step_trial(session: Session, interval: float) -> FirstStep:
    commit, variant, payload = session.push(interval)
    ticks_before = len(session.probe.ticks)
    reconciles_before = len(session.probe.reconciles)
    start = time.perf_counter()
    session.deliver(payload)
    answered = time.perf_counter()
    moved = session.wait_weight(variant, lambda w: w > 0)
    session.wait_phase(commit, {"Succeeded"})
    mine = [t for t in session.probe.ticks[ticks_before:] if commit[:12] in t.event["rolloutId"]]
    mine.sort(key=lambda t: t.started)
    stepped = next(i for i, t in enumerate(mine) if t.output["phase"] == "Progressing")
    waits = sum(t.output["waitSeconds"] for t in mine[:stepped])
    reconcile = next(
        r for r in session.probe.reconciles[reconciles_before:] if commit in str(r.event)
    )
    return FirstStep(
        total=moved - start,
        answer=answered - start,
        reconcile_start=reconcile.started - start,
        reconcile_end=reconcile.ended - start,
        first_tick=mine[0].started - start,
        waits=waits,
        ticks=stepped + 1,
    )


def rollback_trial(session: Session, interval: float, offset: float) -> float:
    commit, variant, payload = session.push(interval)
    session.cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="reset")
    session.deliver(payload)
    session.wait_weight(variant, lambda w: abs(w - 10) < 0.5)
    time.sleep(offset)
    start = time.perf_counter()
    session.cloudwatch.set_alarm_state(
        AlarmName=ALARM, StateValue="ALARM", StateReason="Threshold Crossed (bench)"
    )
    back = session.wait_weight(variant, lambda w: w == 0, timeout=interval + 30)
    session.wait_phase(commit, {"RolledBack"})
    return back - start


@contextlib.contextmanager
def runtime_in_process() -> Iterator[LocalRuntime]:
    """The local runtime in this process (its stop leaves the process as it found it)."""
    from smgitops.local.runtime import RuntimeOptions

    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    with LocalRuntime.start(RuntimeOptions(update_delay=0.0)) as runtime:
        yield runtime


def _instrument(runtime: LocalRuntime, probe: Probe) -> None:
    from smgitops.handlers import reconcile
    from smgitops.local.emulator import stepfunctions
    from smgitops.local.runtime import ACCOUNT

    tick_arn = f"arn:aws:lambda:{runtime.options.region}:{ACCOUNT}:function:smgitops-tick"
    tick = stepfunctions.registered_function(tick_arn)
    if tick is None:
        raise SystemExit("the local runtime registered no tick function")
    stepfunctions.register_function(tick_arn, probe.wrap(probe.ticks, tick))
    reconcile.handler = probe.wrap(probe.reconciles, reconcile.handler)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--rollback-interval", type=float, default=5.0)
    args = parser.parse_args(argv)
    logging_off = {"moto", "werkzeug", "smgitops.local", "botocore", "git"}
    import logging

    for name in logging_off:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    from smgitops.handlers import reconcile

    original_reconcile = reconcile.handler
    try:
        with (
            tempfile.TemporaryDirectory(prefix="smgitops-bench-") as tmp,
            runtime_in_process() as rt,
        ):
            probe = Probe()
            _instrument(rt, probe)
            session = Session(rt, GitRemote(Path(tmp) / "models"), probe)
            put_manual_alarm(session.cloudwatch, ALARM)
            commit, _, payload = session.push(1.0)
            session.deliver(payload)
            session.wait_phase(commit, {"Succeeded"})  # first deploy: the endpoint exists
            firsts = [first_step_trial(session, 1.0) for _ in range(args.trials)]
            rng = random.Random(7)
            offsets = [rng.uniform(0.2, args.rollback_interval - 0.2) for _ in range(args.trials)]
            event = [rollback_trial(session, args.rollback_interval, o) for o in offsets]
            session.events.disable_rule(Name=RULE)
            polling = [rollback_trial(session, args.rollback_interval, o) for o in offsets]
            session.events.enable_rule(Name=RULE)
    finally:
        reconcile.handler = original_reconcile
    _report(firsts, event, polling, offsets, args.rollback_interval)
    return 0


def _report(
    firsts: list[FirstStep],
    event: list[float],
    polling: list[float],
    offsets: list[float],
    interval: float,
) -> None:
    print(f"local runtime in-process, update delay 0, {os.cpu_count()} CPUs")
    print("push → first step, from the start of the webhook request:")
    print(
        f"{'':<10}{'202 sent':>10}{'reconcile':>18}{'1st tick':>10}{'ticks':>7}{'waits':>7}"
        f"{'step live':>11}{'overhead':>10}"
    )
    for index, f in enumerate(firsts, start=1):
        span = f"{_ms(f.reconcile_start)}–{_ms(f.reconcile_end)}"
        print(
            f"{'trial ' + str(index):<10}{_ms(f.answer):>10}{span:>18}{_ms(f.first_tick):>10}"
            f"{f.ticks:>7}{f.waits:>6.0f}s{_ms(f.total):>11}{_ms(f.overhead):>10}"
        )
    overhead = statistics.median(f.overhead for f in firsts)
    print(
        f"push → first traffic step: median {statistics.median(f.total for f in firsts):.2f} s, "
        f"of which the engine's polling waits {statistics.median(f.waits for f in firsts):.0f} s; "
        f"overhead median {_ms(overhead)} (target < {TARGET_OVERHEAD_S:g} s: "
        f"{'met' if overhead < TARGET_OVERHEAD_S else 'MISSED'})"
    )
    print(f"rollback, alarm → candidate at 0 % (interval {interval:g} s; alarm fired at offsets")
    print(f"  {', '.join(f'{o:.1f}' for o in offsets)} s into the first step):")
    print(
        f"  event-driven (abort function): {', '.join(_ms(e) for e in event)}; median "
        f"{_ms(statistics.median(event))}"
    )
    print(
        f"  tick-polling (rule disabled):  {', '.join(_ms(p) for p in polling)}; median "
        f"{_ms(statistics.median(polling))}"
    )
    median_event = statistics.median(event)
    print(
        f"  polling / event-driven: {statistics.median(polling) / median_event:.0f}x; "
        f"event-driven target < {TARGET_EVENT_ROLLBACK_S:g} s: "
        f"{'met' if max(event) < TARGET_EVENT_ROLLBACK_S else 'MISSED'}"
    )


if __name__ == "__main__":
    sys.exit(main())
