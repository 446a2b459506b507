"""Operator commands: ``status``, ``history``, ``promote``, ``abort``."""

from __future__ import annotations

import datetime as dt
import getpass
import sys
from typing import TYPE_CHECKING

from smgitops.commands.common import add_aws_options, emit_json, service_from, table, weights_text

if TYPE_CHECKING:
    import argparse

    from smgitops.rollout.service import RolloutService
    from smgitops.rollout.status import RolloutStatus


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = subparsers.add_parser("status", help="rollouts now: phase, weights, commit, reason")
    status.add_argument("endpoint", nargs="?", help="one endpoint (default: all)")
    add_aws_options(status)
    status.set_defaults(func=run_status)

    history = subparsers.add_parser("history", help="an endpoint's rollout history")
    history.add_argument("endpoint")
    history.add_argument("--limit", type=int, default=50)
    add_aws_options(history)
    history.set_defaults(func=run_history)

    promote = subparsers.add_parser(
        "promote", help="release a pause or gate; --full skips to 100 %%"
    )
    promote.add_argument("endpoint")
    promote.add_argument("--full", action="store_true", help="skip the remaining steps")
    add_aws_options(promote)
    promote.set_defaults(func=run_promote)

    abort = subparsers.add_parser("abort", help="emergency stop: all traffic back to stable now")
    abort.add_argument("endpoint")
    abort.add_argument("--by", default=None, help="who aborts (default: the current user)")
    add_aws_options(abort)
    abort.set_defaults(func=run_abort)


def _when(at: float) -> str:
    return dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _status_row(s: RolloutStatus, drift: str) -> list[str]:
    return [
        s.endpoint,
        str(s.phase),
        str(s.strategy),
        weights_text(s.weights),
        s.commit[:12],
        _when(s.updated_at),
        drift,
        s.reason,
    ]


def _drift(service: RolloutService, endpoint: str) -> str:
    """The drift function's latest finding for the endpoint ('-' when none recorded)."""
    from smgitops.rollout.drift_service import DRIFT_EVENT, RESOLVED_EVENT  # noqa: PLC0415

    for record in service.store.history(endpoint, limit=50):
        if record.event.startswith(DRIFT_EVENT):
            return record.event.removeprefix(DRIFT_EVENT)
        if record.event.startswith(RESOLVED_EVENT):
            return "none"
    return "-"


def run_status(args: argparse.Namespace) -> int:
    service = service_from(args)
    if args.endpoint:
        one = service.store.get(args.endpoint)
        if one is None:
            print(f"smgitops status: no rollout recorded for {args.endpoint}", file=sys.stderr)
            return 1
        statuses = [one]
    else:
        statuses = service.store.list_statuses()
    drifts = {s.endpoint: _drift(service, s.endpoint) for s in statuses}
    if args.output == "json":
        hidden = {"declaration", "gate_token", "golden"}
        emit_json(
            [
                {**s.model_dump(mode="json", exclude=hidden), "drift": drifts[s.endpoint]}
                for s in statuses
            ]
        )
        return 0
    headers = ["ENDPOINT", "PHASE", "STRATEGY", "WEIGHTS", "COMMIT", "UPDATED (UTC)", "DRIFT"]
    print(table([_status_row(s, drifts[s.endpoint]) for s in statuses], [*headers, "REASON"]))
    return 0


def run_history(args: argparse.Namespace) -> int:
    service = service_from(args)
    records = service.store.history(args.endpoint, limit=args.limit)
    if args.output == "json":
        emit_json([r.model_dump(mode="json") for r in records])
        return 0
    if not records:
        print(f"smgitops history: nothing recorded for {args.endpoint}", file=sys.stderr)
        return 1
    rows = [
        [_when(r.at), r.commit[:12], str(r.phase), weights_text(r.weights), r.event or r.reason]
        for r in reversed(records)
    ]
    print(table(rows, ["AT (UTC)", "COMMIT", "PHASE", "WEIGHTS", "EVENT"]))
    return 0


def run_promote(args: argparse.Namespace) -> int:
    status = service_from(args).promote(args.endpoint, full=args.full)
    if args.output == "json":
        emit_json(status.model_dump(mode="json", exclude={"declaration", "gate_token"}))
    else:
        print(f"{args.endpoint}: promote ({status.promote}) requested; phase {status.phase}")
    return 0


def run_abort(args: argparse.Namespace) -> int:
    by = args.by or getpass.getuser()
    status = service_from(args).abort(args.endpoint, by)
    if args.output == "json":
        emit_json(status.model_dump(mode="json", exclude={"declaration", "gate_token"}))
    else:
        weights = weights_text(status.weights)
        print(f"{args.endpoint}: {status.phase} ({status.reason}); weights {weights}")
    return 0
