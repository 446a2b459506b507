"""``smgitops validate PATH...`` and ``smgitops schema``.

``validate`` prints every problem of every file to stdout as ``file:line: field: reason``
and one summary line to stderr; exit 0 when every file is valid, 1 when any is not,
2 for a usage error (a path that does not exist). ``--output json`` prints one object:
``{"valid", "files", "endpoints", "problems": [{"file", "line", "field", "message"}]}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smgitops.declaration.loader import load_paths
from smgitops.declaration.schema import json_schema

if TYPE_CHECKING:
    import argparse

    from smgitops.declaration.loader import LoadResult

OK = 0
INVALID = 1
USAGE = 2


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


def run_validate(args: argparse.Namespace) -> int:
    missing = [path for path in args.paths if not path.exists()]
    for path in missing:
        print(f"smgitops validate: {path}: no such file or directory", file=sys.stderr)
    if missing:
        return USAGE
    result = load_paths(args.paths)
    if args.output == "json":
        print(json.dumps(_as_json(result), indent=2))
    else:
        for problem in result.problems:
            print(problem)
    print(_summary(result, args.paths), file=sys.stderr)
    return OK if result.valid else INVALID


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
