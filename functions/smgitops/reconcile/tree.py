"""The desired state at one commit: ``.smgitops.yaml`` plus every declaration under its folder.

Shared by the reconcile function (a fetched commit) and ``smgitops plan`` (a local clone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from smgitops.declaration.loader import load_tree
from smgitops.errors import DeclarationError
from smgitops.reconcile import appconfig
from smgitops.rollout import freeze as freeze_rules
from smgitops.rollout import validation
from smgitops.rollout.status import Context

if TYPE_CHECKING:
    from pathlib import Path

    from smgitops.declaration.models import Declaration
    from smgitops.git.repository import Snapshot


class DesiredState(NamedTuple):
    config: appconfig.Effective
    declarations: dict[str, Declaration]  # by endpoint name
    paths: dict[str, str]  # endpoint name -> file, relative to the repository root
    problems: list[str]  # "file:line: field: reason", config first; empty when valid
    # by endpoint name: golden requests, freeze windows and the commit's Deploy-Override
    contexts: dict[str, Context] = {}  # noqa: RUF012 - a NamedTuple default, never mutated


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
    declarations = dict(loaded.declarations)
    contexts: dict[str, Context] = {}
    if not problems:
        contexts, more = _contexts(snapshot, scratch, declarations, config)
        problems += more
    return DesiredState(config, declarations, dict(loaded.paths), problems, contexts)


def _contexts(
    snapshot: Snapshot,
    scratch: Path,
    declarations: dict[str, Declaration],
    config: appconfig.Effective,
) -> tuple[dict[str, Context], list[str]]:
    """What each rollout needs from the commit besides its declaration."""
    freeze = [w.model_dump(mode="json", by_alias=True) for w in config.freeze]
    override = freeze_rules.override(snapshot.message) or ""
    contexts: dict[str, Context] = {}
    problems: list[str] = []
    for name, declaration in declarations.items():
        golden: list[dict[str, Any]] = []
        spec = declaration.spec.rollout.validation
        if spec is not None:
            for pattern in spec.requests:
                top = pattern.split("*", 1)[0].split("?", 1)[0].rsplit("/", 1)[0]
                snapshot.export(top or ".", scratch)
            try:
                golden = validation.dump_requests(validation.load_requests(scratch, spec.requests))
            except DeclarationError as exc:
                problems += exc.problems
        contexts[name] = Context(
            golden=golden, freeze=freeze, override=override, self_heal=config.self_heal
        )
    return contexts, problems
