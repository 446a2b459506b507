"""Following a rollout: ``smgitops wait`` (for CI) and ``smgitops status --watch`` (for people).

``wait ENDPOINT`` blocks until the endpoint's current rollout ends — or, with ``--commit SHA``,
until the rollout of that commit ends — and exits 0 when it Succeeded, 1 when it RolledBack,
Failed or was Superseded (or the push of that commit was invalid, refused or stale), 3 when
``--timeout`` passes first, 4 when AWS cannot be reached. Each change of phase, step or
reason is one line on stderr; on a terminal the bake countdown is redrawn in place too.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TextIO

from smgitops import clock
from smgitops.commands.common import (
    FAILED,
    OK,
    TIMEOUT,
    add_aws_options,
    emit_json,
    service_from,
)
from smgitops.declaration.base import parse_duration
from smgitops.rollout.progress import Progress, progress, text_table
from smgitops.rollout.status import RolloutStatus

if TYPE_CHECKING:
    from collections.abc import Callable


class StatusReader(Protocol):
    def get(self, endpoint: str) -> RolloutStatus | None: ...


DEFAULT_TIMEOUT = "30m"
POLL_SECONDS = 2.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    wait = subparsers.add_parser(
        "wait",
        help="block until the endpoint's rollout ends (exit 0 Succeeded, 1 not, 3 timeout)",
        description="Block until ENDPOINT's current rollout ends, or with --commit until the "
        "rollout of that commit ends. Progress on stderr. Exit 0 Succeeded; 1 RolledBack, "
        "Failed, Superseded, or the commit's push was invalid/refused/stale; 3 timeout; "
        "4 AWS unreachable.",
    )
    wait.add_argument("endpoint")
    wait.add_argument(
        "--commit",
        default=None,
        metavar="SHA",
        help="wait for the rollout of this commit (full or abbreviated SHA), even if it has "
        "not started yet",
    )
    wait.add_argument("--timeout", default=DEFAULT_TIMEOUT, help="e.g. 90s, 30m, 2h (default 30m)")
    wait.add_argument("--poll", type=float, default=POLL_SECONDS, help=argparse.SUPPRESS)
    wait.add_argument("--quiet", action="store_true", help="no progress lines")
    add_aws_options(wait)
    wait.set_defaults(func=run_wait)


# --- wait ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    code: int
    message: str
    status: RolloutStatus | None = None


def _matches(commit: str, wanted: str) -> bool:
    return bool(wanted) and commit.startswith(wanted.lower())


def judge(
    status: RolloutStatus | None, *, watched: str, commit: str | None, now: float
) -> tuple[Verdict | None, str]:
    """One look at the endpoint: a verdict when the wait is over, and the rollout followed.

    ``watched`` is the rollout id followed so far ("" before one is chosen)."""
    if status is None:
        if commit:
            return None, ""
        return Verdict(FAILED, "no rollout recorded"), ""
    if commit and not watched:
        if _matches(status.commit, commit):
            watched = status.rollout_id
        elif status.next is not None and _matches(status.next.commit, commit):
            return None, ""  # queued behind the active rollout
        else:
            return None, ""  # not seen yet (the push may still be in the queue)
    if not watched:
        watched = status.rollout_id
    if status.rollout_id != watched:
        return (
            Verdict(FAILED, f"Superseded by commit {status.commit[:12]} ({status.rollout_id})"),
            watched,
        )
    view = progress(status, now)
    if not view.done:
        return None, watched
    code = OK if view.succeeded else FAILED
    reason = f": {status.reason}" if status.reason else ""
    return Verdict(code, f"{status.phase}{reason}", status), watched


def push_verdict(records: list[dict[str, object]], endpoint: str, commit: str) -> Verdict | None:
    """What the push records of ``commit`` already settle for ``endpoint`` (invalid, ignored,
    refused, stale, unchanged), before any rollout appears."""
    for record in records:
        if not _matches(str(record.get("commit", "")), commit):
            continue
        state = record.get("status")
        reason = str(record.get("reason", ""))
        if state in {"invalid", "failed", "ignored"}:
            return Verdict(FAILED, f"push {commit[:12]} was {state}: {reason}")
        outcomes = record.get("outcomes", [])
        for outcome in outcomes if isinstance(outcomes, list) else []:
            if outcome.get("endpoint") != endpoint:
                continue
            kind = outcome.get("kind")
            detail = f" ({outcome.get('reason')})" if outcome.get("reason") else ""
            if kind == "unchanged":
                return Verdict(OK, f"push {commit[:12]}: already live, nothing to roll out")
            if kind not in {"started", "queued"}:
                return Verdict(FAILED, f"push {commit[:12]}: {kind}{detail}")
    return None


class Reporter:
    """Progress on stderr: a line per change; on a terminal, the countdown redrawn in place."""

    def __init__(self, stream: TextIO, *, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        self.tty = stream.isatty()
        self.last = ""
        self.pending_redraw = False

    def show(self, view: Progress | None, note: str = "") -> None:
        if self.quiet:
            return
        line = view.line() if view is not None else note
        key = _key(view) if view is not None else note
        if key != self.last:
            self._clear()
            self.stream.write(f"{_stamp()} {line}\n")
            self.last = key
        elif self.tty and view is not None and view.bake_left is not None:
            self.stream.write(f"\r\x1b[K  bake {view.bake_text()} left")
            self.pending_redraw = True
        self.stream.flush()

    def _clear(self) -> None:
        if self.pending_redraw:
            self.stream.write("\r\x1b[K")
            self.pending_redraw = False

    def end(self) -> None:
        self._clear()
        self.stream.flush()


def _key(view: Progress) -> str:
    return f"{view.rollout_id}|{view.phase}|{view.step}|{view.weights_text()}|{view.reason}"


def _stamp() -> str:
    return time.strftime("%H:%M:%S", time.gmtime(clock.now()))


def wait_for(
    store: StatusReader,
    endpoint: str,
    *,
    commit: str | None,
    timeout: float,
    poll: float,
    reporter: Reporter,
    pushes: Callable[[], list[dict[str, object]]] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = clock.now,
) -> Verdict:
    deadline = now() + timeout
    watched = ""
    while True:
        at = now()
        status = store.get(endpoint)
        verdict, watched = judge(status, watched=watched, commit=commit, now=at)
        if verdict is not None:
            return verdict
        if commit and not watched:
            settled = push_verdict(pushes(), endpoint, commit) if pushes else None
            if settled is not None:
                return settled
            reporter.show(None, f"{endpoint}: waiting for the rollout of {commit[:12]}")
        elif status is not None:
            reporter.show(progress(status, at))
        if at >= deadline:
            return Verdict(TIMEOUT, f"timed out after {timeout:g}s", status)
        sleep(max(0.05, min(poll, deadline - at)))


def run_wait(args: argparse.Namespace) -> int:
    try:
        timeout = parse_duration(args.timeout)
    except ValueError as exc:
        print(f"smgitops wait: --timeout: {exc}", file=sys.stderr)
        return 2
    service = service_from(args)
    reporter = Reporter(sys.stderr, quiet=args.quiet)

    def pushes() -> list[dict[str, object]]:
        from smgitops.wiring import operator  # noqa: PLC0415

        return [r.to_json() for r in operator.pushes(args.table).recent(limit=50)]

    try:
        verdict = wait_for(
            service.store,
            args.endpoint,
            commit=args.commit,
            timeout=timeout,
            poll=args.poll,
            reporter=reporter,
            pushes=pushes,
        )
    finally:
        reporter.end()
    if args.output == "json":
        emit_json(
            {
                "endpoint": args.endpoint,
                "exitCode": verdict.code,
                "message": verdict.message,
                "phase": str(verdict.status.phase) if verdict.status else None,
                "commit": verdict.status.commit if verdict.status else args.commit,
            }
        )
    else:
        print(f"{args.endpoint}: {verdict.message}")
    return verdict.code


# --- status --watch -----------------------------------------------------------------------

WATCH_HEADERS = ["ENDPOINT", "PHASE", "STEP", "WEIGHTS", "BAKE LEFT", "CHECKS", "LAST"]


def watch_rows(statuses: list[RolloutStatus], now: float) -> list[list[str]]:
    rows = []
    for status in statuses:
        view = progress(status, now)
        failed = (
            f"{view.failed_checks}/{view.max_failed_checks} failed" if view.failed_checks else "ok"
        )
        rows.append(
            [
                view.endpoint,
                str(view.phase),
                view.step_text(),
                view.weights_text(),
                view.bake_text(),
                f"{view.checks} ({failed})" if view.checks != "no checks" else "no checks",
                view.reason or "-",
            ]
        )
    return rows


def watch(
    load: Callable[[], list[RolloutStatus]],
    out: TextIO,
    *,
    interval: float,
    frames: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = clock.now,
) -> int:
    """Redraw the status table every ``interval`` seconds until interrupted (or ``frames``)."""
    tty = out.isatty()
    drawn = 0
    previous = ""
    try:
        while frames is None or drawn < frames:
            text = text_table(watch_rows(load(), now()), WATCH_HEADERS)
            if tty:
                out.write("\x1b[H\x1b[2J" + f"smgitops status --watch   {_stamp()} UTC\n\n" + text)
                out.write("\n")
            elif text != previous:  # not a terminal: a new frame only when something changed
                out.write(f"--- {_stamp()} UTC\n{text}\n")
            previous = text
            out.flush()
            drawn += 1
            if frames is None or drawn < frames:
                sleep(interval)
    except KeyboardInterrupt:
        return OK
    return OK
