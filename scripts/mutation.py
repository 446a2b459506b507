#!/usr/bin/env python3
"""Mutation testing of the pure core with mutmut: one run per module, its score printed.

Each module is mutated by itself and checked against the tests that exercise it (the table
below), on 2 workers. Not part of CI: measured on an idle 2-core VM, decide took 12.9 minutes,
the statistics 2.8, the loader 4.5 and the webhook 2.7, 22.9 in all (docs/reliability.md).

    python scripts/mutation.py                 # every module, one after the other
    python scripts/mutation.py decide loader   # some of them
    python scripts/mutation.py --report decide # the scores of the last run, without running

mutmut 3 derives module names from paths and only strips a leading ``src/``, while the package
lives in ``functions/``. So every module runs in its own scratch folder, ``mutants/<module>/``
(git-ignored, excluded from ruff, never collected by pytest): ``src`` there links to
``functions``, and mutmut writes its mutated copy into ``mutants/<module>/mutants/``.

The score is detected ÷ non-equivalent mutants, where detected = killed + timeout (a mutant
that makes a test hang is caught). Equivalent mutants, those no test can tell from the original,
are listed in ``tests/mutation/equivalent.txt``, one a line with the reason; they are counted
and shown, never silently dropped. ``--survivors`` lists what is left with ``mutmut show``'s
diff, to write the test or the equivalence line. Exit status 1 when a module is below its
target.

Each run prints its wall time and its CPU time (user + system of mutmut and every process it
waited for: the forked mutants and their tests), and the total over the modules run, so whether
``make mutation`` fits a time budget on N cores is the CPU total ÷ N, whatever else the machine
was doing. The times are kept in ``mutants/<module>/times.json`` and ``--report`` shows them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "mutants"
EQUIVALENT = ROOT / "tests" / "mutation" / "equivalent.txt"
# What the tests read besides the package and the tests (relative to the repository root).
ALSO_COPY = [
    "infra",
    "examples",
    "events",
    "docs",
    "scripts",
    "template.yaml",
    "samconfig.toml",
    "README.md",
]
DETECTED = {"killed", "timeout", "caught by type check", "segfault"}
# The budget of issue 20: every module, one after the other, in 30 minutes on 2 cores.
BUDGET_MINUTES = 30
BUDGET_CORES = 2


@dataclass(frozen=True)
class Module:
    mutate: tuple[str, ...]  # globs under functions/ (mutmut's only_mutate, with src/)
    tests: tuple[str, ...]  # globs under the repository root
    target: float | None  # percent; None: the score is only reported
    deselect: tuple[str, ...] = ()  # test ids left out (pytest --deselect), each with its reason


MODULES = {
    "decide": Module(
        ("smgitops/rollout/decide.py", "smgitops/rollout/decide/*.py"),
        ("tests/unit/test_decide*.py", "tests/unit/test_drift.py"),
        90.0,
    ),
    "analysis": Module(
        ("smgitops/rollout/analysis.py",),
        ("tests/unit/test_analysis*.py", "tests/integration/test_metrics_adapter.py"),
        95.0,
    ),
    "loader": Module(
        (
            "smgitops/declaration/loader.py",
            "smgitops/declaration/yaml_lines.py",
            "smgitops/declaration/problems.py",
        ),
        # Not the hypothesis robustness tests (test_declaration_property.py, about 50 s a run,
        # and test_fuzz_declarations.py, 11 s): they accept any valid result or any located
        # problem, so they state no behaviour a mutant changes, yet every surviving mutant of
        # the composer would pay a minute for them. The score is measured without them.
        (
            "tests/unit/test_declaration_cli.py",
            "tests/unit/test_declaration_loader.py",
            "tests/unit/test_declaration_models.py",
            "tests/unit/test_declaration_schema.py",
            "tests/unit/test_loader_specs.py",
            "tests/unit/test_environments.py",
            "tests/unit/test_images.py",
        ),
        90.0,
        # runs the installed console script in a subprocess: the unmutated package, so it can
        # never detect a mutant (8 s a run)
        ("tests/unit/test_declaration_cli.py::test_the_installed_console_script",),
    ),
    "webhook": Module(
        ("smgitops/ingest/signature.py", "smgitops/ingest/push.py"),
        # the payload and signature specs, and the handler's answers (401, 400, 202) in-process
        # on moto; not the fuzzers (test_fuzz_ingest.py, test_webhook_fuzz.py): they assert that
        # no delivery gets a 5xx or raises, not what it is answered, and cost 10 to 15 s a run
        (
            "tests/unit/test_ingest_push.py",
            "tests/unit/test_ingest_events.py",
            "tests/integration/test_webhook.py",
        ),
        90.0,
        # each runs a fresh interpreter in a subprocess: the unmutated package, so they can never
        # detect a mutant (6 to 8 s a run)
        (
            "tests/integration/test_webhook.py::"
            "test_importing_the_webhook_loads_no_pydantic_yaml_git_or_models",
            "tests/integration/test_webhook.py::"
            "test_a_cold_process_serves_a_signed_push_without_loading_them",
        ),
    ),
}


def _existing(patterns: tuple[str, ...], base: Path) -> list[str]:
    found = {str(p.relative_to(base)) for pattern in patterns for p in base.glob(pattern)}
    return sorted(found)


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def _prepare(name: str, module: Module) -> Path:
    """A scratch folder in which mutmut sees the package as ``src/smgitops``."""
    work = SCRATCH / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "src").symlink_to(ROOT / "functions")
    for item in ["tests", *ALSO_COPY]:
        if (ROOT / item).exists():
            (work / item).symlink_to(ROOT / item)
    deselect = [arg for test in module.deselect for arg in ("--deselect", test)]
    sources = _existing(module.mutate, ROOT / "functions")
    tests = _existing(module.tests, ROOT)
    if not sources or not tests:
        raise SystemExit(f"{name}: nothing matches {module.mutate} or {module.tests}")
    table = f"""
