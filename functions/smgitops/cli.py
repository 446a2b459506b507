"""The ``smgitops`` command line. Exit codes: 0 ok, 1 failed/invalid, 2 usage."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import TYPE_CHECKING

from smgitops import __version__
from smgitops.commands import COMMAND_MODULES
from smgitops.errors import SmgitopsError

if TYPE_CHECKING:
    from collections.abc import Sequence

USAGE_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smgitops", description="GitOps for Amazon SageMaker endpoints."
    )
    parser.add_argument("--version", action="version", version=f"smgitops {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    try:
        code: int = args.func(args)
    except SmgitopsError as exc:
        print(f"smgitops {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `smgitops schema | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
