"""Benchmark: a cold push to its first traffic step, every function in a cold container.

What a user waits for after ``git push`` when no function is warm: the reconcile function and
the tick function each start in a fresh interpreter (a new Lambda container: the interpreter
starts, the handler module is imported, then it handles), on the local runtime's emulator with
SageMaker's update delay set to zero (in AWS, SageMaker's own minutes come on top):

- the reconcile "container" is started with the push's SQS record (the message the webhook
  enqueued) and reconciles it: git fetch, validation, the rollout started on Step Functions;
- the state machine's first Tick starts the tick "container" (cold), which then serves every
  later Tick of the execution warm, as Lambda would;
- the clock stops when the candidate's weight is first above 0 on the endpoint (watched with
  DescribeEndpoint every few milliseconds).

The Wait states the engine asks for before that step (its own polling of the endpoint update,
``max(1, interval / 5)`` s) are reported apart; the rest is the cold overhead smgitops adds:
two interpreters started, two handler modules imported, the reconcile, the first ticks with
their boto3 clients. It is judged in units of ``import boto3`` in a fresh interpreter, timed
just before each trial on the same machine, so that a loaded machine does not pass or fail it.
Target: the median cold overhead <= 15x ``import boto3`` (about 2.7 s at the 181 ms a quiet
2-core VM takes), against the minutes SageMaker takes to update an endpoint in AWS before the
same step; bench/local.py holds the warm overhead to < 1 s. bench/coldstart.py reports the
import cost alone; this is what it costs a user.

Run: ``.venv/bin/python -m bench.coldpush [--trials N]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bench.support import endpoint_document

if TYPE_CHECKING:
    from collections.abc import Sequence

    from smgitops.local.runtime import LocalRuntime
    from smgitops.local.scenario import GitRemote

NAME = "bench-coldpush"
TARGET_RATIO = 15.0  # cold overhead / `import boto3`

# A Lambda container: start, import the handler (timed), then handle one event per stdin line.
CONTAINER = """
import importlib, json, sys, time
started = time.perf_counter()
module = importlib.import_module(sys.argv[1])
print(json.dumps({"imported": time.perf_counter() - started}), flush=True)
for line in sys.stdin:
    begun = time.perf_counter()
    try:
        out = {"output": module.handler(json.loads(line), None)}
    except Exception as exc:
        out = {"error": f"{type(exc).__name__}: {exc}"}
    out["seconds"] = time.perf_counter() - begun
    print(json.dumps(out, default=str), flush=True)
