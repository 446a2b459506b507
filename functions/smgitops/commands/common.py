"""Options and output helpers shared by the operator commands."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

    from smgitops.rollout.service import RolloutService

DEFAULT_TABLE = "smgitops"


def add_aws_options(parser: argparse.ArgumentParser, *, output: bool = True) -> None:
    parser.add_argument(
        "--table",
        default=os.environ.get("SMGITOPS_TABLE", DEFAULT_TABLE),
        help="status table (default: $SMGITOPS_TABLE or 'smgitops')",
    )
    parser.add_argument(
        "--aws",
        metavar="URL",
        default=None,
        help="AWS endpoint URL, e.g. the local runtime's (default: $AWS_ENDPOINT_URL or AWS)",
    )
    if output:
        parser.add_argument("--output", choices=["text", "json"], default="text")


def service_from(args: argparse.Namespace) -> RolloutService:
    """The rollout service against AWS, or the emulator given by --aws."""
    from smgitops.aws import clients  # noqa: PLC0415
    from smgitops.rollout.service import RolloutService  # noqa: PLC0415
    from smgitops.settings import EngineSettings  # noqa: PLC0415

    if args.aws:
        os.environ["AWS_ENDPOINT_URL"] = args.aws
        for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
            os.environ.setdefault(name, value)
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        clients.reset()
    environ = {**os.environ, "SMGITOPS_TABLE": args.table}
    settings = EngineSettings.from_env(environ)
    service = RolloutService.from_settings(settings)
    if service.executions is None:
        from smgitops.aws.stepfunctions import Executions  # noqa: PLC0415

        # Answering a manual gate's task token needs no state machine ARN.
        service.executions = Executions(os.environ.get("SMGITOPS_STATE_MACHINE_ARN", ""))
    return service


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def weights_text(weights: dict[str, float]) -> str:
    return " ".join(f"{name}={value:g}%" for name, value in sorted(weights.items())) or "-"
