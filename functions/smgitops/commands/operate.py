"""Operator commands: ``status``, ``history``, ``promote``, ``abort``."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import sys
from typing import TYPE_CHECKING

from smgitops import clock
from smgitops.commands.common import (
    add_aws_options,
    emit_json,
    history_json,
    service_from,
    status_json,
    weights_text,
)
from smgitops.commands.follow import watch
from smgitops.rollout.progress import (
    SUMMARY_HEADERS,
    progress,
    promote_text,
    summaries,
    summary_rows,
    text_table,
)

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from smgitops.rollout.progress import VariantNumbers
    from smgitops.rollout.service import RolloutService
    from smgitops.rollout.status import HistoryRecord, RolloutStatus


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = subparsers.add_parser(
        "status", help="rollouts now: phase, step, weights, commit, reason (--watch: live)"
    )
    status.add_argument("endpoint", nargs="?", help="one endpoint (default: all)")
    status.add_argument(
        "--owner",
        default=None,
        metavar="REPOSITORY_URL",
        help="only the endpoints this repository owns (its clone URL)",
    )
    status.add_argument(
        "--watch",
        action="store_true",
        help="redraw as rollouts move: step N/M, stable/candidate weights, bake left, last check",
    )
    status.add_argument(
        "--interval", type=float, default=2.0, help="--watch: seconds between redraws (default 2)"
    )
    add_aws_options(status)
    status.set_defaults(func=run_status)

    history = subparsers.add_parser("history", help="an endpoint's rollout history")
    history.add_argument("endpoint")
    history.add_argument("--limit", type=int, default=50)
    history.add_argument(
        "--rollouts",
        action="store_true",
        help="one line per rollout (commit, start, time, outcome, reason) instead of every event",
    )
    add_aws_options(history)
    history.set_defaults(func=run_history)

    promote = subparsers.add_parser(
        "promote", help="release a pause or gate; --full skips to 100 %%"
    )
    promote.add_argument("endpoint")
    promote.add_argument("--full", action="store_true", help="skip the remaining steps")
    add_aws_options(promote)
    promote.add_argument("--by", default=None, help="who promotes (default: the current user)")
    promote.set_defaults(func=run_promote)

    abort = subparsers.add_parser("abort", help="emergency stop: all traffic back to stable now")
    abort.add_argument("endpoint")
    abort.add_argument("--by", default=None, help="who aborts (default: the current user)")

    retry = subparsers.add_parser(
        "retry",
        help="start the declared model again after a rollback or failure, without a new commit",
        description="After a rollback or a failure, start the same declaration from the same "
        "commit again (a push of the same declaration does not). Recorded with --by. Exit 0 "
        "started, 1 nothing to retry (no rollout, one in progress, or the last one succeeded).",
    )
    retry.add_argument("endpoint")
    retry.add_argument("--by", default=None, help="who retries (default: the current user)")
    retry.add_argument(
        "--state-machine",
        default=os.environ.get("SMGITOPS_STATE_MACHINE_ARN", ""),
        metavar="ARN",
        help="the rollout state machine (default: $SMGITOPS_STATE_MACHINE_ARN, else the one "
        "state machine named smgitops-rollout…)",
    )
    add_aws_options(abort)
    abort.set_defaults(func=run_abort)
    add_aws_options(retry)
    retry.set_defaults(func=run_retry)


def _when(at: float) -> str:
    return dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _status_row(s: RolloutStatus, drift: str, now: float) -> list[str]:
    view = progress(s, now)
    return [
        s.endpoint,
        str(s.phase),
        view.step_text(),
        view.weights_text(),
        s.commit[:12],
        _when(s.updated_at),
        _drift_cell(drift),
        s.owner or "-",
        f"refused {s.refused} | {s.reason}" if s.refused and s.stable else s.reason,
    ]


def _drift_cell(drift: str) -> str:
    """The drift column stays narrow: the finding itself is in ``status ENDPOINT`` and JSON."""
    return drift if drift in {"-", "none"} else "yes"


def _numbers(s: RolloutStatus, now: float) -> list[VariantNumbers]:
    """Per-variant invocations, 5xx and latency since the step began, while two variants serve
    (what an A/B test is decided on); none when CloudWatch has no whole minute yet."""
    from smgitops.aws.metrics import MetricQuery  # noqa: PLC0415
    from smgitops.rollout.progress import ERRORS, LATENCY, variant_numbers  # noqa: PLC0415
    from smgitops.wiring import operator  # noqa: PLC0415

    view = progress(s, now)
    if s.done or len(view.variants) < 2:
        return []
    queries = [MetricQuery(*ERRORS), MetricQuery(*LATENCY)]
    names = [v.name for v in view.variants]
    start = s.step_since or s.phase_since
    series = operator.metrics().read(s.endpoint, names, queries, start=start, end=now)
    return variant_numbers(view, series)


def capture_prefixes(s: RolloutStatus) -> list[str]:
    """Where SageMaker writes each variant's captured requests: ``<destination>/<endpoint>/
    <variant>/``. While a rollout runs both variants sit in one config, which carries the
    declaration's data capture: old and new side by side under one destination. Otherwise the
    live variant's own."""
    if s.active and s.stable is not None and s.stable.name != s.candidate.name:
        source, labelled = s.candidate, [(s.stable, "stable"), (s.candidate, "candidate")]
    else:
        live = s.stable or s.candidate
        source, labelled = live, [(live, "live")]
    capture = source.config_settings.get("DataCaptureConfig")
    if not capture:
        return []
    base = str(capture["DestinationS3Uri"]).rstrip("/")
    return [f"{base}/{s.endpoint}/{ref.name}/ ({label})" for ref, label in labelled]


