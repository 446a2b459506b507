"""Benchmark: AWS API calls and time per tick of the rollout engine, and the abort path.

Against the emulator in decorator mode (moto in this process, SageMaker updates instant), the
real adapters and a fake clock, as the integration tests drive the engine:

- a canary [10, 25, 50] with one existing alarm and one generated 5xx alarm, ticked as the
  state machine would (each tick waits what the previous one asked for), plus "hold" ticks in
  the middle of each bake interval (what a tick costs when nothing is due);
- every call counted with botocore ``before-call`` hooks, by service and operation;
- the abort path: an alarm event → ``on_alarm`` → weights back on the stable variant.

Judged by: SageMaker + CloudWatch calls per steady-state tick (Progressing/Paused/Promoting)
<= 3 (DescribeEndpoint, DescribeAlarms, at most one mutating call), and exactly one SageMaker
call on the abort path. Run: ``.venv/bin/python -m bench.tick [--aborts N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.support import endpoint_document, put_manual_alarm
from smgitops.rollout.service import RolloutService

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

TABLE = "smgitops-bench"
STEADY = frozenset({"Progressing", "Paused", "Promoting"})
MUTATING_PREFIXES = ("Create", "Update", "Delete", "Put", "Set")
TARGET_STEADY = 3
TARGET_ABORT_SAGEMAKER = 1


@dataclass
class Calls:
    log: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, event_name: str, **_: Any) -> None:
        _before, service, operation = event_name.split(".", 2)
        self.log.append((service, operation))

    def mark(self) -> int:
        return len(self.log)

    def since(self, mark: int) -> list[tuple[str, str]]:
        return self.log[mark:]


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class TickSample:
    phase: str
    kind: str  # "due" (as the state machine calls it) or "hold" (mid-interval)
    seconds: float
    calls: list[tuple[str, str]]

    @property
    def aws(self) -> list[str]:
        """SageMaker and CloudWatch operations (the status store is counted apart)."""
        return [op for service, op in self.calls if service in {"sagemaker", "cloudwatch"}]

    @property
    def mutating(self) -> list[str]:
        return [op for op in self.aws if op.startswith(MUTATING_PREFIXES)]


def declaration(name: str, version: int, *, alarm: str) -> Any:
    from smgitops.declaration.models import Declaration

    rollout = {
        "strategy": "canary",
        "steps": [10, 25, 50],
        "interval": "60s",
        "analysis": {
            "alarms": [alarm],
            "metrics": [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 5}],
        },
    }
    return Declaration.model_validate(endpoint_document(name, version, rollout, instance_count=2))


@dataclass
class Bench:
    service: RolloutService
    clock: Clock
    calls: Calls
    ticks: list[TickSample] = field(default_factory=list)

    def tick(self, endpoint: str, rollout_id: str, kind: str) -> Any:
        mark = self.calls.mark()
        start = time.perf_counter()
        result = self.service.tick(endpoint, rollout_id)
        elapsed = time.perf_counter() - start
        self.ticks.append(TickSample(str(result.phase), kind, elapsed, self.calls.since(mark)))
        return result

    def run(self, endpoint: str, rollout_id: str, *, holds: int = 0) -> int:
        """Tick to the end as the state machine would; ``holds`` extra mid-interval ticks."""
        for count in range(1, 200):
            result = self.tick(endpoint, rollout_id, "due")
            if result.done:
                return count
            if str(result.phase) in STEADY and result.wait_seconds > holds:
                step = result.wait_seconds / (holds + 1)
                for _ in range(holds):
                    self.clock.now += step
                    self.tick(endpoint, rollout_id, "hold")
                self.clock.now += result.wait_seconds - step * holds
            else:
                self.clock.now += result.wait_seconds
        raise SystemExit(f"{endpoint}: rollout did not end")

    def alarm(self, name: str) -> str:
        from smgitops.aws import clients

        return put_manual_alarm(clients.client("cloudwatch"), name)

    def start(self, name: str, version: int, alarm: str) -> str:
        commit = f"{version:x}".rjust(40, "0")
        outcome = self.service.start(
            declaration(name, version, alarm=alarm),
            commit=commit,
            pushed_at=self.clock.now,
            source={"provider": "bench"},
        )
        return outcome.rollout_id


def _time_decide(bench: Bench, endpoint: str, rollout_id: str) -> list[float]:
    """decide() alone, timed over a canary's ticks (the pure core, no I/O)."""
    from smgitops.rollout import service as service_module

    namespace = vars(service_module)
    real = namespace["decide"]
    samples: list[float] = []

    def timed(*args: Any) -> Any:
        start = time.perf_counter()
        result = real(*args)
        samples.append(time.perf_counter() - start)
        return result

    namespace["decide"] = timed
    try:
        bench.run(endpoint, rollout_id)
    finally:
        namespace["decide"] = real
    return samples


