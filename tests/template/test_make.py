"""The README's two commands are what they say: `make check` is CI's check (template scanners
included), `make demo` installs only what the demo needs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dry_run(target: str) -> str:
    """What `make TARGET` would run in a fresh clone (no venv yet), without running it."""
    out = subprocess.run(
        ["make", "-n", "-B", target, "VENV=/nonexistent/venv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_ci_is_valid_bash_that_runs_the_readmes_test_command() -> None:
    script = ROOT / ".ci" / "run"
    subprocess.run(["bash", "-n", str(script)], check=True)  # a syntax error fails CI at once
    commands = [
        line.strip()
        for line in script.read_text().splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd ", "export "))
    ]
    # besides the browser the dashboard's tests drive (apt, when missing), only `make check`
    assert commands[-1] == "make check"
    assert all("apt-get" in c or c.startswith(("if ", "fi")) for c in commands[:-1]), commands
    assert "make check" in (ROOT / "README.md").read_text()


def test_make_check_installs_and_runs_the_template_scanners() -> None:
    plan = dry_run("check")
    assert "checkov==3.3.30" in plan
    assert "aws-sam-cli==1.170.0" in plan
    assert re.search(r"pytest -n 3 --dist loadscope", plan)


def test_make_demo_installs_the_runtime_extra_not_the_dev_toolchain() -> None:
    plan = dry_run("demo")
    assert "-e '.[local]'" in plan
    assert ".[dev]" not in plan
    assert "checkov" not in plan
    assert "smgitops demo" in plan