"""


@dataclass
class Container:
    """One cold function container (a child interpreter), warm after its first event."""

    module: str
    spawned: float = 0.0  # perf_counter when the interpreter was started
    ready: float = 0.0  # ... when the handler module was imported
    imported: float = 0.0  # the import alone, as the child timed it
    handled: list[tuple[float, float, Any]] = field(default_factory=list)  # (start, end, output)
    _process: subprocess.Popen[str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            if self._process is None:
                self._start()
            assert self._process is not None and self._process.stdin and self._process.stdout
            begun = time.perf_counter()
            self._process.stdin.write(json.dumps(event) + "\n")
            self._process.stdin.flush()
            answer = json.loads(self._process.stdout.readline())
            self.handled.append((begun, time.perf_counter(), answer.get("output")))
        if "error" in answer:
            raise RuntimeError(f"{self.module}: {answer['error']}")
        return answer["output"]

    def invoke_import(self) -> None:
        """Start the container (import only), then stop it: the baseline's cold import."""
        with self._lock:
            self._start()
        self.stop()

    def _start(self) -> None:
        env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"}
        self.spawned = time.perf_counter()
        self._process = subprocess.Popen(
            [sys.executable, "-c", CONTAINER, self.module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        assert self._process.stdout is not None
        self.imported = json.loads(self._process.stdout.readline())["imported"]
        self.ready = time.perf_counter()

    def stop(self) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            self._process.wait(timeout=30)
            self._process = None


@dataclass
class Trial:
    """Seconds from the moment the push's message is there (the reconcile container starts)."""

    total: float  # the candidate's weight went above 0
    reconcile_ready: float  # the reconcile container started and imported its handler
    reconcile_import: float
    reconcile_done: float
    tick_ready: float  # the tick container (started by the first Tick) imported its handler
    tick_import: float
    ticks: int
    waits: float  # the Wait states the ticks before the step asked for
    boto3: float  # `import boto3` in a fresh interpreter, just before the trial (the unit)

    @property
    def overhead(self) -> float:
        return self.total - self.waits

    @property
    def ratio(self) -> float:
        """The cold overhead in units of `import boto3` (what any function pays) measured on
        the same machine at the same time: comparable across machines and loads."""
        return self.overhead / self.boto3


def weight(sagemaker: Any, variant: str) -> float | None:
    try:
        out = sagemaker.describe_endpoint(EndpointName=NAME)
    except sagemaker.exceptions.ClientError:
        return None
    variants = out["ProductionVariants"]
    total = sum(v["DesiredWeight"] for v in variants) or 1.0
    return {v["VariantName"]: 100 * v["DesiredWeight"] / total for v in variants}.get(variant)


def sqs_record(remote: GitRemote, commit: str, number: int) -> dict[str, Any]:
    """The SQS record of this push, as the webhook would have enqueued it."""
    template = json.loads(
        (Path(__file__).resolve().parents[1] / "events" / "sqs-push-work.json").read_text()
    )["Records"][0]
    body = {
        "provider": "local",
        "repository": remote.clone_url,
        "fullName": remote.full_name,
        "ref": "refs/heads/main",
        "commit": commit,
        "pushedAt": time.time(),
        "delivery": f"coldpush-{number}",
    }
    return {**template, "body": json.dumps(body), "messageId": f"coldpush-{number}"}


def push(remote: GitRemote, version: int) -> tuple[str, str]:
    """Commit and push the next model version (canary 10, 50; 1 s interval)."""
    from smgitops.declaration.models import Declaration
    from smgitops.rollout import naming

    rollout = {"strategy": "canary", "steps": [10, 50], "interval": "1s", "analysis": "none"}
    document = endpoint_document(NAME, version, rollout)
    remote.commit({f"endpoints/{NAME}.yaml": yaml.safe_dump(document)}, f"v{version}")
    remote.push()
    return remote.head, naming.variant_name(Declaration.model_validate(document))


def trial(runtime: LocalRuntime, remote: GitRemote, version: int, sagemaker: Any) -> Trial:
    from smgitops.local.emulator import stepfunctions
    from smgitops.local.runtime import ACCOUNT

    commit, variant = push(remote, version)
    baseline = Container("boto3")
    baseline.invoke_import()
    tick_arn = f"arn:aws:lambda:{runtime.options.region}:{ACCOUNT}:function:smgitops-tick"
    warm_tick = stepfunctions.registered_function(tick_arn)
    tick = Container("smgitops.handlers.tick")
    reconcile = Container("smgitops.handlers.reconcile")
    stepfunctions.register_function(tick_arn, stepfunctions.as_task_function(
        lambda event, _context: tick.invoke(event), tick_arn
    ))  # fmt: skip
    try:
        start = time.perf_counter()
        answer = reconcile.invoke({"Records": [sqs_record(remote, commit, version)]})
        if answer != {"batchItemFailures": []}:
            raise SystemExit(f"reconcile failed: {answer}")
        moved = _wait_weight(sagemaker, variant)
        _wait_done(tick, commit)
    finally:
        if warm_tick is not None:
            stepfunctions.register_function(tick_arn, warm_tick)
        reconcile.stop()
        tick.stop()
    mine = [h for h in tick.handled if commit[:12] in str(h[2].get("rolloutId", ""))]
    stepped = next(i for i, h in enumerate(mine) if h[2]["phase"] == "Progressing")
    return Trial(
        total=moved - start,
        reconcile_ready=reconcile.ready - start,
        reconcile_import=reconcile.imported,
        reconcile_done=reconcile.handled[0][1] - start,
        tick_ready=tick.ready - start,
        tick_import=tick.imported,
        ticks=stepped + 1,
        waits=sum(h[2]["waitSeconds"] for h in mine[:stepped]),
        boto3=baseline.imported,
    )


def _wait_weight(sagemaker: Any, variant: str, timeout: float = 120) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        found = weight(sagemaker, variant)
        if found is not None and found > 0:
            return time.perf_counter()
        time.sleep(0.003)
    raise SystemExit(f"{NAME}: the candidate {variant} never took traffic")


def _wait_done(tick: Container, commit: str, timeout: float = 120) -> None:
    """Until the rollout ends (the tick container serves its last Tick before it stops)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if any(
            commit[:12] in str(h[2].get("rolloutId", "")) and h[2]["done"] for h in tick.handled
        ):
            return
        time.sleep(0.05)
    raise SystemExit(f"{NAME}@{commit[:12]}: the rollout did not end")


def first_deploy(runtime: LocalRuntime, remote: GitRemote) -> None:
    """Version 1, warm and in this process: the endpoint exists before the cold trials."""
    from smgitops.handlers import reconcile
    from smgitops.wiring.rollout import rollouts

    commit, _ = push(remote, 1)
    answer = reconcile.handler({"Records": [sqs_record(remote, commit, 1)]}, None)
    if answer != {"batchItemFailures": []}:
        raise SystemExit(f"first deploy failed: {answer}")
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        status = rollouts().store.get(NAME)
        if status is not None and status.commit == commit and status.done:
            return
        time.sleep(0.05)
    raise SystemExit("the first deploy did not end")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args(argv)
    for noisy in ("moto", "werkzeug", "smgitops", "botocore", "git"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from smgitops.aws import clients
    from smgitops.local.runtime import LocalRuntime, RuntimeOptions
    from smgitops.local.scenario import GitRemote

    options = RuntimeOptions(update_delay=0.0, drift_interval=0, dashboard=False)
    with (
        tempfile.TemporaryDirectory(prefix="smgitops-bench-") as tmp,
        LocalRuntime.start(options) as runtime,
    ):
        remote = GitRemote(Path(tmp))
        first_deploy(runtime, remote)
        sagemaker = clients.client("sagemaker")
        trials = [trial(runtime, remote, v, sagemaker) for v in range(2, 2 + args.trials)]
    report(trials)
    return 0


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def report(trials: list[Trial]) -> None:
    print(f"cold containers on the local runtime, update delay 0, {os.cpu_count()} CPUs")
    print("from the push's message (the reconcile container starts) to the first traffic step:")
    print(
        f"{'':<9}{'reconcile up':>13}{'(import)':>10}{'reconciled':>12}{'tick up':>10}"
        f"{'(import)':>10}{'ticks':>7}{'waits':>7}{'step live':>11}{'overhead':>10}"
        f"{'boto3':>8}{'ratio':>7}"
    )
    for index, t in enumerate(trials, start=1):
        print(
            f"{'trial ' + str(index):<9}{_ms(t.reconcile_ready):>13}{_ms(t.reconcile_import):>10}"
            f"{_ms(t.reconcile_done):>12}{_ms(t.tick_ready):>10}{_ms(t.tick_import):>10}"
            f"{t.ticks:>7}{t.waits:>6.0f}s{_ms(t.total):>11}{_ms(t.overhead):>10}"
            f"{_ms(t.boto3):>8}{t.ratio:>7.1f}"
        )
    ratio = statistics.median(t.ratio for t in trials)
    print(
        f"cold push → first traffic step: median {statistics.median(t.total for t in trials):.2f} s"
        f", of which the engine's polling waits {statistics.median(t.waits for t in trials):.0f} s;"
        f" cold overhead median {_ms(statistics.median(t.overhead for t in trials))} = "
        f"{ratio:.1f}x import boto3 (target <= {TARGET_RATIO:g}x: "
        f"{'met' if ratio <= TARGET_RATIO else 'MISSED'})"
    )


if __name__ == "__main__":
    sys.exit(main())