def _abort_trials(bench: Bench, count: int) -> list[tuple[float, list[tuple[str, str]]]]:
    from smgitops.aws import clients
    from smgitops.handlers.abort import AlarmStateChange

    trials = []
    event = {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "detail": {"alarmName": "", "state": {"value": "ALARM", "reason": "Threshold Crossed"}},
    }
    for index in range(count):
        name = f"bench-abort-{index}"
        alarm = bench.alarm(f"{name}-errors")
        bench.run(name, bench.start(name, 1, alarm))
        rollout = bench.start(name, 2, alarm)
        while str(bench.tick(name, rollout, "due").phase) != "Progressing":
            bench.clock.now += 5
        clients.client("cloudwatch").set_alarm_state(
            AlarmName=alarm, StateValue="ALARM", StateReason="Threshold Crossed"
        )
        event["detail"]["alarmName"] = alarm  # type: ignore[index]
        mark = bench.calls.mark()
        start = time.perf_counter()
        change = AlarmStateChange.model_validate(event)
        acted = bench.service.on_alarm(change.detail.alarm_name, change.detail.state.reason)
        elapsed = time.perf_counter() - start
        assert acted == [name], acted
        trials.append((elapsed, bench.calls.since(mark)))
        bench.run(name, rollout)
    return trials


def _ops(calls: list[tuple[str, str]], service: str) -> str:
    counted = Counter(op for svc, op in calls if svc == service)
    return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in sorted(counted.items())) or "-"


def _median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms" if values else "-"


def _p95_ms(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{ordered[int(0.95 * (len(ordered) - 1))] * 1000:.1f} ms" if ordered else "-"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aborts", type=int, default=7, help="abort-path trials")
    parser.add_argument("--holds", type=int, default=3, help="mid-interval ticks per bake")
    args = parser.parse_args(argv)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }.items():
        os.environ.setdefault(name, value)
    os.environ.pop("AWS_ENDPOINT_URL", None)

    from smgitops.aws import clients
    from smgitops.aws.cloudwatch import CloudWatch
    from smgitops.aws.sagemaker import SageMaker
    from smgitops.aws.store import StatusStore
    from smgitops.local.emulator import emulated_aws
    from smgitops.local.resources import create_table
    from smgitops.rollout.service import RolloutService

    with emulated_aws(update_delay=0, weights_delay=0, seed=1):
        clients.reset()
        create_table(clients.client("dynamodb"), TABLE)
        calls = Calls()
        for service in ("sagemaker", "cloudwatch", "dynamodb"):
            clients.client(service).meta.events.register("before-call.*.*", calls)
        clock = Clock()
        engine = RolloutService(
            sagemaker=SageMaker(), cloudwatch=CloudWatch(), store=StatusStore(TABLE), clock=clock
        )
        bench = Bench(engine, clock, calls)
        report = _measure(bench, args.aborts, args.holds)
    clients.reset()
    return report()


