"""The desired state at one commit: ``.smgitops.yaml`` plus every declaration under its folder.

Shared by the reconcile function (a fetched commit) and ``smgitops plan`` (a local clone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from smgitops.declaration.loader import load_tree
from smgitops.ingest import appconfig

if TYPE_CHECKING:
    from pathlib import Path

    from smgitops.declaration.models import Declaration
    from smgitops.git.repository import Snapshot


class DesiredState(NamedTuple):
    config: appconfig.Effective
    declarations: dict[str, Declaration]  # by endpoint name
    paths: dict[str, str]  # endpoint name -> file, relative to the repository root
    problems: list[str]  # "file:line: field: reason", config first; empty when valid


def read_desired_state(
    snapshot: Snapshot, scratch: Path, *, branch: str, declarations_dir: str, prune: bool
) -> DesiredState:
    """Read the commit's app config and declarations (exported into ``scratch``)."""
    parsed = appconfig.parse(snapshot.read(appconfig.FILE))
    config = appconfig.effective(
        parsed.config, branch=branch, declarations_dir=declarations_dir, prune=prune
    )
    if parsed.problems:
        return DesiredState(config, {}, {}, parsed.problems)
    skipped = snapshot.export(config.declarations_dir, scratch)
    loaded = load_tree(scratch, config.declarations_dir)
    problems = [f"{path}:1: symlinks are not followed; not read" for path in skipped]
    problems += [str(problem) for problem in loaded.problems]
    return DesiredState(config, dict(loaded.declarations), dict(loaded.paths), problems)
