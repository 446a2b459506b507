"""Benchmark: cold start of each Lambda handler module vs ``import boto3`` alone.

In each round, every contender is imported in a fresh interpreter (``python -c``), in a rotating
order: ``boto3`` (the baseline every function pays), then ``smgitops.handlers.<name>`` for the
webhook, reconcile, tick, abort and drift functions. The child times the import statement alone
(``perf_counter`` around ``importlib.import_module``) and reports its peak resident memory
(``ru_maxrss``) after the import. Judged by the median over rounds of each round's
handler / boto3 ratio: targets <= 1.3 (webhook), <= 1.6 (tick, abort, drift), <= 128 MB peak.
The reconcile function's import is reported without a ratio target, on purpose: every push
needs GitPython, YAML and the declaration models, so importing them later would only move the
cost into the first push. What a user waits for, a cold push to its first traffic step, is
judged by bench/coldpush.py instead.

Run: ``.venv/bin/python -m bench.coldstart [--rounds R]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

BASELINE = "boto3"
HANDLERS = ("webhook", "reconcile", "tick", "abort", "drift")
TARGET_RATIO: dict[str, float | None] = {"webhook": 1.3, "reconcile": None}
DEFAULT_RATIO = 1.6
MAX_PEAK_MB = 128.0
HEAVY = ("pydantic", "aws_lambda_powertools", "git", "yaml", "moto", "scipy", "werkzeug")

CHILD = """
import importlib, json, resource, sys, time
start = time.perf_counter()
importlib.import_module(sys.argv[1])
elapsed = time.perf_counter() - start
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2].split(",")))
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "peak_kb": peak_kb, "heavy": heavy}))
"""


@dataclass
class Samples:
    module: str
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    heavy: list[str] = field(default_factory=list)


def import_once(module: str) -> tuple[float, float, list[str]]:
    """(import seconds, peak RSS in MB, heavy packages loaded) in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMGITOPS_", "POWERTOOLS_"))}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, module, ",".join(HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), result["peak_kb"] / 1024.0, list(result["heavy"])


def target(name: str) -> float | None:
    """The import ratio a handler is held to; None: judged by bench/coldpush.py instead."""
    return TARGET_RATIO.get(name, DEFAULT_RATIO)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    contenders = {name: f"smgitops.handlers.{name}" for name in HANDLERS}
    samples = {BASELINE: Samples(BASELINE)} | {n: Samples(m) for n, m in contenders.items()}
    for entry in samples.values():  # warm the file cache and the .pyc files
        import_once(entry.module)
    order = list(samples)
    ratios: dict[str, list[float]] = {name: [] for name in HANDLERS}
    print(
        f"import time in a fresh interpreter, {args.rounds} rounds; Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs"
    )
    for round_index in range(args.rounds):
        shift = round_index % len(order)
        for name in order[shift:] + order[:shift]:
            seconds, peak, heavy = import_once(samples[name].module)
            samples[name].seconds.append(seconds)
            samples[name].peak_mb.append(peak)
            samples[name].heavy = heavy
        for name in HANDLERS:
            ratios[name].append(samples[name].seconds[-1] / samples[BASELINE].seconds[-1])

    base = samples[BASELINE]
    print(
        f"{'module':<28}{'median ms':>10}{'min ms':>9}{'peak MB':>9}{'ratio':>7}{'target':>10}  "
        "verdict   heavy packages imported"
    )
    print(
        f"{'import boto3':<28}{statistics.median(base.seconds) * 1000:>10.1f}"
        f"{min(base.seconds) * 1000:>9.1f}{max(base.peak_mb):>9.1f}{1.0:>7.2f}{'':>10}  "
        f"{'baseline':<9} {', '.join(base.heavy) or '-'}"
    )
    missed = []
    for name in HANDLERS:
        entry = samples[name]
        ratio = statistics.median(ratios[name])
        peak = max(entry.peak_mb)
        limit = target(name)
        ok = (limit is None or ratio <= limit) and peak <= MAX_PEAK_MB
        if not ok:
            missed.append(name)
        shown = "coldpush" if limit is None else f"{limit:.1f}"
        verdict = "MISSED" if not ok else "met" if limit is not None else "reported"
        print(
            f"{entry.module:<28}{statistics.median(entry.seconds) * 1000:>10.1f}"
            f"{min(entry.seconds) * 1000:>9.1f}{peak:>9.1f}{ratio:>7.2f}{shown:>10}  "
            f"{verdict:<9} {', '.join(entry.heavy) or '-'}"
        )
    print(
        "ratio = median over rounds of (handler import / boto3 import), measured back to back; "
        f"peak = max ru_maxrss after the import (target <= {MAX_PEAK_MB:g} MB)"
    )
    print(f"targets: {'all met' if not missed else 'MISSED by ' + ', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