[tool.mutmut]
source_paths = ["src/smgitops"]
only_mutate = {_toml_list([f"src/{s}" for s in sources])}
also_copy = {_toml_list(ALSO_COPY)}
pytest_add_cli_args = {_toml_list(["-p", "no:cacheprovider", "-p", "no:xdist", "-q", *deselect])}
pytest_add_cli_args_test_selection = {_toml_list(tests)}
"""
    (work / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text() + table)
    return work


@dataclass(frozen=True)
class Times:
    """What a module's last run cost: seconds of wall clock and of CPU, and the load around it."""

    wall: float
    cpu: float
    workers: int
    fresh: bool  # False: an ``--again`` run, which re-checks only what the last one left
    load: tuple[float, float]  # the 5-minute load average when the run started and ended

    def __add__(self, other: Times) -> Times:
        return Times(
            self.wall + other.wall,
            self.cpu + other.cpu,
            max(self.workers, other.workers),
            self.fresh and other.fresh,
            (self.load[0], other.load[1]),
        )

    def shown(self) -> str:
        fresh = "" if self.fresh else ", --again"
        return (
            f"wall {_minutes(self.wall)}, CPU {_minutes(self.cpu)}"
            f" ({self.workers} worker{'s' if self.workers > 1 else ''}{fresh};"
            f" load {self.load[0]:.1f} to {self.load[1]:.1f})"
        )


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _times_file(name: str) -> Path:
    return SCRATCH / name / "times.json"


def _save_times(name: str, times: Times) -> None:
    data = {
        "wall": times.wall,
        "cpu": times.cpu,
        "workers": times.workers,
        "fresh": times.fresh,
        "load": list(times.load),
    }
    _times_file(name).write_text(json.dumps(data) + "\n")


def _load_times(name: str) -> Times | None:
    path = _times_file(name)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    start, end = data["load"]
    return Times(data["wall"], data["cpu"], data["workers"], data["fresh"], (start, end))


