"""The architecture is checked, not held by habit: `make lint` runs import-linter on the
contracts of .importlinter (layers, the pure core without boto3, no cycles), none ignores an
import, every module sits in a layer, and a wrong-way import breaks the check."""

from __future__ import annotations

import configparser
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.template.test_make import dry_run

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
# Packages whose __init__ holds a docstring only: their modules sit in different layers.
SPLIT_PACKAGES = {"smgitops", "smgitops.rollout", "smgitops.drift"}

pytestmark = pytest.mark.slow


def lint_imports(functions: Path, config: Path = CONFIG) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(functions)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache", "--no-logo"],
        cwd=functions.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def contracts() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    return parser


def layer_modules() -> list[str]:
    layers = contracts()["importlinter:contract:layers"]["layers"]
    return [
        module.strip()
        for line in layers.splitlines()
        for module in line.replace("|", ":").split(":")
        if module.strip()
    ]


def test_make_lint_runs_the_import_contracts() -> None:
    assert "lint-imports" in dry_run("lint")


def test_the_contracts_hold_with_no_ignored_import() -> None:
    parser = contracts()
    sections = [s for s in parser.sections() if s.startswith("importlinter:contract")]
    assert {parser[s]["type"] for s in sections} == {"layers", "forbidden", "acyclic_siblings"}
    for section in parser.sections():
        assert "ignore_imports" not in parser[section], f"{section} ignores imports"
    result = lint_imports(ROOT / "functions")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(sections)} kept, 0 broken." in result.stdout


def test_every_module_sits_in_a_layer() -> None:
    """A new package or module must be placed in the picture before it can be imported."""
    layers = layer_modules()
    import smgitops

    modules = [m.name for m in pkgutil.walk_packages(smgitops.__path__, "smgitops.")]
    unplaced = [
        name
        for name in modules
        if name not in SPLIT_PACKAGES
        and not any(name == layer or name.startswith(layer + ".") for layer in layers)
    ]
    assert unplaced == []
    for package in SPLIT_PACKAGES:  # nothing hides in a package that is split across layers
        init = ROOT / "functions" / Path(*package.split(".")) / "__init__.py"
        assert "import" not in init.read_text(), f"{package} imports something"


def lint_with_import(tmp_path: Path, module: str, line: str) -> subprocess.CompletedProcess[str]:
    """lint-imports on a copy of smgitops whose ``module`` (dotted name) ends with ``line``."""
    copy = tmp_path / "functions"
    shutil.copytree(ROOT / "functions" / "smgitops", copy / "smgitops")
    source = copy.joinpath(*module.split(".")).with_suffix(".py")
    source.write_text(source.read_text() + f"\n{line}\n")
    return lint_imports(copy)


def test_a_handler_building_its_own_adapter_breaks_the_check(tmp_path: Path) -> None:
    line = "from smgitops.aws.store import StatusStore"
    result = lint_with_import(tmp_path, "smgitops.handlers.tick", line)
    assert result.returncode != 0
    assert "smgitops.handlers.tick -> smgitops.aws.store" in result.stdout


def test_a_wrong_way_import_breaks_the_check(tmp_path: Path) -> None:
    """An adapter importing a use case (the kind of import the contracts were written for)."""
    line = "from smgitops.ingest.push import WorkMessage"
    result = lint_with_import(tmp_path, "smgitops.aws.queue", line)
    assert result.returncode != 0
    assert "smgitops.aws.queue -> smgitops.ingest.push" in result.stdout
