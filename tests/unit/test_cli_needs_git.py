"""The commands that read repositories with git (``plan``, ``local up``, ``demo``) say so in
one line when the ``git`` executable is missing, instead of a stack trace, or a ``local up`` that
prints its ready line and then can never reconcile a push."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _without_git(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``smgitops ARGS`` in a fresh interpreter whose PATH holds no git."""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "GIT_PYTHON_GIT_EXECUTABLE"}
    env.update(PATH=str(empty), PYTHONPATH=str(ROOT / "functions"), AWS_DEFAULT_REGION="us-east-1")
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "smgitops.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "--repo", "."),
        ("plan", "--repo", ".", "--base", "HEAD~1", "--head", "HEAD"),
        ("local", "up", "--aws-port", "0", "--webhook-port", "0"),
        ("demo",),
    ],
    ids=["plan", "plan-review", "local-up", "demo"],
)
def test_a_command_that_needs_git_says_so_in_one_line_and_starts_nothing(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    done = _without_git(tmp_path, *args)
    command = " ".join(args[:2]) if args[0] == "local" else args[0]
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        f"smgitops {args[0]}: needs the git executable, which is not on the PATH: install git,"
        " or name it in $GIT_PYTHON_GIT_EXECUTABLE"
    ], command
    assert "ready" not in done.stdout + done.stderr


def test_validate_needs_no_git(tmp_path: Path) -> None:
    (tmp_path / "endpoints").mkdir()
    example = ROOT / "examples" / "endpoints" / "canary.yaml"
    (tmp_path / "endpoints" / "canary.yaml").write_text(example.read_text())
    done = _without_git(tmp_path, "validate", "endpoints")
    assert done.returncode == 0, done.stderr