def _run(name: str, module: Module, workers: int, *, again: bool = False) -> Times:
    """A fresh run; ``again``: keep the last run's verdicts and re-check what it left.

    ``again`` is for the loop of writing tests: the tests are copied in anew, mutmut tests the
    mutants it has no verdict for (new ones, and those of functions that changed), then once
    more every mutant the last run did not detect. Verdicts it kept were reached with the tests
    of their time: report a score from a fresh run.
    """
    work = SCRATCH / name
    left: list[str] = []
    fresh = not (again and (work / "mutants").is_dir())
    if not fresh:
        left = sorted(m for m, status in _results(name).items() if status not in DETECTED)
        shutil.rmtree(work / "mutants" / "tests")  # mutmut copies the tests only when missing
    else:
        work = _prepare(name, module)
    times = _mutmut(name, work, workers, [], fresh=fresh)
    if left:
        times = times + _mutmut(name, work, workers, left, fresh=False)
    _save_times(name, times)
    print(f"== {name}: {times.shown()}", flush=True)
    return times


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _mutmut(name: str, work: Path, workers: int, mutants: list[str], *, fresh: bool) -> Times:
    """Run mutmut in ``work``; what it cost (the CPU of every process it waited for)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("HYPOTHESIS_PROFILE", "ci")
    mutmut = Path(sys.executable).with_name("mutmut")
    command = [str(mutmut), "run", "--max-children", str(workers)]
    shown = f"{' '.join(command)} {f'<{len(mutants)} mutants>' if mutants else ''}".strip()
    print(f"== {name}: {shown} (in {work.relative_to(ROOT)})", flush=True)
    log = work / "mutmut.log"
    load = os.getloadavg()[1]
    wall, cpu = time.monotonic(), _cpu_of_children()
    try:
        with log.open("a") as out:
            returncode = subprocess.run(  # noqa: S603
                [*command, *mutants],
                cwd=work,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            ).returncode
    except KeyboardInterrupt:  # stopped by hand: what it checked and what that cost are kept
        returncode = -2
    times = Times(
        time.monotonic() - wall,
        _cpu_of_children() - cpu,
        workers,
        fresh,
        (load, os.getloadavg()[1]),
    )
    if returncode != 0:
        _save_times(name, times)  # a stopped run's cost, for --report beside its partial score
        tail = log.read_text().splitlines()[-20:]
        raise SystemExit(
            f"{name}: mutmut stopped ({returncode}) after {times.shown()}:\n" + "\n".join(tail)
        )
    return times


def _results(name: str) -> dict[str, str]:
    """mutant name → status, from the .meta files mutmut leaves beside each mutated file."""
    sys.path.insert(0, str(Path(sys.executable).parent))
    from mutmut.stats import status_by_exit_code  # noqa: PLC0415 - a dev tool, loaded on use

    statuses: dict[str, str] = {}
    for meta in (SCRATCH / name / "mutants").rglob("*.py.meta"):
        data = json.loads(meta.read_text())
        for key, code in data["exit_code_by_key"].items():
            statuses[key] = status_by_exit_code[code]
    return statuses


def equivalents() -> dict[str, str]:
    """mutant name → the reason it cannot be detected (tests/mutation/equivalent.txt)."""
    listed: dict[str, str] = {}
    for line in EQUIVALENT.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        mutant, _, reason = line.partition(" ")
        if not reason.strip():
            raise SystemExit(f"{EQUIVALENT}: {mutant} has no reason")
        listed[mutant] = reason.strip()
    return listed


def report(name: str, module: Module, *, survivors: bool) -> bool:
    statuses = _results(name)
    if not statuses:
        print(f"{name}: no results (run it first)")
        return False
    listed = equivalents()
    equivalent = {m for m in statuses if m in listed}
    counts = Counter(s for m, s in statuses.items() if m not in equivalent)
    detected = sum(n for s, n in counts.items() if s in DETECTED)
    considered = len(statuses) - len(equivalent)
    score = 100.0 * detected / considered if considered else 100.0
    stale = sorted(m for m in equivalent if statuses[m] in DETECTED)
    details = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    met = module.target is None or score >= module.target
    verdict = (
        "(no target)"
        if module.target is None
        else ("ok" if met else f"BELOW the {module.target:g} % target")
    )
    print(
        f"{name:9} {score:5.1f} %  {detected}/{considered} detected"
        f" ({len(statuses)} mutants, {len(equivalent)} equivalent; {details})  {verdict}"
    )
    unchecked = counts.get("not checked", 0)
    if unchecked:  # a stopped run: the score of what was checked, said to be partial
        checked = considered - unchecked
        print(
            f"{'':9} partial: {100.0 * detected / checked:5.1f} % of the {checked} mutants checked"
            f" ({unchecked} not checked; mutmut checks the cheapest first)"
        )
    times = _load_times(name)
    if times is not None:
        print(f"{'':9} {times.shown()}")
    for mutant in stale:
        print(f"  listed as equivalent but detected, remove it from {EQUIVALENT.name}: {mutant}")
    if survivors:
        left = sorted(
            m
            for m, s in statuses.items()
            if s not in DETECTED and s != "not checked" and m not in equivalent
        )  # (in a run still going or stopped, what is not checked yet is no survivor)
        for mutant in left:
            shown = subprocess.run(  # noqa: S603
                [str(Path(sys.executable).with_name("mutmut")), "show", mutant],
                cwd=SCRATCH / name,
                capture_output=True,
                text=True,
                check=False,
            )
            print(shown.stdout)
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="module", help=", ".join(MODULES))
    parser.add_argument("--report", action="store_true", help="only print the last scores")
    parser.add_argument("--survivors", action="store_true", help="show every undetected mutant")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--again",
        action="store_true",
        help="keep the last run's verdicts; re-check what it left undetected (while writing tests)",
    )
    args = parser.parse_args(argv)
    names = args.modules or list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {unknown}: choose from {list(MODULES)}")
    if not args.report:
        for name in names:
            _run(name, MODULES[name], args.workers, again=args.again)
    print("module     score  detected ÷ (mutants - equivalent)")
    ok = [report(name, MODULES[name], survivors=args.survivors) for name in names]
    _total(names)
    return 0 if all(ok) else 1


def _total(names: list[str]) -> None:
    """The modules' times added up, and what the CPU time means on the budget's cores."""
    measured = {name: _load_times(name) for name in names}
    known = [t for t in measured.values() if t is not None]
    if not known:
        return
    wall = sum(t.wall for t in known)
    cpu = sum(t.cpu for t in known)
    busy = cpu / BUDGET_CORES / 60
    within = "within" if busy < BUDGET_MINUTES else "OVER"
    missing = sorted(name for name, t in measured.items() if t is None)
    print(
        f"{'total':9} wall {_minutes(wall)}, CPU {_minutes(cpu)}: {busy:.1f} min of"
        f" {BUDGET_CORES} cores kept busy, {within} the {BUDGET_MINUTES}-minute budget"
        + (f" (not timed: {', '.join(missing)})" if missing else "")
        + ("" if all(t.fresh for t in known) else " (some runs were --again: not a fresh total)")
    )


if __name__ == "__main__":
    sys.exit(main())
