"""The pre-commit hook this repository ships (``.pre-commit-hooks.yaml``), on a real repository.

pre-commit itself installs a hook by creating a virtualenv and ``pip install``-ing this
repository, which needs the package index: not something a unit test may do. So these tests
run the hook's ``entry`` the way pre-commit does — the staged files that match ``files``,
passed as arguments in one call (``require_serial``), from the repository root — with the
installed ``smgitops`` on the PATH. When a ``pre-commit`` executable is at hand (on the PATH
or in ``.venv-precommit``), its own ``validate-manifest`` / ``validate-config`` check the
files too (offline). The full install-and-run was checked by hand with pre-commit 4.7.0.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from git import Repo

from smgitops.cli import main
from tests.unit.test_declaration_loader import VALID, replace

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
BIN = str(Path(sys.executable).parent)
REQUIRED = {"id", "name", "entry", "language"}


def hook() -> dict[str, Any]:
    (only,) = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(only, dict)
    return only


def pre_commit() -> str | None:
    found = shutil.which("pre-commit")
    local = ROOT / ".venv-precommit" / "bin" / "pre-commit"
    return found or (str(local) if local.exists() else None)


def staged(repo: Repo) -> list[str]:
    """What ``pre-commit run`` considers: the staged files (added, copied, modified, renamed)."""
    out = repo.git.diff("--cached", "--name-only", "--diff-filter=ACMR", "-z")
    return sorted(name for name in out.split("\0") if name)


def run_hook(
    repo: Repo, definition: dict[str, Any], files: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``definition`` as pre-commit would: entry + args (+ matching files)."""
    pattern = re.compile(definition.get("files", ""))
    exclude = re.compile(definition.get("exclude", "^$"))
    candidates = staged(repo) if files is None else files
    matching = [f for f in candidates if pattern.search(f) and not exclude.search(f)]
    command = shlex.split(definition["entry"]) + list(definition.get("args", []))
    if definition.get("pass_filenames", True):
        command += matching
    environ = {**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]}
    return subprocess.run(
        command,
        cwd=repo.working_dir,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write(root: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return sorted(files)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repository = Repo.init(tmp_path / "team", initial_branch="main")
    with repository.config_writer() as config:
        config.set_value("user", "name", "t")
        config.set_value("user", "email", "t@example.com")
    return repository


def test_the_manifest_declares_a_python_hook_on_declaration_files() -> None:
    definition = hook()
    assert set(definition) >= REQUIRED
    assert definition["id"] == "smgitops-validate"
    assert definition["language"] == "python"
    assert shlex.split(definition["entry"]) == ["smgitops", "validate"]
    assert definition["require_serial"] is True  # one call: duplicates across files are seen
    files = re.compile(definition["files"])
    # .smgitops.yaml too: its problems refuse every push, so a commit of it is checked
    for path in (
        "endpoints/churn.yaml", "endpoints/risk/churn.yml", "environments/prod/a.yaml",
        ".smgitops.yaml",
    ):  # fmt: skip
        assert files.search(path), path
    for path in ("README.md", "docs/endpoints.yaml", "endpoints/notes.txt", "x/.smgitops.yaml"):
        assert not files.search(path), path
    # pre-commit installs the hook with `pip install .` at the repository root.
    assert (ROOT / "pyproject.toml").exists()


def test_the_hook_passes_valid_and_fails_invalid_staged_declarations(repo: Repo) -> None:
    root = Path(repo.working_dir)
    bad = replace(16, "    steps: [50, 10]")
    repo.index.add(
        write(
            root,
            {
                "endpoints/churn.yaml": VALID,
                "README.md": "# models\n",
                "docs/example.yaml": "not: a declaration\n",  # outside `files`: not passed
            },
        )
    )
    passed = run_hook(repo, hook())
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "1 file valid, 1 endpoint" in passed.stderr
    repo.index.commit("churn")

    repo.index.add(write(root, {"endpoints/churn.yaml": bad}))
    failed = run_hook(repo, hook())
    assert failed.returncode == 1
    assert failed.stdout.splitlines() == [
        "endpoints/churn.yaml:16: spec.rollout.steps: steps must be strictly increasing "
        "(10 follows 50)"
    ]


def test_only_matching_files_reach_the_hook(repo: Repo) -> None:
    root = Path(repo.working_dir)
    repo.index.add(write(root, {"notes/todo.yaml": "[unclosed\n", "README.md": "x\n"}))
    # Nothing staged matches `files`: pre-commit skips the hook; no file would be validated.
    assert [f for f in staged(repo) if re.search(hook()["files"], f)] == []


def test_the_scaffolded_config_validates_whole_folders(repo: Repo) -> None:
    """``smgitops init``'s config (``pass_filenames: false``, ``args: [endpoints]``) also
    catches a duplicate endpoint in a file that was not changed."""
    root = Path(repo.working_dir)
    assert main(["init", str(root)]) == 0
    config = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())
    (scaffolded,) = config["repos"][0]["hooks"]
    definition = {**hook(), **scaffolded}
    repo.index.add(write(root, {"endpoints/churn.yaml": VALID}))
    repo.index.commit("churn")
    copy = "endpoints/churn-copy.yaml"
    repo.index.add(write(root, {copy: VALID}))  # the same endpoint name again

    whole = run_hook(repo, definition)
    assert whole.returncode == 1
    assert "endpoint 'churn-predictor' is also declared in endpoints/churn" in whole.stdout

    changed_only = run_hook(repo, hook())  # the manifest's default: only the staged file
    assert changed_only.returncode == 0


def test_pre_commit_accepts_the_manifest_and_the_scaffolded_config(tmp_path: Path) -> None:
    executable = pre_commit()
    if executable is None:
        pytest.skip(
            "pre-commit is not installed (not a dev dependency); the hook was run above the "
            "way pre-commit runs it. To check with it: pip install pre-commit==4.7.0"
        )
    assert main(["init", str(tmp_path), "--environment", "staging", "--environment", "prod"]) == 0
    for command in (
        ["validate-manifest", str(MANIFEST)],
        ["validate-config", str(tmp_path / ".pre-commit-config.yaml")],
    ):
        done = subprocess.run(
            [executable, *command], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
