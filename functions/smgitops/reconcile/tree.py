"""The desired state at one commit: ``.smgitops.yaml`` plus every declaration under its folder.

Shared by the reconcile function (a fetched commit) and ``smgitops plan`` (a local clone).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from smgitops.declaration import golden as golden_files
from smgitops.declaration.loader import MAX_FILE_BYTES, SUFFIXES, load_tree
from smgitops.declaration.models import OPERATOR_CHECKS, ChecksPolicy
from smgitops.errors import DeclarationError
from smgitops.git.repository import Limits
from smgitops.reconcile import appconfig
from smgitops.rollout import freeze as freeze_rules
from smgitops.rollout.status import Context

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from smgitops.declaration.golden import NamedRequest
    from smgitops.declaration.models import Declaration
    from smgitops.git.repository import Snapshot


class DesiredState(NamedTuple):
    config: appconfig.Effective
    declarations: dict[str, Declaration]  # by endpoint name
    paths: dict[str, str]  # endpoint name -> file, relative to the repository root
    problems: list[str]  # "file:line: field: reason", config first; empty when valid
    # by endpoint name: golden requests, freeze windows and the commit's Deploy-Override
    contexts: dict[str, Context] = {}  # noqa: RUF012 - a NamedTuple default, never mutated
    role_lines: dict[str, int] = {}  # noqa: RUF012 - by endpoint: its executionRoleArn's line


GOLDEN_LIMITS = Limits(
    golden_files.MAX_REQUEST_BYTES, golden_files.MAX_REQUEST_FILES, noun="golden request files"
)
MAX_ENDPOINTS = 1000
"""Declaration files one push may hold (``SMGITOPS_MAX_ENDPOINTS``): above it the push is
refused from the tree, before any file is read (docs/ingestion.md, "Bounded work")."""


def _declaration_file(path: str) -> bool:
    """What the loader reads: ``*.yaml``/``*.yml``, no hidden file or folder."""
    parts = PurePosixPath(path).parts
    return path.endswith(SUFFIXES) and not any(part.startswith(".") for part in parts)


def _matching(patterns: Sequence[str]) -> Callable[[str], bool]:
    """Whether a path is one of the golden requests ``patterns`` name (only those are read)."""
    regexes = [golden_files.glob_regex(pattern) for pattern in patterns]
    return lambda path: any(regex.fullmatch(path) for regex in regexes)


def read_desired_state(
    snapshot: Snapshot,
    scratch: Path,
    *,
    branch: str,
    declarations_dir: str,
    prune: bool,
    max_endpoints: int = MAX_ENDPOINTS,
    checks: ChecksPolicy = OPERATOR_CHECKS,
    heal_allowed: bool | None = None,
) -> DesiredState:
    """Read the commit's app config and declarations (exported into ``scratch``); ``checks``
    is the widest policy the operator allows (``SMGITOPS_CHECKS``), ``heal_allowed`` the
    operator's ``SMGITOPS_SELF_HEAL`` (``None``: unknown, not checked)."""
    parsed = appconfig.parse(
        snapshot.read(appconfig.FILE), allowed=checks, heal_allowed=heal_allowed
    )
    config = appconfig.effective(
        parsed.config, branch=branch, declarations_dir=declarations_dir, prune=prune
    )
    if parsed.problems:
        return DesiredState(config, {}, {}, parsed.problems)
    limits = Limits(MAX_FILE_BYTES, max_endpoints, noun="declaration files")
    problems = snapshot.export(
        config.declarations_dir, scratch, limits=limits, wanted=_declaration_file
    )
    loaded = load_tree(scratch, config.declarations_dir, checks=config.checks)
    problems += [str(problem) for problem in loaded.problems]
    declarations = dict(loaded.declarations)
    contexts: dict[str, Context] = {}
    if not problems:
        contexts, more = _contexts(snapshot, scratch, declarations, config)
        problems += more
    return DesiredState(
        config, declarations, dict(loaded.paths), problems, contexts, dict(loaded.role_lines)
    )


def _contexts(
    snapshot: Snapshot,
    scratch: Path,
    declarations: dict[str, Declaration],
    config: appconfig.Effective,
) -> tuple[dict[str, Context], list[str]]:
    """What each rollout needs from the commit besides its declaration."""
    freeze = list(config.freeze)
    override = freeze_rules.override(snapshot.message) or ""
    contexts: dict[str, Context] = {}
    problems: list[str] = []
    for name, declaration in declarations.items():
        golden: list[NamedRequest] = []
        spec = declaration.spec.rollout.validation
        if spec is not None:
            wanted = _matching(spec.requests)
            for pattern in spec.requests:
                top = pattern.split("*", 1)[0].split("?", 1)[0].rsplit("/", 1)[0]
                problems += snapshot.export(
                    top or ".",
                    scratch,
                    limits=GOLDEN_LIMITS,
                    wanted=wanted,
                )
            try:
                golden = golden_files.load_requests(scratch, spec.requests)
            except DeclarationError as exc:
                problems += exc.problems
        contexts[name] = Context(
            golden=golden, freeze=freeze, override=override, self_heal=config.self_heal
        )
    return contexts, problems
