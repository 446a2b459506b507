"""``smgitops dashboard`` (a live web page of every endpoint and rollout) and ``smgitops report``
(one rollout's self-contained HTML audit report). Both read the status table the CLI reads."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from smgitops import clock
from smgitops.commands.common import FAILED, OK, add_aws_options, service_from

if TYPE_CHECKING:
    import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dashboard = subparsers.add_parser(
        "dashboard",
        help="a local web page of every endpoint and rollout, live",
        description="Serve the dashboard on 127.0.0.1 (prints its URL) until Ctrl-C: every "
        "endpoint, one endpoint's live rollout (weight chart, checks, reasons), its history and "
        "audit reports. Read-only unless --allow-actions (promote/abort buttons, recorded "
        "with --by).",
    )
    dashboard.add_argument("--port", type=int, default=0, help="default: a free port")
    dashboard.add_argument(
        "--allow-actions",
        action="store_true",
        help="add promote and abort buttons (loopback only, a per-run token against "
        "cross-site requests)",
    )
    dashboard.add_argument("--by", default=None, help="who acts (default: the current user)")
    add_aws_options(dashboard, output=False)
    dashboard.set_defaults(func=run_dashboard)

    report = subparsers.add_parser(
        "report",
        help="one rollout's audit report: a self-contained HTML file",
        description="Write one rollout's audit report (commit, model and config, every step "
        "with its checks and numbers, the comparison's statistics, the outcome) as one HTML "
        "file that opens offline. Exit 0 written, 1 no such rollout.",
    )
    report.add_argument("endpoint")
    report.add_argument(
        "--rollout",
        default=None,
        metavar="COMMIT",
        help="a commit (or rollout id) of the endpoint's history (default: its current rollout)",
    )
    report.add_argument(
        "--output", "-o", required=True, type=Path, metavar="FILE", help="e.g. report.html"
    )
    add_aws_options(report, output=False)
    report.set_defaults(func=run_report)


def run_dashboard(args: argparse.Namespace) -> int:
    from smgitops.dashboard.server import Dashboard, ServiceSource, serve  # noqa: PLC0415
    from smgitops.local.stopping import StopSignal  # noqa: PLC0415

    source = ServiceSource(service_from(args))
    source.statuses()  # fail now (exit 4, one line) if the table or AWS cannot be read
    by = args.by or getpass.getuser()
    served = serve(Dashboard(source, allow_actions=args.allow_actions, by=by), args.port)
    print(served.url, flush=True)
    mode = "promote/abort allowed" if args.allow_actions else "read-only"
    print(f"smgitops dashboard: {served.url} ({mode}); Ctrl-C stops it", file=sys.stderr)
    try:
        StopSignal(grace=10.0).wait()
    finally:
        served.stop()
    return OK


def run_report(args: argparse.Namespace) -> int:
    from smgitops.dashboard.report import render_report  # noqa: PLC0415

    store = service_from(args).store
    records = store.history(args.endpoint, limit=500)
    html = render_report(
        args.endpoint, store.get(args.endpoint), records, args.rollout, generated_at=clock.now()
    )
    if html is None:
        what = f"rollout {args.rollout}" if args.rollout else "rollout"
        print(f"smgitops report: no {what} recorded for {args.endpoint}", file=sys.stderr)
        return FAILED
    args.output.write_text(html, encoding="utf-8")
    print(f"smgitops report: wrote {args.output}", file=sys.stderr)
    return OK