def _detail(
    s: RolloutStatus, drift: str, now: float, numbers: Sequence[VariantNumbers] = ()
) -> str:
    """``status ENDPOINT``: every fact about the endpoint's rollout, one per line."""
    view = progress(s, now)
    rows = [
        ["endpoint", s.endpoint],
        ["owner", s.owner or "- (none recorded: every push is refused; smgitops transfer)"],
        ["phase", f"{s.phase} (since {_when(s.phase_since)})"],
        ["strategy", str(s.strategy)],
        ["step", view.step_text()],
        ["weights", view.weights_text()],
        ["stable", s.stable.name if s.stable else "- (first deploy)"],
        ["candidate", f"{s.candidate.name} (model {s.candidate.model})"],
        ["bake left", view.bake_text()],
        ["checks", f"{view.checks}; {view.failed_checks}/{view.max_failed_checks} failed"],
        ["commit", s.commit],
        ["started", _when(s.started_at)],
        ["updated", _when(s.updated_at)],
        ["drift", drift],
        ["reason", s.reason or "-"],
    ]
    rows += [["captured at", where] for where in capture_prefixes(s)]
    if s.next is not None:
        rows.append(["queued", f"{s.next.commit[:12]} ({s.next.rollout_id})"])
    if s.refused:
        rows.append(["refused", s.refused])
    for number, line in enumerate(numbers):
        rows.append(["traffic since step" if number == 0 else "", line.text()])
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def _drift(service: RolloutService, endpoint: str) -> str:
    """The drift function's latest finding for the endpoint ('-' when none recorded)."""
    from smgitops.drift.service import latest_finding  # noqa: PLC0415

    return latest_finding(service.store.history(endpoint, limit=50))


def _statuses(
    service: RolloutService, endpoint: str | None, owner: str | None = None
) -> list[RolloutStatus] | None:
    """One endpoint's status (None: none recorded), or every endpoint's; with ``owner`` (a
    clone URL), only those its repository owns."""
    from smgitops.urls import identity_of  # noqa: PLC0415

    if endpoint:
        one = service.store.get(endpoint)
        found = [] if one is None else [one]
    else:
        found = service.store.list_statuses()
    if owner is not None:
        found = [s for s in found if s.owner == identity_of(owner)]
    return None if endpoint and not found else found


def run_status(args: argparse.Namespace) -> int:
    service = service_from(args)
    if args.watch:
        return watch(
            lambda: _statuses(service, args.endpoint, args.owner) or [],
            sys.stdout,
            interval=args.interval,
        )
    statuses = _statuses(service, args.endpoint, args.owner)
    if statuses is None:
        owned = f" owned by {args.owner}" if args.owner else ""
        print(f"smgitops status: no rollout recorded for {args.endpoint}{owned}", file=sys.stderr)
        return 1
    drifts = {s.endpoint: _drift(service, s.endpoint) for s in statuses}
    now = clock.now()
    if args.output == "json":
        emit_json([status_json(s, drifts[s.endpoint], now) for s in statuses])
        return 0
    if args.endpoint:
        print(_detail(statuses[0], drifts[args.endpoint], now, _numbers(statuses[0], now)))
        return 0
    headers = ["ENDPOINT", "PHASE", "STEP", "WEIGHTS", "COMMIT", "UPDATED (UTC)", "DRIFT", "OWNER"]
    print(
        text_table(
            [_status_row(s, drifts[s.endpoint], now) for s in statuses], [*headers, "REASON"]
        )
    )
    return 0


