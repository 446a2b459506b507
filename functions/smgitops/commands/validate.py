"""``smgitops validate PATH...`` and ``smgitops schema``.

``validate`` prints every problem of every file to stdout as ``file:line: field: reason``
and one summary line to stderr; exit 0 when every file is valid, 1 when any is not,
2 for a usage error (a path that does not exist). The repository's ``.smgitops.yaml`` is
checked too (found at the root of the repository each PATH is in, or given as a PATH): its
problems block every deploy just as a declaration's do. ``--output json`` prints one object:
``{"valid", "files", "endpoints", "problems": [{"file", "line", "field", "message"}],
"appConfig": [{"file", "problems": [...]}]}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smgitops.commands.common import operator_checks, operator_self_heal
from smgitops.declaration.loader import load_paths
from smgitops.declaration.models import ChecksPolicy
from smgitops.declaration.schema import json_schema

if TYPE_CHECKING:
    import argparse

    from smgitops.declaration.loader import LoadResult

OK = 0
INVALID = 1
USAGE = 2
APP_CONFIG = ".smgitops.yaml"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = subparsers.add_parser(
        "validate",
        help="validate declaration files or folders",
        description="Validate endpoint declarations: files, or folders searched recursively "
        "for *.yaml and *.yml. Prints every problem as file:line: field: reason. "
        "Exit 0 valid, 1 invalid, 2 usage error.",
    )
    validate.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    validate.add_argument("--output", choices=("text", "json"), default="text")
    validate.set_defaults(func=run_validate)

    schema = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of a declaration",
        description="Print the JSON Schema (draft 2020-12) of a declaration file, for editors: "
        "save it and point `# yaml-language-server: $schema=<file>` at it.",
    )
    schema.set_defaults(func=run_schema)


def app_configs(paths: list[Path]) -> list[Path]:
    """The ``.smgitops.yaml`` files that govern ``paths``: given ones, and the one at the root
    of the repository (the nearest folder up with ``.git``) each path is in."""
    found: list[Path] = []
    for given in paths:
        if given.name == APP_CONFIG:
            found.append(given)
            continue
        start = given.resolve() if given.is_dir() else given.resolve().parent
        for folder in (start, *start.parents):
            if (folder / ".git").exists():
                if (folder / APP_CONFIG).is_file():
                    found.append(_shown(folder / APP_CONFIG))
                break
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _shown(path: Path) -> Path:
    """``path`` relative to the current folder when it is under it (as a user would type it)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def check_app_config(path: Path) -> list[str]:
    from smgitops.reconcile import appconfig  # noqa: PLC0415

    problems = appconfig.parse(
        path.read_bytes(), allowed=operator_checks(), heal_allowed=operator_self_heal()
    ).problems
    return [str(path) + problem.removeprefix(appconfig.FILE) for problem in problems]


def checks_policy(configs: list[Path]) -> ChecksPolicy:
    """The ``checks`` the declarations are validated under: the narrowest the repositories'
    ``.smgitops.yaml`` choose (default acknowledged), within the operator's (SMGITOPS_CHECKS)."""
    from smgitops.reconcile import appconfig  # noqa: PLC0415

    policy = ChecksPolicy.ACKNOWLEDGED
    chosen = [appconfig.parse(path.read_bytes()).config.checks for path in configs]
    if chosen:
        policy = ChecksPolicy.OPTIONAL
        for choice in chosen:
            policy = policy.narrowed(choice or ChecksPolicy.ACKNOWLEDGED)
    return operator_checks().narrowed(policy)


def run_validate(args: argparse.Namespace) -> int:
    missing = [path for path in args.paths if not path.exists()]
    for path in missing:
        print(f"smgitops validate: {path}: no such file or directory", file=sys.stderr)
    if missing:
        return USAGE
    configs = app_configs(args.paths)
    declarations = [p for p in args.paths if p.name != APP_CONFIG]
    result = load_paths(declarations, checks=checks_policy(configs))
    config_problems = {str(path): check_app_config(path) for path in configs}
    valid = result.valid and not any(config_problems.values())
    if args.output == "json":
        data = _as_json(result)
        data["valid"] = valid
        data["appConfig"] = [{"file": f, "problems": p} for f, p in config_problems.items()]
        print(json.dumps(data, indent=2))
    else:
        for line in (line for problems in config_problems.values() for line in problems):
            print(line)
        for located in result.problems:
            print(located)
    summary = _summary(result, declarations) if declarations else "no declarations given"
    broken = [f for f, p in config_problems.items() if p]
    if broken:
        summary += f"; {', '.join(broken)} is invalid: every push would be refused"
    elif configs:
        summary += f"; {', '.join(config_problems)} valid"
    print(summary, file=sys.stderr)
    return OK if valid else INVALID


def run_schema(args: argparse.Namespace) -> int:
    del args
    print(json.dumps(json_schema(), indent=2))
    return OK


def _as_json(result: LoadResult) -> dict[str, Any]:
    return {
        "valid": result.valid,
        "files": result.files,
        "endpoints": [
            {
                "name": name,
                "file": result.paths[name],
                "strategy": str(declaration.spec.rollout.strategy),
                "contentHash": declaration.content_hash(),
            }
            for name, declaration in sorted(result.declarations.items())
        ],
        "problems": [problem.to_dict() for problem in result.problems],
    }


def _summary(result: LoadResult, paths: list[Path]) -> str:
    files = len(result.files)
    if files == 0:
        return "no declaration files (*.yaml, *.yml) found in " + ", ".join(map(str, paths))
    if result.valid:
        return f"{_plural(files, 'file')} valid, {_plural(len(result.declarations), 'endpoint')}"
    broken = len({problem.file for problem in result.problems})
    return (
        f"{_plural(len(result.problems), 'problem')} in {broken} of {_plural(files, 'file')}; "
        "nothing would be deployed"
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