def _measure(bench: Bench, aborts: int, holds: int) -> Callable[[], int]:
    alarm = bench.alarm("bench-canary-errors")
    first = bench.start("bench-canary", 1, alarm)
    first_ticks = bench.run("bench-canary", first)
    first_calls = [c for t in bench.ticks for c in t.calls]
    bench.ticks.clear()
    canary = bench.start("bench-canary", 2, alarm)
    due_ticks = bench.run("bench-canary", canary, holds=holds)
    ticks = list(bench.ticks)
    decide_times = _time_decide(bench, "bench-canary", bench.start("bench-canary", 3, alarm))
    trials = _abort_trials(bench, aborts)

    def report() -> int:
        steady = [t for t in ticks if t.phase in STEADY]
        holds_only = [t for t in steady if t.kind == "hold"]
        worst = max(steady, key=lambda t: len(t.aws))
        rollout_calls = [c for t in ticks if t.kind == "due" for c in t.calls]
        print(
            "canary [10, 25, 50] with 1 existing + 1 generated alarm, emulator in-process "
            f"(decorator mode), {os.cpu_count()} CPUs"
        )
        print(
            f"{'tick':<26}{'n':>4}{'SM+CW calls':>13}{'mutating':>10}{'DynamoDB':>10}{'time':>11}"
        )
        for label, group in (
            ("steady, step due", [t for t in steady if t.kind == "due"]),
            ("steady, mid-interval", holds_only),
            ("other phases", [t for t in ticks if t.phase not in STEADY]),
        ):
            if not group:
                continue
            print(
                f"{label:<26}{len(group):>4}{max(len(t.aws) for t in group):>9} max"
                f"{max(len(t.mutating) for t in group):>6} max"
                f"{statistics.median(sum(s == 'dynamodb' for s, _ in t.calls) for t in group):>7}"
                f" med{_median_ms([t.seconds for t in group]):>11}"
            )
        print(f"worst steady tick: {', '.join(worst.aws)} ({worst.phase})")
        print(
            f"first deploy: {first_ticks} ticks; SageMaker {_ops(first_calls, 'sagemaker')}; "
            f"DynamoDB {sum(s == 'dynamodb' for s, _ in first_calls)} calls"
        )
        print(
            f"complete canary (state machine's ticks only): {due_ticks} ticks; "
            f"{sum(s == 'sagemaker' for s, _ in rollout_calls)} SageMaker calls "
            f"({_ops(rollout_calls, 'sagemaker')}); "
            f"{sum(s == 'cloudwatch' for s, _ in rollout_calls)} CloudWatch calls "
            f"({_ops(rollout_calls, 'cloudwatch')}); "
            f"{sum(s == 'dynamodb' for s, _ in rollout_calls)} DynamoDB calls"
        )
        print(
            f"time per tick (emulated AWS in-process): median "
            f"{_median_ms([t.seconds for t in ticks])}, p95 {_p95_ms([t.seconds for t in ticks])}; "
            f"decide() alone: median {statistics.median(decide_times) * 1e6:.0f} µs"
        )
        abort_sm = [[op for svc, op in c if svc == "sagemaker"] for _, c in trials]
        counts = sorted({len(a) for a in abort_sm})
        print(
            f"abort path ({len(trials)} trials): SageMaker calls {counts}"
            f" ({_ops([c for _, calls in trials for c in calls], 'sagemaker')}); "
            f"DynamoDB {statistics.median(sum(s == 'dynamodb' for s, _ in c) for _, c in trials):g}"
            f" calls; in-process latency median {_median_ms([t for t, _ in trials])}, "
            f"max {max(t for t, _ in trials) * 1000:.1f} ms"
        )
        steady_max = max(len(t.aws) for t in steady)
        abort_ok = all(len(a) == TARGET_ABORT_SAGEMAKER for a in abort_sm)
        print(
            f"judged: {steady_max} SageMaker+CloudWatch calls per steady tick at most "
            f"(ratio {steady_max / TARGET_STEADY:.2f} of the target {TARGET_STEADY}: "
            f"{'met' if steady_max <= TARGET_STEADY else 'MISSED'}); abort path "
            f"{'one SageMaker call: met' if abort_ok else 'MISSED'}"
        )
        return 0

    return report


if __name__ == "__main__":
    sys.exit(main())
