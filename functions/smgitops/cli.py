"""The ``smgitops`` command line. Exit codes (every command, docs/cli.md): 0 ok, 1 the thing
checked is bad, 2 usage, 3 timeout, 4 AWS or the emulator unreachable."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import TYPE_CHECKING

from smgitops import __version__
from smgitops.commands import COMMAND_MODULES
from smgitops.commands.common import FAILED, OK, UNREACHABLE, USAGE
from smgitops.errors import DependencyUnavailableError, SmgitopsError

if TYPE_CHECKING:
    from collections.abc import Sequence

USAGE_ERROR = USAGE


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it (adapters wrap botocore's errors in smgitops' own)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _unreachable(exc: BaseException, command: str) -> str | None:
    """Why AWS cannot be reached, when ``exc`` (or its cause) says so."""
    try:
        from botocore.exceptions import (  # noqa: PLC0415
            EndpointConnectionError,
            NoCredentialsError,
            NoRegionError,
        )
    except ImportError:  # pragma: no cover - botocore is a dependency
        return None
    for cause in _chain(exc):
        if isinstance(cause, NoCredentialsError | NoRegionError):
            return f"{cause} (set AWS credentials and a region, or --aws URL for `local up`)"
        if isinstance(cause, EndpointConnectionError):
            if command == "local":
                return (
                    f"{cause}: AWS_ENDPOINT_URL points there and nothing answers; unset it to "
                    "run the embedded emulator, or start what it points at"
                )
            return f"{cause} (is the AWS endpoint or `smgitops local up` running?)"
        if isinstance(cause, DependencyUnavailableError):
            return str(cause)
    return None


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
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `smgitops schema | head`: the reader left; not an error of ours
        sys.stderr.close()
        return OK
    except Exception as exc:
        reason = _unreachable(exc, args.command)
        if reason is not None:
            print(f"smgitops {args.command}: cannot reach AWS: {reason}", file=sys.stderr)
            return UNREACHABLE
        if isinstance(exc, SmgitopsError):
            print(f"smgitops {args.command}: {exc}", file=sys.stderr)
            return FAILED
        raise
    return code


if __name__ == "__main__":
    sys.exit(main())
