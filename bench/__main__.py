"""`python -m bench` (`make bench`): every benchmark in one run, each printing its ratios."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = (
    "validate",
    "webhook",
    "reconcile",
    "tick",
    "coldstart",
    "coldpush",
    "local",
    "scale",
    "timescale",
)


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError:
            print(f"## {name}: not present", flush=True)
            continue
        print(f"\n## bench/{name}.py", flush=True)
        if module.main([]) not in (0, None):
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