def run_history(args: argparse.Namespace) -> int:
    service = service_from(args)
    records = service.store.history(args.endpoint, limit=args.limit)
    if args.rollouts:
        return _print_rollouts(args, records)
    if args.output == "json":
        emit_json([history_json(r) for r in records])
        return 0
    if not records:
        print(f"smgitops history: nothing recorded for {args.endpoint}", file=sys.stderr)
        return 1
    rows = [
        [_when(r.at), r.commit[:12], str(r.phase), weights_text(r.weights), r.event or r.reason]
        for r in reversed(records)
    ]
    status = service.store.get(args.endpoint)
    owner = status.owner if status is not None and not status.deleted else records[0].owner
    print(f"{args.endpoint}: owner {owner or '-'}")
    print(text_table(rows, ["AT (UTC)", "COMMIT", "PHASE", "WEIGHTS", "EVENT"]))
    return 0


def _print_rollouts(args: argparse.Namespace, records: list[HistoryRecord]) -> int:
    rollouts = summaries(records)
    if args.output == "json":
        emit_json(
            [
                {
                    "rolloutId": s.rollout_id,
                    "commit": s.commit,
                    "startedAt": s.started_at,
                    "durationSeconds": round(s.duration, 1),
                    "outcome": str(s.outcome),
                    "reason": s.reason,
                }
                for s in rollouts
            ]
        )
        return 0
    if not rollouts:
        print(f"smgitops history: nothing recorded for {args.endpoint}", file=sys.stderr)
        return 1
    print(text_table(summary_rows(rollouts), list(SUMMARY_HEADERS)))
    return 0


def run_promote(args: argparse.Namespace) -> int:
    by = args.by or getpass.getuser()
    status = service_from(args).promote(args.endpoint, full=args.full, by=by)
    if args.output == "json":
        emit_json(status_json(status, None, clock.now()))
    else:
        print(promote_text(status, full=args.full, by=by, now=clock.now()))
    return 0


def run_abort(args: argparse.Namespace) -> int:
    by = args.by or getpass.getuser()
    status = service_from(args).abort(args.endpoint, by)
    if args.output == "json":
        emit_json(status_json(status, None, clock.now()))
    else:
        weights = weights_text(status.weights)
        print(f"{args.endpoint}: {status.phase} ({status.reason}); weights {weights}")
    return 0


RETRYABLE = frozenset({"RolledBack", "Failed"})


def run_retry(args: argparse.Namespace) -> int:
    from smgitops.rollout.status import Context  # noqa: PLC0415

    service = service_from(args)
    status = service.store.get(args.endpoint)
    if status is None:
        print(f"smgitops retry: no rollout recorded for {args.endpoint}", file=sys.stderr)
        return 1
    if status.active or status.next is not None:
        print(
            f"smgitops retry: {args.endpoint} has a rollout in progress ({status.phase}); "
            "nothing to retry",
            file=sys.stderr,
        )
        return 1
    if str(status.phase) not in RETRYABLE or status.deleted:
        print(
            f"smgitops retry: the last rollout of {args.endpoint} {status.phase}; nothing to retry",
            file=sys.stderr,
        )
        return 1
    arn = args.state_machine or _rollout_state_machine()
    if not arn:
        print(
            "smgitops retry: which rollout state machine? none or several named "
            "smgitops-rollout…: pass --state-machine ARN",
            file=sys.stderr,
        )
        return 2
    from smgitops import wiring  # noqa: PLC0415

    service.executions = wiring.executions(arn)
    by = args.by or getpass.getuser()
    context = Context(
        golden=status.golden, freeze=status.freeze, override=status.override,
        self_heal=status.self_heal,
    )  # fmt: skip
    outcome = service.start(
        status.spec(),
        commit=status.commit,
        pushed_at=status.pushed_at,
        source={**status.source, "retriedBy": by},
        force=True,  # the same declaration as the one applied: start it anyway
        context=context,
    )
    if args.output == "json":
        emit_json(
            {
                "endpoint": args.endpoint,
                "outcome": outcome.kind,
                "rolloutId": outcome.rollout_id,
                "commit": status.commit,
                "retriedBy": by,
            }
        )
    else:
        print(
            f"{args.endpoint}: retry by {by}: {outcome.kind} {outcome.rollout_id} "
            f"(commit {status.commit[:12]}, after {status.phase}: {status.reason})"
        )
    return 0 if outcome.kind == "started" else 1


def _rollout_state_machine() -> str:
    """The one state machine named ``smgitops-rollout…`` (the stack's or `local up`'s), or ""."""
    from smgitops.aws import clients  # noqa: PLC0415

    pages = clients.client("stepfunctions").get_paginator("list_state_machines").paginate()
    found = [
        machine["stateMachineArn"]
        for page in pages
        for machine in page["stateMachines"]
        if machine["name"].startswith("smgitops-rollout")
    ]
    return found[0] if len(found) == 1 else ""
