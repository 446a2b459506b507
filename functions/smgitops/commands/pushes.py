"""``smgitops pushes``: what became of each recent push, with every reason.

Reads the push records the reconcile writes for every push it receives (the same record the
GitHub commit status is built from). Each push gets one outcome:

* ``deployed``: at least one endpoint's rollout started or was queued;
* ``unchanged``: valid, and every declared endpoint was already live as declared;
* ``invalid``: a declaration (or ``.smgitops.yaml``) is invalid; each problem as file:line;
* ``refused``: the repository is not allowed, or an endpoint was refused (e.g. owned by another
  repository) and nothing else started;
* ``stale``: older than what is already applied;
* ``ignored``: not the tracked branch;
* ``failed``: the commit could not be fetched or read; ``processing``: still being reconciled.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Any

from smgitops.commands.common import FAILED, OK, add_aws_options, aws_from, emit_json
from smgitops.rollout.progress import text_table

if TYPE_CHECKING:
    import argparse

    from smgitops.aws.deliveries import PushRecord

STARTED_KINDS = frozenset({"started", "queued"})


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "pushes",
        help="recent pushes and their outcome, with every reason (file:line included)",
        description="Recent pushes, newest first: outcome (deployed, unchanged, invalid, "
        "refused, stale, ignored, failed, processing), per endpoint what happened, and every "
        "validation problem as file:line. Exit 0; 1 when nothing is recorded.",
    )
    parser.add_argument("--limit", type=int, default=20, help="how many pushes (default 20)")
    parser.add_argument("--commit", default=None, metavar="SHA", help="only this commit")
    parser.add_argument(
        "--repository",
        default=None,
        metavar="URL",
        help="only this repository's pushes (its clone URL)",
    )
    add_aws_options(parser)
    parser.set_defaults(func=run_pushes)


def outcome(record: PushRecord) -> str:
    """One word for what became of the push."""
    if record.status == "reconciled":
        kinds = {str(o.get("kind", "")) for o in record.outcomes}
        if kinds & STARTED_KINDS:
            return "deployed"
        if "refused" in kinds:
            return "refused"
        if kinds and kinds <= {"stale"}:
            return "stale"
        return "unchanged"
    if record.status == "failed" and "not allowed" in record.reason:
        return "refused"
    return str(record.status)


def as_json(record: PushRecord) -> dict[str, Any]:
    return {**record.to_json(), "outcome": outcome(record)}


def _when(at: float) -> str:
    return dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def details(record: PushRecord) -> list[str]:
    """The lines under a push: each endpoint's outcome, orphan and validation problem."""
    lines = [
        f"  {o.get('endpoint')}: {o.get('kind')}" + (f" ({o['reason']})" if o.get("reason") else "")
        for o in record.outcomes
    ]
    lines += [
        f"  {o.get('endpoint')}: {o.get('action')} ({o.get('reason', '')})" for o in record.orphans
    ]
    lines += [f"  {problem}" for problem in record.problems]
    return lines


HEADERS = ["RECORDED (UTC)", "REPOSITORY", "COMMIT", "OUTCOME", "REASON"]


def render(records: list[PushRecord]) -> str:
    """One row per push (one table, aligned), each followed by its detail lines."""
    rows = [
        [
            _when(r.recorded_at or r.pushed_at),
            r.repository,
            r.commit[:12],
            outcome(r),
            r.reason or "-",
        ]
        for r in records
    ]
    header, *lines = text_table(rows, HEADERS).splitlines()
    out = [header]
    for line, record in zip(lines, records, strict=True):
        out += [line, *details(record)]
    return "\n".join(out)


def run_pushes(args: argparse.Namespace) -> int:
    from smgitops.wiring import operator  # noqa: PLC0415

    aws_from(args)
    store = operator.pushes(args.table)
    if args.repository:
        from smgitops.urls import identity_of  # noqa: PLC0415

        records = store.history(identity_of(args.repository), limit=max(1, args.limit))
    else:
        records = store.recent(limit=max(1, args.limit))
    if args.commit:
        records = [r for r in records if r.commit.startswith(args.commit.lower())]
    if args.output == "json":
        emit_json([as_json(r) for r in records])
        return OK
    if not records:
        print("smgitops pushes: no push recorded", file=sys.stderr)
        return FAILED
    print(render(records))
    return OK
