"""``smgitops local up`` and ``smgitops demo``: the system on this machine, no AWS account."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

from smgitops.commands.common import require_git

if TYPE_CHECKING:
    import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    local = subparsers.add_parser("local", help="the whole system on this machine")
    actions = local.add_subparsers(dest="local_command", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="run the local runtime until interrupted")
    up.add_argument("--webhook-port", type=int, default=0, help="0 or absent: a free port")
    up.add_argument("--aws-port", type=int, default=0, help="0 or absent: a free port")
    up.add_argument("--secret", default="", help="webhook secret (random when absent)")
    up.add_argument("--branch", default="main", help="tracked branch (default main)")
    up.add_argument(
        "--allow-repository",
        default="/*",
        help="clone URLs (comma-separated, fnmatch) the webhook accepts (default: local paths)",
    )
    up.add_argument(
        "--update-delay", type=float, default=1.0, help="seconds SageMaker updates take (default 1)"
    )
    up.add_argument("--prune", action="store_true", help="delete endpoints whose file is removed")
    up.add_argument(
        "--drift-interval",
        type=float,
        default=30.0,
        help="seconds between drift checks (the drift function's schedule; 0: off)",
    )
    up.add_argument(
        "--self-heal", action="store_true", help="drift starts a rollout back to the declaration"
    )
    up.add_argument(
        "--github-api-url",
        default="",
        metavar="URL",
        help="send commit statuses to this GitHub API (e.g. a local server; the token comes "
        "from $SMGITOPS_GITHUB_TOKEN, never from the command line)",
    )
    up.add_argument(
        "--dashboard-port",
        type=int,
        default=0,
        help="the dashboard's port on 127.0.0.1 (default: a free one; its URL is in the ready "
        'line as "dashboard")',
    )
    up.add_argument(
        "--allow-actions",
        action="store_true",
        help="the dashboard's promote and abort buttons (a per-run token against cross-site "
        "requests)",
    )
    up.add_argument(
        "--traffic",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="simulated requests per wall-clock second sent to every endpoint (default 0: "
        "none; InvokeEndpoint on the printed AWS URL works either way)",
    )
    up.add_argument(
        "--time-scale",
        type=_time_scale,
        default=1.0,
        help="run the runtime's clock this many times faster (60: a wall-clock second is an "
        "emulated minute, so bakes and one-minute metric periods pass in seconds; default 1)",
    )
    up.add_argument("--log-level", default="INFO", help="log level of the functions (stderr)")
    up.set_defaults(func=run_up)

    demo = subparsers.add_parser("demo", help="the end-to-end story on the local runtime")
    demo.add_argument("--output", choices=["text", "json"], default="text")
    demo.add_argument("--update-delay", type=float, default=1.0)
    demo.set_defaults(func=run_demo)


def _number(text: str, low: float, high: float) -> float:
    import argparse  # noqa: PLC0415

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}")
    return value


def _time_scale(text: str) -> float:
    from smgitops.clock import MAX_SCALE  # noqa: PLC0415

    return _number(text, 1.0, MAX_SCALE)


def _rate(text: str) -> float:
    return _number(text, 0.0, 10_000.0)


def _quiet(level: str) -> None:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", level)
    logging.basicConfig(
        stream=sys.stderr, level=level, format="%(levelname)s %(name)s: %(message)s"
    )
    # moto logs a state machine's Fail state (a rolled-back rollout) as an error: it is not one.
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    for noisy in ("botocore", "urllib3", "werkzeug", "git"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_up(args: argparse.Namespace) -> int:
    require_git()
    from smgitops.local.runtime import RuntimeOptions, serve  # noqa: PLC0415

    _quiet(args.log_level.upper())
    return serve(
        RuntimeOptions(
            webhook_port=args.webhook_port,
            aws_port=args.aws_port,
            secret=args.secret,
            branch=args.branch,
            repositories=args.allow_repository,
            update_delay=args.update_delay,
            prune=args.prune,
            drift_interval=args.drift_interval,
            self_heal=args.self_heal,
            time_scale=args.time_scale,
            github_api_url=args.github_api_url,
            github_token=os.environ.get("SMGITOPS_GITHUB_TOKEN", ""),
            traffic=args.traffic,
            dashboard_port=args.dashboard_port,
            allow_actions=args.allow_actions,
        )
    )


def run_demo(args: argparse.Namespace) -> int:
    require_git()
    from smgitops.local import demo  # noqa: PLC0415

    _quiet("WARNING")
    os.environ.pop("AWS_ENDPOINT_URL", None)  # the demo always runs on its own emulator
    return demo.run(args.output, update_delay=args.update_delay)
