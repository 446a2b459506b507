"""Benchmark: how much faster a judged canary runs under ``local up --time-scale``.

One local runtime per scale, in this process, each with simulated traffic: v1 is created, then
v2 rolls out as a canary [10, 50] with 5-minute steps judged against v1 by
``analysis.compare``. For each scale it prints the rollout's duration on the runtime's clock
(history: first record to last), the wall-clock time it took, and their ratio — the speed-up
actually obtained — next to the nominal scale. The gap is what stays in wall-clock seconds:
SageMaker's update delay (``--update-delay``), the emulator's half-second evaluation cadence,
and the work of each tick.

Run: ``.venv/bin/python -m bench.timescale [--scales 30,60,120] [--update-delay 0.2]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bench.support import endpoint_document
from smgitops.aws.store import StatusStore
from smgitops.local.emulator import EVERY_ENDPOINT
from smgitops.local.runtime import LocalRuntime, RuntimeOptions
from smgitops.local.scenario import GitRemote, send_webhook

if TYPE_CHECKING:
    from collections.abc import Sequence

NAME = "bench-scale"
STEP_MINUTES = 5
STEPS = [10, 50]
TRAFFIC = 100.0  # simulated requests per wall-clock second


def document(version: int) -> dict[str, Any]:
    compare = {"metrics": [{"metric": "Invocation5XXErrors", "perInvocation": True}]}
    rollout = {
        "strategy": "canary",
        "steps": STEPS,
        "interval": f"{STEP_MINUTES}m",
        "analysis": {"compare": {**compare, "minSamples": 10}},
    }
    return endpoint_document(NAME, version, rollout)


def trial(scale: float, update_delay: float) -> tuple[float, float, str]:
    """(emulated seconds, wall seconds, outcome) of v2's rollout at ``scale``."""
    options = RuntimeOptions(update_delay=update_delay, drift_interval=0, time_scale=scale)
    with (
        tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp,
        LocalRuntime.start(options) as runtime,
    ):
        assert runtime.emulator is not None  # the embedded emulator
        runtime.emulator.start_traffic(EVERY_ENDPOINT, TRAFFIC)
        remote = GitRemote(Path(tmp) / "models")
        store = StatusStore(options.table)

        def push(version: int) -> tuple[str, float]:
            text = yaml.safe_dump(document(version))
            sha = remote.commit({f"endpoints/{NAME}.yaml": text}, f"v{version}")
            before, after = remote.push()
            started = time.monotonic()
            send_webhook(runtime.webhook_url, runtime.secret, remote.push_payload(before, after))
            return sha, started

        def finished(sha: str) -> Any:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                status = store.get(NAME)
                if status is not None and status.commit == sha and status.done:
                    return status
                time.sleep(0.05)
            raise TimeoutError(f"{NAME}@{sha[:12]} did not finish")

        finished(push(1)[0])
        sha, started = push(2)
        status = finished(sha)
        wall = time.monotonic() - started
        records = [r for r in store.history(NAME, limit=500) if r.commit == sha]
        emulated = max(r.at for r in records) - min(r.at for r in records)
        return emulated, wall, str(status.phase)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="30,60,120")
    parser.add_argument("--update-delay", type=float, default=0.2)
    args = parser.parse_args(argv)
    scales = [float(s) for s in args.scales.split(",") if s]
    nominal = STEP_MINUTES * (len(STEPS) + 1)
    print(
        f"canary {STEPS} with {STEP_MINUTES}-minute steps judged by analysis.compare "
        f"(at least {nominal} emulated minutes), {TRAFFIC:g} simulated requests per wall "
        f"second, update delay {args.update_delay:g} s"
    )
    print(f"{'scale':>6} {'emulated':>10} {'wall':>8} {'speed-up':>9} {'of scale':>9}  outcome")
    failed = False
    for scale in scales:
        emulated, wall, outcome = trial(scale, args.update_delay)
        speedup = emulated / wall
        failed |= outcome != "Succeeded"
        print(
            f"{scale:>6g} {emulated / 60:>8.1f} m {wall:>6.1f} s {speedup:>8.1f}x "
            f"{speedup / scale:>8.0%}  {outcome}",
            flush=True,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
