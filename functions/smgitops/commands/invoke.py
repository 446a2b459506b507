"""``smgitops invoke FUNCTION --event FILE``: run one Lambda handler in-process (like
``sam local invoke``, without Docker)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from smgitops.commands.common import emit_json

if TYPE_CHECKING:
    import argparse

FUNCTIONS = ("webhook", "reconcile", "tick", "abort", "drift")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("invoke", help="run one Lambda handler in-process on an event")
    parser.add_argument("function", choices=FUNCTIONS)
    parser.add_argument("--event", required=True, type=Path, help="event JSON file (see events/)")
    parser.add_argument("--aws", metavar="URL", default=None, help="AWS endpoint URL (emulator)")
    parser.set_defaults(func=run)


class _Context:
    function_name = "smgitops-local"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:smgitops-local"
    aws_request_id = "local-invoke"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def run(args: argparse.Namespace) -> int:
    import os  # noqa: PLC0415

    try:
        event = json.loads(args.event.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"smgitops invoke: cannot read {args.event}: {exc}", file=sys.stderr)
        return 2
    if args.aws:
        os.environ["AWS_ENDPOINT_URL"] = args.aws
    from smgitops.observability import log_to_stderr  # noqa: PLC0415

    log_to_stderr()  # stdout carries the handler's answer only
    module = importlib.import_module(f"smgitops.handlers.{args.function}")
    emit_json(module.handler(event, _Context()))
    return 0
