"""``smgitops plan --repo DIR [--ref REF] [--output json]``: what a push of REF would change.

Reads ``.smgitops.yaml`` and the declarations at REF straight from the clone's object database
(no checkout: the working tree and its uncommitted changes are ignored), compares them with the
live endpoints (DescribeEndpoint, DescribeEndpointConfig, DescribeModel: the emulator or AWS
through the usual credentials and ``AWS_ENDPOINT_URL``) and, with ``--table`` or
``SMGITOPS_TABLE``, the last-applied status. Prints per endpoint create / update (with the
fields that differ) / unchanged / orphaned. Exit 0, 1 when a declaration is invalid (every
problem on stderr as ``file:line: field: reason``), 2 for a usage error.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from smgitops.errors import GitFetchError
from smgitops.ingest.plan import Plan, compare, render_markdown, render_text

if TYPE_CHECKING:
    import argparse

    from smgitops.ingest.tree import DesiredState

OK = 0
INVALID = 1
USAGE = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="what a push of REF would change, against the live endpoints",
        description="Compare the declarations at REF of a local clone with the live "
        "endpoints (and the status table, when configured): create / update (with the fields "
        "that differ) / unchanged / orphaned. Exit 0, 1 invalid declarations, 2 usage error.",
    )
    parser.add_argument("--repo", type=Path, required=True, metavar="DIR", help="a local clone")
    parser.add_argument("--ref", default="HEAD", help="branch, tag or commit (default HEAD)")
    parser.add_argument(
        "--declarations-dir",
        default=None,
        metavar="DIR",
        help="folder of the declarations when .smgitops.yaml names none (default endpoints)",
    )
    parser.add_argument(
        "--table",
        default=os.environ.get("SMGITOPS_TABLE") or None,
        help="status table for last-applied state and orphans (default $SMGITOPS_TABLE)",
    )
    parser.add_argument("--output", choices=("text", "json", "markdown"), default="text")
    parser.set_defaults(func=run)


def read_ref(repo: Path, ref: str, declarations_dir: str | None) -> tuple[str, DesiredState]:
    """The commit id and desired state at ``ref`` of the clone at ``repo``."""
    from smgitops.git.repository import Snapshot  # noqa: PLC0415 - GitPython only for plan
    from smgitops.ingest.tree import read_desired_state  # noqa: PLC0415

    snapshot = Snapshot.open(repo, ref)
    with tempfile.TemporaryDirectory(prefix="smgitops-plan-") as scratch:
        desired = read_desired_state(
            snapshot,
            Path(scratch),
            branch="",
            declarations_dir=declarations_dir or "endpoints",
            prune=False,
        )
    return snapshot.sha, desired


def run(args: argparse.Namespace) -> int:
    if not args.repo.is_dir():
        print(f"smgitops plan: {args.repo}: not a folder", file=sys.stderr)
        return USAGE
    try:
        sha, desired = read_ref(args.repo, args.ref, args.declarations_dir)
    except GitFetchError as exc:
        print(f"smgitops plan: {exc}", file=sys.stderr)
        return USAGE
    header = {
        "repository": str(args.repo),
        "ref": args.ref,
        "commit": sha,
        "declarationsDir": desired.config.declarations_dir,
    }
    if desired.problems:
        if args.output == "json":
            print(json.dumps({**header, "valid": False, "problems": desired.problems}, indent=2))
        for problem in desired.problems:
            print(problem, file=sys.stderr)
        print(
            f"smgitops plan: {len(desired.problems)} problem(s); nothing planned", file=sys.stderr
        )
        return INVALID
    plan = live_plan(desired, header, args.table)
    if args.output == "json":
        print(json.dumps({**plan.to_json(), "valid": True}, indent=2))
    elif args.output == "markdown":
        print(render_markdown(plan))
    else:
        print(render_text(plan))
    return OK


def live_plan(desired: DesiredState, header: dict[str, str], table: str | None) -> Plan:
    from smgitops.aws.store import StatusStore  # noqa: PLC0415 - boto3 only when planning
    from smgitops.ingest.live import LiveState  # noqa: PLC0415

    live = LiveState(store=StatusStore(table) if table else None)
    changes = compare(
        desired.declarations,
        live.current(desired.declarations),
        paths=desired.paths,
        tracked=live.tracked(),
    )
    return Plan(changes, header)
